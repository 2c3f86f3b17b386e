"""tinygrad_dl.data.vision: the Course 4 image sets, layout conversion and stratified splits."""
import numpy as np
import pytest

from tinygrad_dl.data import (course_data_dir, load_digit_images, load_digits_dataset, load_happy_dataset,
                              load_happy_images, load_signs_dataset, load_signs_images, load_style_images,
                              stratified_folds, stratified_split, to_nchw)


@pytest.fixture(scope="module")
def course_data():
    pytest.importorskip("h5py")
    try:
        return course_data_dir()
    except FileNotFoundError as exc:
        pytest.skip(f"course data folder not found: {exc}")


def test_to_nchw_is_the_courses_division_by_255_in_our_layout():
    images = np.random.default_rng(0).integers(0, 256, (2, 4, 5, 3), dtype=np.uint8)
    out = to_nchw(images, np.float64)
    assert out.shape == (2, 3, 4, 5) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, (images / 255.).transpose(0, 3, 1, 2))  # bit for bit
    assert to_nchw(images).dtype == np.float32
    with pytest.raises(ValueError, match=r"to_nchw: expected images of shape \(m, H, W, C\), got \(4, 5, 3\)"):
        to_nchw(images[0])


def test_signs_and_happy_images(course_data):
    X, y = load_signs_images()
    raw, raw_y, _ = load_signs_dataset()
    assert X.shape == (120, 3, 64, 64) and X.dtype == np.float32 and np.bincount(y).tolist() == [20] * 6
    np.testing.assert_allclose(X[7, :, 10, 20], raw[7, 10, 20] / 255, rtol=1e-6)
    assert np.array_equal(y, raw_y)
    X_raw, y_raw, classes = load_happy_dataset()
    assert X_raw.shape == (150, 64, 64, 3) and X_raw.dtype == np.uint8
    assert np.bincount(y_raw).tolist() == [66, 84] and classes.tolist() == [0, 1]
    X, y = load_happy_images()
    assert X.shape == (150, 3, 64, 64) and 0 <= X.min() and X.max() <= 1
    with pytest.raises(FileNotFoundError, match="train_happy.h5 .600 images. is not distributed"):
        load_happy_dataset(split="train")
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_happy_dataset(split="dev")


def test_style_images(course_data):
    pytest.importorskip("PIL")
    content, style = load_style_images()
    assert content.shape == style.shape == (300, 400, 3) and content.dtype == np.uint8


def test_digit_images_are_the_digits_split_as_images():
    pytest.importorskip("sklearn")
    X_train, y_train, X_test, y_test = load_digit_images()
    columns = load_digits_dataset()
    assert X_train.shape == (1438, 1, 8, 8) and X_test.shape == (359, 1, 8, 8)
    np.testing.assert_allclose(X_train.reshape(len(X_train), 64), columns[0].T, rtol=1e-6)
    assert np.array_equal(y_test, columns[3])


def test_stratified_folds_partition_the_examples_and_keep_class_shares():
    y = np.repeat(np.arange(6), 20)
    folds = stratified_folds(y, 5, seed=0)
    assert len(folds) == 5
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested.tolist()) == list(range(120))  # every example tested exactly once
    for train, test in folds:
        assert len(test) == 24 and np.bincount(y[test]).tolist() == [4] * 6
        assert not set(train) & set(test) and len(train) + len(test) == 120
    again = stratified_folds(y, 5, seed=0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))  # deterministic
    assert not np.array_equal(stratified_folds(y, 5, seed=1)[0][1], folds[0][1])
    uneven = np.array([0] * 7 + [1] * 5)
    sizes = [len(test) for _, test in stratified_folds(uneven, 3)]
    assert sorted(sizes) == [4, 4, 4]
    with pytest.raises(ValueError, match="k must be an int between 2 and the number of examples"):
        stratified_folds(y, 1)


def test_stratified_split_holds_out_each_class_share():
    y = np.array([0] * 66 + [1] * 84)
    train, test = stratified_split(y, 1 / 3, seed=0)
    assert (len(train), len(test)) == (100, 50) and np.bincount(y[test]).tolist() == [22, 28]
    assert not set(train) & set(test)
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0, 1\)"):
        stratified_split(y, 1.5)
