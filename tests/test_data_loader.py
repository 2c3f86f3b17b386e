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


def test_python_numbers_follow_the_librarys_dtype_rules():
    # like Tensor([1.0, 2.0]): Python floats become float32, ints int64, bools bool; NumPy keeps its dtype
    assert default_collate([1.0, 2.5]).dtype == np.float32
    assert default_collate([1, 2]).dtype == np.int64 and default_collate([True, False]).dtype == np.bool_
    assert default_collate([np.float64(1.0), np.float64(2.0)]).dtype == np.float64
    dataset = TensorDataset([[1.0, 2.0], [3.0, 4.0]], [0, 1])
    assert dataset.arrays[0].dtype == np.float32 and dataset.arrays[1].dtype == np.int64
    assert TensorDataset(np.zeros((2, 1)))[0][0].dtype == np.float64


def test_nested_examples_are_collated_field_by_field():
    batch = default_collate([(1.0, (2, "a")), (3.0, (4, "b"))])
    first, (second, names) = batch
    np.testing.assert_array_equal(first.data, [1.0, 3.0])
    np.testing.assert_array_equal(second.data, [2, 4])
    assert names == ["a", "b"]


def test_shuffle_without_seed_follows_numpys_global_state_like_the_course():
    X = np.arange(8.0)[:, None]
    np.random.seed(3)
    batch = next(iter(DataLoader(TensorDataset(X), batch_size=8, shuffle=True)))[0]
    np.testing.assert_array_equal(batch.data[:, 0], np.random.RandomState(3).permutation(8))


def test_a_shared_generator_advances_and_no_shuffle_keeps_the_order():
    X = np.arange(6.0)[:, None]
    rng = np.random.default_rng(5)
    loader = DataLoader(TensorDataset(X), batch_size=6, shuffle=True, generator=rng)
    expected = np.random.default_rng(5)
    for _ in range(2):
        np.testing.assert_array_equal(next(iter(loader))[0].data[:, 0], expected.permutation(6))
    fixed = DataLoader(TensorDataset(X), batch_size=4, seed=1)  # a seed without shuffle changes nothing
    assert [b[0].data[:, 0].tolist() for b in fixed] == [[0, 1, 2, 3], [4, 5]] == \
        [b[0].data[:, 0].tolist() for b in fixed]


def test_single_examples_and_too_few_for_one_batch():
    X = np.arange(3.0)
    single = DataLoader(TensorDataset(X), batch_size=None)
    assert len(single) == 3 and [float(item[0]) for item in single] == [0.0, 1.0, 2.0]
    empty = DataLoader(TensorDataset(X), batch_size=5, drop_last=True)
    assert len(empty) == 0 and list(empty) == []


def test_bad_collate_fn_and_generator_fail_when_the_loader_is_made():
    dataset = TensorDataset(np.zeros((4, 2)))
    with pytest.raises(TypeError, match="DataLoader: collate_fn must be callable, got int"):
        DataLoader(dataset, collate_fn=5)
    with pytest.raises(TypeError, match="DataLoader: generator must be a numpy.random.Generator, got int"):
        DataLoader(dataset, generator=0)
    with pytest.raises(TypeError, match="DataLoader: the dataset must define __len__ and __getitem__, got int"):
        DataLoader(5)
    with pytest.raises(NotImplementedError, match="Dataset must define __len__"):
        len(Dataset())
