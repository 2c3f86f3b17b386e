"""``Dataset``, ``TensorDataset`` and ``DataLoader``, with PyTorch's names and behaviour.

    from tinygrad_dl.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True, seed=0)
    for epoch in range(10):
        for X_batch, y_batch in loader:        # Tensors; a new order every epoch
            ...

Examples run along the first axis (rows), as in PyTorch. For the course's column layout use
``random_mini_batches`` (``tinygrad_dl.data`` and ``tinygrad_dl.optim`` both have it).
"""
import numbers

import numpy as np

from ..tensor import DEFAULT_DTYPE, Tensor

__all__ = ["Dataset", "TensorDataset", "DataLoader", "default_collate"]


class Dataset:
    """A map-style dataset: subclass it and define ``__len__`` and ``__getitem__(i)``."""

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Arrays, Tensors or nested lists (Python floats become float32, ints int64) that share their first axis;
    item ``i`` is the tuple of their ``i``-th rows."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one array or Tensor")
        arrays = []
        for position, t in enumerate(tensors):
            array = t.data if isinstance(t, Tensor) else np.asarray(t)
            if not isinstance(t, (Tensor, np.ndarray)) and array.dtype == np.float64:
                array = array.astype(DEFAULT_DTYPE)  # Python floats: float32, as in default_collate; ints stay ints
            if array.ndim == 0:
                raise ValueError(f"TensorDataset: argument {position} is 0-d; every argument needs a first axis "
                                 "of examples")
            arrays.append(array)
        lengths = {a.shape[0] for a in arrays}
        if len(lengths) != 1:
            raise ValueError("TensorDataset: every argument must have the same length along axis 0, got shapes "
                             f"{[a.shape for a in arrays]}")
        self.arrays = tuple(arrays)

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)


def default_collate(items):
    """Stack a list of examples into a batch: arrays and numbers become one Tensor with a new first axis
    (integers stay integers, Python floats become float32); tuples, lists and dicts are collated field by
    field; strings stay a list."""
    first = items[0]
    if isinstance(first, (tuple, list)):
        if any(len(item) != len(first) for item in items):
            raise ValueError("default_collate: examples have different numbers of fields")
        return type(first)(default_collate(list(fields)) for fields in zip(*items)) if isinstance(first, tuple) \
            else [default_collate(list(fields)) for fields in zip(*items)]
    if isinstance(first, dict):
        return {key: default_collate([item[key] for item in items]) for key in first}
    if isinstance(first, str):
        return list(items)
    if isinstance(first, Tensor):
        return Tensor(np.stack([item.data for item in items]))
    if isinstance(first, (bool, numbers.Integral)) and not isinstance(first, np.ndarray):
        return Tensor(np.asarray(items, dtype=np.int64 if not isinstance(first, bool) else bool))
    if type(first) is float:  # Python floats become float32 like Tensor([1.0]); np.float64 (a subclass) stays
        return Tensor(np.asarray(items, dtype=DEFAULT_DTYPE))
    try:
        return Tensor(np.stack([np.asarray(item) for item in items]))
    except ValueError as err:
        shapes = sorted({np.shape(item) for item in items})
        raise ValueError(f"default_collate: cannot stack examples of shapes {shapes} into one batch; pass a "
                         "collate_fn that pads them") from err


class DataLoader:
    """Iterate over a dataset in batches: ``DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False,
    collate_fn=None, seed=None, generator=None)``.

    ``shuffle=True`` draws a new permutation at every pass, from ``generator`` (a ``numpy.random.Generator``)
    or from a generator made from ``seed`` (same seed, same sequence of epochs), else from NumPy's global
    state. ``batch_size=None`` yields single examples, uncollated. A ``TensorDataset`` with the default
    collate is batched by slicing its arrays (no per-example Python work).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None, seed=None,
                 generator=None):
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise TypeError(f"DataLoader: the dataset must define __len__ and __getitem__, got "
                            f"{type(dataset).__name__}")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                                       or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size must be a positive integer or None, got {batch_size!r}")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give seed or generator, not both")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator, got {type(generator).__name__}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.generator = np.random.default_rng(seed) if seed is not None else generator

    def __len__(self):
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return (self.generator or np.random).permutation(n)

    def __iter__(self):
        order = self._order()
        if self.batch_size is None:
            for i in order:
                yield self.dataset[int(i)]
            return
        stop = len(self) * self.batch_size
        sliceable = isinstance(self.dataset, TensorDataset) and self.collate_fn is None
        for start in range(0, min(stop, len(order)), self.batch_size):
            indices = order[start:start + self.batch_size]
            if sliceable:
                yield tuple(Tensor(a[indices]) for a in self.dataset.arrays)
            else:
                collate = self.collate_fn or default_collate
                yield collate([self.dataset[int(i)] for i in indices])
