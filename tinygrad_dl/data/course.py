"""The course's datasets (Courses 1-2), in the course's layout: ``from tinygrad_dl.data import load_cat_dataset``.

Every loader returns the course's *column* layout: X has shape (n_features, m) and
Y has shape (1, m), one example per column.  The exceptions are the image sets meant
for convolutional nets (`load_signs_dataset`, which keeps (m, 64, 64, 3)) and
`load_digits_dataset`, whose labels are a flat (m,) vector of class indices.

Two kinds of data live here:

* files handed out by the course (cat/non-cat, "French football", SIGNS), read from the
  course data folder (see `course_data_dir`);
* generated sets (flower, circles, moons) re-implemented in plain NumPy.  They draw from
  numpy's legacy *global* RNG (`np.random`) in exactly the order the course code (and
  scikit-learn with ``random_state=None``) does, so they are bit-identical to the
  notebooks' data.  scikit-learn is not used for them.

h5py, scipy and scikit-learn are imported lazily, only by the loaders that need them
(they are in the ``data`` extra: ``pip install "tinygrad_dl[data]"``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = [
    "course_data_dir",
    "load_cat_dataset",
    "load_football_dataset",
    "load_signs_dataset",
    "make_flower",
    "make_circles_course",
    "load_circles_dataset",
    "make_moons_course",
    "load_moons_dataset",
    "load_digits_dataset",
]

ENV_VAR = "TINYGRAD_DL_DATA"
# In a checkout the repository root is two folders above this file; the shared course data sits beside it.
_REPO_ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- files


def _missing_data_message(detail: str) -> str:
    return (
        f"{detail}\nPut the course data folder (the one holding cat_vs_noncat/, "
        f"football_regularization/, signs/, ...) in ./data/course, or point to it with the "
        f"environment variable {ENV_VAR}=/path/to/course or the --data /path/to/course "
        f"option of the demos."
    )


def course_data_dir(path: str | os.PathLike | None = None) -> Path:
    """Return the folder of the course data files as a `pathlib.Path`.

    Looked up in this order: the explicit `path`, the environment variable
    ``TINYGRAD_DL_DATA``, ``./data/course`` and ``../shared/data/course`` (relative to the working
    directory), and ``../shared/data/course`` relative to the repository root (in a checkout).  An explicit `path` or
    the environment variable, when given, must exist: a typo should fail loudly, not
    fall back to another copy.  Raises `FileNotFoundError` saying where to put the files.
    """
    for origin, value in (("the argument", path), (ENV_VAR, os.environ.get(ENV_VAR))):
        if value:
            folder = Path(value).expanduser()
            if folder.is_dir():
                return folder
            raise FileNotFoundError(
                _missing_data_message(f"Course data folder {folder} (from {origin}) does not exist.")
            )
    candidates = [Path.cwd() / "data" / "course", Path.cwd().parent / "shared" / "data" / "course",
                  _REPO_ROOT.parent / "shared" / "data" / "course"]
    candidates = list(dict.fromkeys(candidates))  # the same folder once, when run from the checkout root
    for folder in candidates:
        if folder.is_dir():
            return folder
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(_missing_data_message(f"No course data folder found (tried {tried})."))


def _data_file(data_dir, *parts: str) -> Path:
    file = course_data_dir(data_dir).joinpath(*parts)
    if not file.is_file():
        raise FileNotFoundError(_missing_data_message(f"Course data file {file} is missing."))
    return file


def _h5py():
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Reading the course .h5 files needs h5py: pip install 'tinygrad_dl[data]'") from exc
    return h5py


def load_cat_dataset(data_dir=None):
    """Cat vs non-cat images (C1 W2 logistic regression, C1 W4 deep NN application).

    Returns ``train_x`` (12288, 209) float64 in [0, 1], ``train_y`` (1, 209) int64,
    ``test_x`` (12288, 50), ``test_y`` (1, 50) and ``classes`` ([b'non-cat', b'cat']).
    Each 64x64x3 image becomes one column, flattened exactly as the course does
    (``x.reshape(x.shape[0], -1).T / 255.``), so pixel order matches the notebooks.
    """
    h5py = _h5py()
    with h5py.File(_data_file(data_dir, "cat_vs_noncat", "train_catvnoncat.h5"), "r") as f:
        train_x, train_y = f["train_set_x"][:], f["train_set_y"][:]
    with h5py.File(_data_file(data_dir, "cat_vs_noncat", "test_catvnoncat.h5"), "r") as f:
        test_x, test_y = f["test_set_x"][:], f["test_set_y"][:]
        classes = f["list_classes"][:]  # the course takes the class names from the test file

    def flatten(x):
        return x.reshape(x.shape[0], -1).T / 255.0

    return flatten(train_x), train_y.reshape(1, -1), flatten(test_x), test_y.reshape(1, -1), classes


def load_football_dataset(data_dir=None):
    """The "French football" 2-D dataset (C2 W1 Regularization, ``reg_utils.load_2D_dataset``).

    Returns ``train_X`` (2, 211) float64, ``train_Y`` (1, 211) uint8, ``test_X`` (2, 200),
    ``test_Y`` (1, 200): the arrays of ``data.mat``, transposed to the column layout.
    """
    try:
        from scipy.io import loadmat
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Reading data.mat needs scipy: pip install 'tinygrad_dl[data]'") from exc
    data = loadmat(_data_file(data_dir, "football_regularization", "data.mat"))
    return data["X"].T, data["y"].T, data["Xval"].T, data["yval"].T


def load_signs_dataset(data_dir=None, split="test"):
    """SIGNS hand-sign digits 0-5 (C2 W3 TensorFlow, C4 W1 CNN application, C4 W2 ResNet).

    Returns ``X`` (m, 64, 64, 3) uint8 (image layout, for conv nets), ``y`` (m,) int64 and
    ``classes`` ([0 1 2 3 4 5]).  Only ``test_signs.h5`` (120 images) is distributed with
    this project; ``split="train"`` works only if you put ``signs/train_signs.h5`` into the
    data folder yourself.
    """
    return _load_image_split(data_dir, "signs", f"{split}_signs.h5", split,
                             "train_signs.h5 (1,080 images) is not distributed here: no public mirror holds the real "
                             "file, only Git LFS pointers. Copy it into signs/ yourself, or use split='test'.")


def _load_image_split(data_dir, folder, name, split, missing_train_note):
    """(X, y as int64, classes) from the course's h5 file ``folder/name`` of one split (its arrays
    ``{split}_set_x``, ``{split}_set_y`` and ``list_classes``: the SIGNS and Happy House files).
    ``missing_train_note`` ends the error when the train file is missing (only the test files are distributed)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    file = course_data_dir(data_dir) / folder / name
    if not file.is_file():
        detail = f"Course data file {file} is missing."
        if split == "train":
            detail += " " + missing_train_note
        raise FileNotFoundError(_missing_data_message(detail))
    with _h5py().File(file, "r") as f:
        X = f[f"{split}_set_x"][:]
        y = f[f"{split}_set_y"][:].astype(np.int64)
        classes = f["list_classes"][:]
    return X, y, classes


# ----------------------------------------------------------------------- generated


def make_flower(seed=1):
    """The planar "flower" (C1 W3 planar data classification, ``planar_utils.load_planar_dataset``).

    Returns ``X`` (2, 400) float64 and ``Y`` (1, 400) uint8: two classes of 200 points that
    together trace the 8-petal rose r = 4 sin 4t.  Seeds the global RNG, as the course does.
    """
    np.random.seed(seed)
    m, a = 400, 4
    n = m // 2
    X = np.zeros((m, 2))
    Y = np.zeros((m, 1), dtype=np.uint8)
    for j in range(2):
        # Draw order matters for the fingerprint: angle noise, then radius noise, class 0 first.
        t = np.linspace(j * 3.12, (j + 1) * 3.12, n) + np.random.randn(n) * 0.2
        r = a * np.sin(4 * t) + np.random.randn(n) * 0.2
        X[j * n:(j + 1) * n] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[j * n:(j + 1) * n] = j
    return X.T, Y.T


def _shuffle_and_noise(X, y, noise):
    """The tail of sklearn's make_circles / make_moons, drawing from the global RNG.

    sklearn first shuffles the rows (``sklearn.utils.shuffle`` = ``arange(n)`` shuffled
    in place, which is exactly what ``RandomState.permutation(n)`` does), and only then
    draws the Gaussian noise of shape (n, 2).  Swapping the two would change every point.
    """
    order = np.random.permutation(X.shape[0])
    X, y = X[order], y[order]
    if noise is not None:
        X = X + np.random.normal(scale=noise, size=X.shape)
    return X.T, y.reshape(1, -1)


def make_circles_course(n_samples, noise, factor=0.8, seed=None):
    """Two concentric circles, exactly like ``sklearn.datasets.make_circles(random_state=None)``.

    n_samples // 2 points on the unit circle (label 0), the rest on the circle of radius
    `factor` (label 1), shuffled, plus N(0, noise^2) noise.  If `seed` is given the global
    RNG is seeded first (as ``init_utils.load_dataset`` does).  Returns ``X`` (2, n) float64
    and ``Y`` (1, n) int64.
    """
    if seed is not None:
        np.random.seed(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    # endpoint=False so that the first point of a circle is not repeated as its last
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.c_[np.r_[np.cos(t_out), factor * np.cos(t_in)], np.r_[np.sin(t_out), factor * np.sin(t_in)]]
    y = np.r_[np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)]
    return _shuffle_and_noise(X, y, noise)


def load_circles_dataset():
    """The "circles" of C2 W1 Initialization (``init_utils.load_dataset``).

    Returns ``train_X`` (2, 300), ``train_Y`` (1, 300) (seed 1) and ``test_X`` (2, 100),
    ``test_Y`` (1, 100) (seed 2), all with noise 0.05 and factor 0.8.
    """
    train_X, train_Y = make_circles_course(300, noise=0.05, seed=1)
    test_X, test_Y = make_circles_course(100, noise=0.05, seed=2)
    return train_X, train_Y, test_X, test_Y


def make_moons_course(n_samples, noise, seed=None):
    """Two interleaving half-moons, exactly like ``sklearn.datasets.make_moons(random_state=None)``.

    n_samples // 2 points on the upper unit half-circle (label 0) and the rest on the
    shifted lower half-circle (1 - cos t, 1 - sin t - 0.5) (label 1), shuffled, plus
    N(0, noise^2) noise.  If `seed` is given the global RNG is seeded first.
    Returns ``X`` (2, n) float64 and ``Y`` (1, n) int64.
    """
    if seed is not None:
        np.random.seed(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0, np.pi, n_out)  # endpoint included, unlike the circles
    t_in = np.linspace(0, np.pi, n_in)
    X = np.c_[np.r_[np.cos(t_out), 1 - np.cos(t_in)], np.r_[np.sin(t_out), 1 - np.sin(t_in) - 0.5]]
    y = np.r_[np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)]
    return _shuffle_and_noise(X, y, noise)


def load_moons_dataset():
    """The "moons" of C2 W2 Optimization (``opt_utils.load_dataset``).

    Returns ``train_X`` (2, 300) and ``train_Y`` (1, 300) (seed 3, noise 0.2).  The
    assignment has no test set: accuracy is measured on the training set.
    """
    return make_moons_course(300, noise=0.2, seed=3)


def load_digits_dataset(test_fraction=0.2, seed=0):
    """scikit-learn's embedded 8x8 handwritten digits (1,797 images, 10 classes).

    Not a course file: a small real multi-class set for softmax demos, shipped inside
    scikit-learn so it needs no download.  Returns ``X_train`` (64, m_train) float64 in
    [0, 1] (pixel values 0..16 divided by 16), ``y_train`` (m_train,) int64, ``X_test``
    (64, m_test) and ``y_test`` (m_test,).

    The split is stratified and deterministic: with ``np.random.RandomState(seed)`` (a
    private generator, the global RNG is left alone) each class's indices are permuted
    and ``round(test_fraction * class_size)`` of them go to the test set; both sets are
    then ordered by original index.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError(
            "load_digits_dataset needs scikit-learn: pip install 'tinygrad_dl[data]' "
            "(the 'data' extra) or pip install scikit-learn"
        ) from exc
    digits = load_digits()
    X = digits.data.astype(np.float64) / 16.0
    y = digits.target.astype(np.int64)
    test = _stratified_test_mask(y, test_fraction, seed)
    return X[~test].T, y[~test], X[test].T, y[test]


def _stratified_test_mask(y, test_fraction, seed):
    """True for the held-out examples: round(test_fraction * class size) of each class's examples, permuted by
    a private ``np.random.RandomState(seed)`` (the global generator is left alone)."""
    rng = np.random.RandomState(seed)
    test = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        test[members[:int(round(test_fraction * len(members)))]] = True
    return test
