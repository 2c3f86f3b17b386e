"""Tests for tinygrad_dl.data (the course loaders): course fingerprints (COURSE.md section 6), data README counts."""

import numpy as np
import pytest

from tinygrad_dl import data
from tinygrad_dl.data import course as ds


def _course_dir():
    """The course data folder, or skip when it truly does not exist."""
    try:
        return ds.course_data_dir()
    except FileNotFoundError as exc:
        pytest.skip(f"course data folder not found: {exc}")


def _assert6(actual, expected):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=0, atol=5e-7)


# ------------------------------------------------------------------ generated sets


def test_flower_fingerprint():
    X, Y = ds.make_flower()
    assert X.shape == (2, 400) and Y.shape == (1, 400) and Y.dtype == np.uint8
    _assert6(X[:, :3], [[1.204442, 0.15871, 0.095247], [3.576114, -1.482171, -1.279955]])
    _assert6(X.sum(), 10.087983)
    assert np.bincount(Y[0]).tolist() == [200, 200]


def test_circles_fingerprint():
    train_X, train_Y, test_X, test_Y = ds.load_circles_dataset()
    assert train_X.shape == (2, 300) and train_Y.shape == (1, 300)
    assert test_X.shape == (2, 100) and test_Y.shape == (1, 100)
    _assert6(train_X[:, :3], [[-0.077414, 0.43187, 0.079165], [0.852602, -0.872145, 0.840661]])
    assert train_Y[0, :6].tolist() == [1, 0, 1, 1, 0, 0]
    _assert6(test_X[:, :2], [[-0.524237, -0.850892], [-0.609104, -0.521451]])
    assert np.bincount(train_Y[0]).tolist() == [150, 150]


def test_moons_fingerprint():
    X, Y = ds.load_moons_dataset()
    assert X.shape == (2, 300) and Y.shape == (1, 300)
    _assert6(X.T[:3], [[-0.21687, 1.015449], [0.80505, -0.557973], [0.711275, -0.41006]])
    assert Y[0, :6].tolist() == [0, 1, 1, 1, 0, 0]
    _assert6(X.sum(), 229.312148)


def test_generators_match_sklearn_bit_for_bit():
    # sklearn is used here only as a cross-check; tinygrad_dl.data never imports it for these.
    sk = pytest.importorskip("sklearn.datasets")
    for n, noise, factor, seed in [(300, 0.05, 0.8, 1), (101, 0.3, 0.5, 7)]:
        X, Y = ds.make_circles_course(n, noise, factor=factor, seed=seed)
        np.random.seed(seed)
        Xs, ys = sk.make_circles(n_samples=n, noise=noise, factor=factor)
        assert np.array_equal(X, Xs.T) and np.array_equal(Y[0], ys)
    for n, noise, seed in [(300, 0.2, 3), (51, 0.1, 5)]:
        X, Y = ds.make_moons_course(n, noise, seed=seed)
        np.random.seed(seed)
        Xs, ys = sk.make_moons(n_samples=n, noise=noise)
        assert np.array_equal(X, Xs.T) and np.array_equal(Y[0], ys)


def test_generators_consume_global_rng_when_unseeded():
    np.random.seed(11)
    a = ds.make_moons_course(40, 0.1)
    b = ds.make_moons_course(40, 0.1)  # continues the global stream, so it differs
    np.random.seed(11)
    assert np.array_equal(ds.make_moons_course(40, 0.1)[0], a[0])
    assert not np.array_equal(a[0], b[0])


# -------------------------------------------------------------------- mini-batches


def test_random_mini_batches_course_case():
    # testCases random_mini_batches_test_case (v1b): seed 1, X randn(12288, 148).
    np.random.seed(1)
    X = np.random.randn(12288, 148)
    Y = np.random.randn(1, 148) < 0.5
    batches = data.random_mini_batches(X, Y, 64)
    assert [b[0].shape for b in batches] == [(12288, 64), (12288, 64), (12288, 20)]
    assert [b[1].shape for b in batches] == [(1, 64), (1, 64), (1, 20)]
    _assert6(batches[0][0][0][0:3], [0.90085595, -0.7612069, 0.2344157])
    # columns of X and Y stay paired
    np.random.seed(0)
    perm = np.random.permutation(148)
    assert np.array_equal(np.hstack([b[1] for b in batches]), Y[:, perm])


def test_random_mini_batches_exact_multiple_and_moons_split():
    X, Y = ds.load_moons_dataset()
    assert [b[0].shape[1] for b in data.random_mini_batches(X, Y, 64, seed=11)] == [64, 64, 64, 64, 44]
    assert len(data.random_mini_batches(X[:, :128], Y[:, :128], 64)) == 2


# ------------------------------------------------------------------- data folder


def test_missing_explicit_dir_error_message(tmp_path):
    with pytest.raises(FileNotFoundError) as exc:
        ds.course_data_dir(tmp_path / "nowhere")
    msg = str(exc.value)
    assert "TINYGRAD_DL_DATA" in msg and "--data" in msg and "nowhere" in msg


def test_no_data_anywhere_error_message(tmp_path, monkeypatch):
    monkeypatch.delenv(ds.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ds, "_REPO_ROOT", tmp_path / "repo")
    with pytest.raises(FileNotFoundError) as exc:
        ds.course_data_dir()
    msg = str(exc.value)
    assert "TINYGRAD_DL_DATA" in msg and "--data" in msg and "data/course" in msg


def test_env_var_and_cwd_lookup(tmp_path, monkeypatch):
    (tmp_path / "data" / "course").mkdir(parents=True)
    monkeypatch.delenv(ds.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    assert ds.course_data_dir() == tmp_path / "data" / "course"
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.setenv(ds.ENV_VAR, str(other))
    assert ds.course_data_dir() == other
    assert ds.course_data_dir(tmp_path) == tmp_path  # the argument wins


def test_missing_file_in_existing_dir(tmp_path):
    pytest.importorskip("h5py")
    with pytest.raises(FileNotFoundError, match="train_catvnoncat.h5"):
        ds.load_cat_dataset(tmp_path)


# --------------------------------------------------------------------- data files


def test_cat_dataset():
    pytest.importorskip("h5py")
    data_dir = _course_dir()
    train_x, train_y, test_x, test_y, classes = ds.load_cat_dataset(data_dir)
    assert train_x.shape == (12288, 209) and train_x.dtype == np.float64
    assert train_y.shape == (1, 209) and test_x.shape == (12288, 50) and test_y.shape == (1, 50)
    assert 0.0 <= train_x.min() and train_x.max() <= 1.0
    assert int(train_y.sum()) == 72 and int(test_y.sum()) == 33
    assert [c.decode() for c in classes] == ["non-cat", "cat"]
    # "sanity check after reshaping" of C1 W2: raw values before /255
    assert np.rint(train_x[0:5, 0] * 255).astype(int).tolist() == [17, 31, 56, 22, 33]


def test_football_dataset():
    pytest.importorskip("scipy")
    train_X, train_Y, test_X, test_Y = ds.load_football_dataset(_course_dir())
    assert train_X.shape == (2, 211) and train_Y.shape == (1, 211)
    assert test_X.shape == (2, 200) and test_Y.shape == (1, 200)
    assert np.bincount(train_Y[0]).tolist() == [105, 106]
    assert np.bincount(test_Y[0]).tolist() == [113, 87]


def test_signs_dataset():
    pytest.importorskip("h5py")
    data_dir = _course_dir()
    X, y, classes = ds.load_signs_dataset(data_dir)
    assert X.shape == (120, 64, 64, 3) and X.dtype == np.uint8
    assert y.shape == (120,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [20] * 6 and classes.tolist() == [0, 1, 2, 3, 4, 5]
    assert X.min() == 3 and X.max() == 241
    if not (data_dir / "signs" / "train_signs.h5").exists():
        with pytest.raises(FileNotFoundError, match="train_signs.h5 .*not distributed"):
            ds.load_signs_dataset(data_dir, split="train")


# -------------------------------------------------------------------------- digits


def test_digits_dataset():
    pytest.importorskip("sklearn")
    X_train, y_train, X_test, y_test = ds.load_digits_dataset()
    assert X_train.shape[0] == 64 and X_test.shape[0] == 64
    assert X_train.shape[1] + X_test.shape[1] == 1797
    assert X_train.shape[1] == len(y_train) and X_test.shape[1] == len(y_test)
    assert y_train.dtype == np.int64 and X_train.dtype == np.float64
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    assert abs(len(y_test) / 1797 - 0.2) < 0.01
    assert set(np.unique(y_test)) == set(range(10))  # stratified: every class in both sets
    again = ds.load_digits_dataset()
    assert all(np.array_equal(a, b) for a, b in zip(again, (X_train, y_train, X_test, y_test)))
    assert not np.array_equal(ds.load_digits_dataset(seed=1)[3], y_test)
