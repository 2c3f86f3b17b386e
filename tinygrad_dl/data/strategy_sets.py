"""Data for the Course 3 demos, built from scikit-learn's 8x8 digits (real handwriting, no download).

Course 3 has no data of its own; its two case studies are images from a car's front camera mixed with
images from the internet, and images labelled with several independent answers, some unknown. These
build small real versions of both (examples as rows, pixel values in [0, 1]):

* ``load_camera_digits``: clean digits as the plentiful "internet" distribution, and a set of digits seen
  through ``camera_style`` (shifted, low contrast, noisy) as the scarce "front camera" distribution you
  care about;
* ``frame_digits``: digits placed at random positions in a larger frame (for transfer learning);
* ``digit_properties``: four 0/1 labels per digit ("even", "5 or more", "has a loop", "prime") and
  ``hide_labels`` to make a share of them unknown (-1, the course's "?").

Needs scikit-learn (the ``data`` extra).
"""
import numpy as np

from .course import load_digits_dataset

DIGIT_TASKS = ("even", "5 or more", "has a loop", "prime")
LOOPED_DIGITS = (0, 6, 8, 9)  # digits drawn with a closed loop
PRIME_DIGITS = (2, 3, 5, 7)
UNKNOWN = -1.0


def load_digit_rows():
    """All 1,797 digits: X (1797, 64) float64 in [0, 1] and y (1797,) int64, in scikit-learn's order."""
    X, y, _, _ = load_digits_dataset(test_fraction=0.0)
    return np.ascontiguousarray(X.T), y


def camera_style(X, seed=0):
    """Digits as a cheap front camera would see them: the 8x8 image moved one pixel right and one down (the
    camera is mounted off-centre), low contrast on a grey background (0.25 + 0.6 x) and sensor noise
    (normal, sd 0.08), clipped to [0, 1]. Nothing a person would misread, but far from the clean images.

    ``X``: (m, 64) rows; returns a new (m, 64) array. Also the tool for the course's artificial data
    synthesis: apply it to clean training images to make them look like the camera's.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 64:
        raise ValueError(f"camera_style: expected 8x8 digits as rows of 64 pixels, got shape {X.shape}")
    images = X.reshape(-1, 8, 8)
    shifted = np.zeros_like(images)
    shifted[:, 1:, 1:] = images[:, :-1, :-1]
    noise = np.random.RandomState(seed).normal(0.0, 0.08, shifted.shape)
    return np.clip(0.25 + 0.6 * shifted + noise, 0.0, 1.0).reshape(len(X), 64)


def load_camera_digits(n_camera=600, seed=0):
    """The course's two distributions, small: {"camera": (X, y), "internet": (X, y)}, rows of 64 pixels.

    ``n_camera`` digits (drawn at random, seeded) are turned into camera images; the other
    1,797 - n_camera stay clean, the plentiful internet images.
    """
    X, y = load_digit_rows()
    if not 0 < n_camera < len(y):
        raise ValueError(f"load_camera_digits: n_camera must be between 1 and {len(y) - 1}, got {n_camera}")
    order = np.random.RandomState(seed).permutation(len(y))
    camera, internet = np.sort(order[:n_camera]), np.sort(order[n_camera:])
    return {"camera": (camera_style(X[camera], seed=seed + 1), y[camera]), "internet": (X[internet], y[internet])}


def frame_digits(X, size=10, seed=0, copies=1):
    """Each 8x8 digit placed at a random position in a blank ``size`` x ``size`` frame (seeded), as rows of
    size * size pixels: digits photographed a little off-centre. With ``copies`` > 1 every digit appears that
    many times, each at its own position (the usual way to get more training data out of a few images).

    Raw pixels are poor features for such images (the same stroke lands on different pixels), which is
    what learnt features are for, and why a network trained on other digits transfers.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 64:
        raise ValueError(f"frame_digits: expected 8x8 digits as rows of 64 pixels, got shape {X.shape}")
    if size < 8:
        raise ValueError(f"frame_digits: the frame must be at least 8 pixels wide, got {size}")
    images = np.repeat(X.reshape(-1, 8, 8), copies, axis=0)
    rng = np.random.RandomState(seed)
    top, left = rng.randint(0, size - 7, len(images)), rng.randint(0, size - 7, len(images))
    framed = np.zeros((len(images), size, size))
    for row in range(size - 7):  # one slice assignment per offset, not per pixel
        for column in range(size - 7):
            chosen = (top == row) & (left == column)
            framed[chosen, row:row + 8, column:column + 8] = images[chosen]
    return framed.reshape(len(images), size * size)


def digit_properties(y):
    """(m, 4) float64 labels for the tasks ``DIGIT_TASKS``: even, 5 or more, has a loop (0 6 8 9), prime (2 3 5 7)."""
    y = np.asarray(y)
    if y.ndim != 1 or (y.size and (y.min() < 0 or y.max() > 9)):
        raise ValueError(f"digit_properties: expected digits 0-9 in a 1-D array, got shape {y.shape}")
    tasks = [y % 2 == 0, y >= 5, np.isin(y, LOOPED_DIGITS), np.isin(y, PRIME_DIGITS)]
    return np.stack(tasks, axis=1).astype(np.float64)


def hide_labels(Y, fraction, seed=0, value=UNKNOWN):
    """A copy of the multi-label array ``Y`` with each entry replaced by ``value`` (unknown, the course's "?")
    with probability ``fraction``, independently (seeded)."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"hide_labels: fraction must be in [0, 1], got {fraction}")
    Y = np.array(Y, dtype=np.float64)
    Y[np.random.RandomState(seed).rand(*Y.shape) < fraction] = value
    return Y
