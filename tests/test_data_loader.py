"""tinygrad_dl.data: Dataset, TensorDataset, DataLoader and default_collate."""
import numpy as np
import pytest

from tinygrad_dl import Tensor
from tinygrad_dl.data import DataLoader, Dataset, TensorDataset, default_collate


def _data(n=10):
    X = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    y = np.arange(n) % 2
    return X, y


def test_tensor_dataset_items_and_length():
    X, y = _data()
    dataset = TensorDataset(X, Tensor(y))
    assert len(dataset) == 10
    row, label = dataset[4]
    np.testing.assert_array_equal(row, X[4])
    assert label == y[4]


def test_tensor_dataset_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match=r"TensorDataset.*\(10, 3\).*\(9,\)"):
        TensorDataset(np.zeros((10, 3)), np.zeros(9))


def test_batches_in_order_with_remainder_and_drop_last():
    X, y = _data()
    loader = DataLoader(TensorDataset(X, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [b[0].shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
    assert isinstance(batches[0][0], Tensor) and batches[0][0].dtype == np.float64
    assert batches[0][1].dtype.kind == "i"
    np.testing.assert_array_equal(np.concatenate([b[0].data for b in batches]), X)
    assert [b[0].shape[0] for b in DataLoader(TensorDataset(X, y), batch_size=4, drop_last=True)] == [4, 4]


def test_shuffle_with_seed_is_reproducible_and_new_each_epoch():
    X, y = _data()
    first = DataLoader(TensorDataset(X, y), batch_size=10, shuffle=True, seed=0)
    second = DataLoader(TensorDataset(X, y), batch_size=10, shuffle=True, seed=0)
    epoch1, epoch2 = next(iter(first))[0].data, next(iter(first))[0].data
    assert not np.array_equal(epoch1, epoch2)  # a new permutation every pass
    np.testing.assert_array_equal(next(iter(second))[0].data, epoch1)
    assert sorted(epoch1[:, 0]) == sorted(X[:, 0])  # a permutation: every example once


def test_generator_and_seed_are_exclusive():
    with pytest.raises(ValueError, match="seed or generator"):
        DataLoader(TensorDataset(*_data()), seed=1, generator=np.random.default_rng(1))


def test_custom_dataset_and_collate():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": float(i), "y": i * i, "name": f"n{i}"}

    batch = next(iter(DataLoader(Squares(), batch_size=3)))
    np.testing.assert_array_equal(batch["x"].data, [0.0, 1.0, 2.0])
    assert batch["y"].dtype == np.int64 and batch["name"] == ["n0", "n1", "n2"]
    lengths = [len(b) for b in DataLoader(Squares(), batch_size=2, collate_fn=list)]
    assert lengths == [2, 2, 1]


def test_default_collate_names_the_shapes_it_cannot_stack():
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        default_collate([np.zeros(2), np.zeros(3)])


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(TensorDataset(*_data()), batch_size=batch_size)
