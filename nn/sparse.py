"""Token ids to vectors: ``nn.Embedding`` and ``F.one_hot`` / ``F.embedding``.

    emb = nn.Embedding(37, 16, padding_idx=36)      # weight (37, 16) ~ N(0, 1), row 36 zero and never updated
    vectors = emb(token_ids)                        # (N, T) ints -> (N, T, 16)
    glove = nn.Embedding.from_pretrained(matrix, freeze=True)
"""
import numpy as np

from tinygrad_dl import Function, Tensor

from . import init as nn_init
from .layers import _float_dtype
from .module import Module, Parameter


def _token_ids(indices, op, num_classes=None):
    """The ids as an integer ndarray, checked to lie in [0, num_classes)."""
    try:
        values = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    except ValueError:  # ragged nested lists
        raise TypeError(f"{op}: token ids must be an integer array, got a ragged {type(indices).__name__}") from None
    if values.dtype.kind not in "iu":
        raise TypeError(f"{op}: token ids must be integers, got dtype {values.dtype} (shape {values.shape})")
    if num_classes is not None and values.size and (values.min() < 0 or values.max() >= num_classes):
        raise IndexError(f"{op}: token ids must be in [0, {num_classes}), got values from {values.min()} to "
                         f"{values.max()} (input shape {values.shape})")
    return values


def one_hot(tensor, num_classes=-1, dtype=np.int64):
    """(..., ) integer ids -> (..., num_classes) one-hot Tensor (int64 like PyTorch; pass ``dtype=np.float32``
    for network inputs). ``num_classes=-1`` uses max id + 1."""
    values = _token_ids(tensor, "one_hot")
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, (int, np.integer)) \
            or not (num_classes == -1 or num_classes >= 1):
        raise ValueError(f"one_hot: num_classes must be a positive int (or -1: max id + 1), got {num_classes!r}")
    if num_classes == -1:
        if not values.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
        num_classes = int(values.max()) + 1
    values = _token_ids(values, "one_hot", num_classes)
    out = np.zeros(values.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, values[..., None].astype(np.intp), 1, axis=-1)
    return Tensor(out)


class EmbeddingLookup(Function):
    """``weight[ids]``; the backward adds the rows' gradients per id (sorted, one reduceat: no np.add.at)."""

    @staticmethod
    def forward(ctx, weight, ids, padding_idx=None):
        ctx.ids, ctx.padding_idx, ctx.weight_shape = ids, padding_idx, weight.shape
        return weight[ids]

    @staticmethod
    def backward(ctx, grad):
        rows, width = ctx.weight_shape
        flat_ids = ctx.ids.reshape(-1)
        flat_grad = grad.reshape(flat_ids.size, width)
        if isinstance(grad, Tensor):  # create_graph: the same sum as a matmul with a constant one-hot matrix
            selector = np.zeros((rows, flat_ids.size), dtype=grad.dtype)
            selector[flat_ids, np.arange(flat_ids.size)] = 1
            if ctx.padding_idx is not None:
                selector[ctx.padding_idx] = 0
            return selector @ flat_grad, None
        out = np.zeros(ctx.weight_shape, dtype=grad.dtype)
        if flat_ids.size:
            order = np.argsort(flat_ids, kind="stable")
            sorted_ids = flat_ids[order]
            starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
            out[sorted_ids[starts]] = np.add.reduceat(flat_grad[order], starts, axis=0)
        if ctx.padding_idx is not None:
            out[ctx.padding_idx] = 0  # the padding row is never updated
        return out, None


def embedding(input, weight, padding_idx=None):  # noqa: A002 (PyTorch's name)
    """Rows of ``weight`` (num_embeddings, dim) picked by the integer ids in ``input``: (...,) -> (..., dim)."""
    weight = weight if isinstance(weight, Tensor) else Tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-d (num_embeddings, embedding_dim), got shape {weight.shape}")
    ids = _token_ids(input, f"embedding({weight.shape[0]}, {weight.shape[1]})", weight.shape[0])
    padding_idx = _padding_index(padding_idx, weight.shape[0], "embedding")
    return EmbeddingLookup.apply(weight, ids.astype(np.intp, copy=False), padding_idx=padding_idx)


def _padding_index(padding_idx, num_embeddings, op):
    if padding_idx is None:
        return None
    if isinstance(padding_idx, (bool, np.bool_)) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"{op}: padding_idx must be an int or None, got {padding_idx!r}")
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"{op}: padding_idx {padding_idx} is out of range for {num_embeddings} embeddings")
    return int(padding_idx) % num_embeddings


class Embedding(Module):
    """A lookup table: ``weight`` (num_embeddings, embedding_dim) drawn from N(0, 1) (PyTorch's default).

    ``padding_idx``: that row starts at zero and gets no gradient (a padding token then embeds to zeros).
    ``Embedding.from_pretrained(matrix, freeze=True)`` wraps given vectors (GloVe ...); frozen means the weight
    does not require grad. ``max_norm``, ``scale_grad_by_freq`` and ``sparse`` are not supported.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, dtype=np.float32,
                 generator=None):
        super().__init__()
        for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"Embedding: {name} must be a positive integer, got {value!r}")
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise ValueError("Embedding: max_norm, scale_grad_by_freq and sparse are not supported")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = _padding_index(padding_idx, self.num_embeddings, "Embedding")
        dtype = _float_dtype("Embedding", dtype)
        if _weight is None:
            self.weight = Parameter(np.zeros((self.num_embeddings, self.embedding_dim), dtype=dtype))
            self.reset_parameters(generator)
        else:
            values = np.asarray(_weight.data if isinstance(_weight, Tensor) else _weight)
            if values.shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {values.shape}, expected "
                                 f"{(self.num_embeddings, self.embedding_dim)}")
            if values.dtype.kind != "f":
                raise TypeError(f"Embedding: the vectors must be floating-point, got dtype {values.dtype} (shape "
                                f"{values.shape}); convert them with .astype(np.float32)")
            self.weight = Parameter(values, requires_grad=not _freeze)

    def reset_parameters(self, generator=None):
        nn_init.normal_(self.weight, generator=generator)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, **kwargs):
        """An Embedding holding ``embeddings`` (num_embeddings, dim) as is (dtype kept); frozen by default."""
        values = np.asarray(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        if values.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-d, got shape {values.shape}")
        return cls(values.shape[0], values.shape[1], padding_idx=padding_idx, _weight=values, _freeze=freeze,
                   **kwargs)

    def forward(self, input):  # noqa: A002
        ids = _token_ids(input, f"Embedding({self.num_embeddings}, {self.embedding_dim})", self.num_embeddings)
        return EmbeddingLookup.apply(self.weight, ids.astype(np.intp, copy=False), padding_idx=self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else text + f", padding_idx={self.padding_idx}"


__all__ = ["Embedding", "embedding", "one_hot"]
