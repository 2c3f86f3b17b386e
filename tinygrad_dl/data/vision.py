"""Image data for convolutional networks (Course 4): the course's image sets, splits and layout helpers.

    from tinygrad_dl.data import load_signs_images, load_happy_dataset, stratified_folds, to_nchw

* ``load_signs_images`` / ``load_happy_images``: the SIGNS hand signs and the Happy House faces as NCHW
  float arrays in [0, 1] with class indices (``load_happy_dataset`` gives the course's raw NHWC uint8);
* ``load_style_images``: the style-transfer pair (the Louvre, Monet), as (H, W, 3) uint8 arrays;
* ``load_digit_images``: scikit-learn's 8x8 digits as (m, 1, 8, 8) images, with the same stratified split as
  ``load_digits_dataset``;
* ``stratified_folds`` / ``stratified_split``: deterministic splits that keep every class's share, for
  the small sets here (only the 120 SIGNS test images and 150 Happy test images are distributed);
* ``to_nchw``: (m, H, W, C) integer images as (m, C, H, W) floats divided by 255.

Only private generators (``np.random.RandomState(seed)``) are used: the global RNG is left alone.
"""
from __future__ import annotations

import numpy as np

from .course import _data_file, _load_image_split, _stratified_test_mask, load_digits_dataset, load_signs_dataset

__all__ = ["to_nchw", "load_signs_images", "load_happy_dataset", "load_happy_images", "load_style_images",
           "load_digit_images", "stratified_folds", "stratified_split"]


def to_nchw(images, dtype=np.float32, divisor=255):
    """(m, H, W, C) images (the course's layout) as contiguous (m, C, H, W) ``dtype`` values / ``divisor``
    (in float64 these are exactly the course's ``X / 255.``)."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"to_nchw: expected images of shape (m, H, W, C), got {images.shape}")
    out = images.transpose(0, 3, 1, 2).astype(dtype, order="C")
    out /= divisor
    return out


def load_signs_images(data_dir=None, split="test", dtype=np.float32):
    """SIGNS hand signs (digits 0-5) as ``X`` (m, 3, 64, 64) ``dtype`` in [0, 1] and ``y`` (m,) int64.

    Only the 120 test images (20 per class) are distributed; ``split="train"`` needs your own copy of
    ``signs/train_signs.h5`` in the data folder (see ``load_signs_dataset``).
    """
    X, y, _ = load_signs_dataset(data_dir, split)
    return to_nchw(X, dtype), y


def load_happy_dataset(data_dir=None, split="test"):
    """The Happy House faces (C4 W2 Keras tutorial): ``X`` (m, 64, 64, 3) uint8, ``y`` (m,) int64 (1 = smiling)
    and ``classes`` ([0 1]), the course's layout.

    Only ``test_happy.h5`` (150 images: 66 not smiling, 84 smiling) is distributed with this project;
    ``split="train"`` needs your own copy of ``happy_house/train_happy.h5`` (600 images).
    """
    return _load_image_split(data_dir, "happy_house", f"{split}_happy.h5", split,
                             "train_happy.h5 (600 images) is not distributed here: no public mirror holds the real "
                             "file. Copy it into happy_house/ yourself, or use split='test'.")


def load_happy_images(data_dir=None, split="test", dtype=np.float32):
    """The Happy House faces as ``X`` (m, 3, 64, 64) ``dtype`` in [0, 1] and ``y`` (m,) int64."""
    X, y, _ = load_happy_dataset(data_dir, split)
    return to_nchw(X, dtype), y


def load_style_images(data_dir=None):
    """The neural-style-transfer pair of C4 W4: ``content`` (the Louvre) and ``style`` (a Monet painting), each
    a (300, 400, 3) uint8 array. Reading JPEG needs Pillow (installed with matplotlib)."""
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Reading the style-transfer JPEGs needs Pillow: pip install 'tinygrad_dl[plot]' "
                          "(matplotlib brings it) or pip install pillow") from exc
    images = []
    for name in ("louvre_small.jpg", "monet.jpg"):
        with Image.open(_data_file(data_dir, "neural_style_transfer", name)) as image:
            images.append(np.asarray(image.convert("RGB")))
    return images[0], images[1]


def load_digit_images(test_fraction=0.2, seed=0, dtype=np.float32):
    """scikit-learn's 8x8 digits as images: ``X_train`` (m, 1, 8, 8) in [0, 1], ``y_train`` (m,), ``X_test``,
    ``y_test``; the same stratified split as ``load_digits_dataset(test_fraction, seed)``."""
    X_train, y_train, X_test, y_test = load_digits_dataset(test_fraction, seed)
    as_images = lambda columns: np.ascontiguousarray(columns.T.reshape(-1, 1, 8, 8), dtype=dtype)  # noqa: E731
    return as_images(X_train), y_train, as_images(X_test), y_test


def stratified_folds(y, k=5, seed=0):
    """``k`` (train_indices, test_indices) pairs: every example is tested exactly once, and each fold holds
    each class's examples in proportion (a class's shuffled examples are dealt round-robin to the folds).

    Deterministic for a given ``seed`` (a private ``np.random.RandomState``); indices come sorted.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"stratified_folds: y must be a 1-D array of labels, got shape {y.shape}")
    if not isinstance(k, (int, np.integer)) or k < 2 or k > len(y):
        raise ValueError(f"stratified_folds: k must be an int between 2 and the number of examples ({len(y)}), "
                         f"got {k!r}")
    rng = np.random.RandomState(seed)
    fold_of = np.empty(len(y), dtype=np.int64)
    start = 0
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        fold_of[members] = (start + np.arange(len(members))) % k
        start += len(members)  # the next class starts where this one stopped: fold sizes stay even
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]


def stratified_split(y, test_fraction=0.25, seed=0):
    """(train_indices, test_indices): round(test_fraction * class size) of each class's shuffled examples
    are held out. Deterministic for a given ``seed``; indices come sorted."""
    y = np.asarray(y)
    if not 0 < test_fraction < 1:
        raise ValueError(f"stratified_split: test_fraction must be in (0, 1), got {test_fraction!r}")
    test = _stratified_test_mask(y, test_fraction, seed)
    return np.flatnonzero(~test), np.flatnonzero(test)
