"""Data for learners: ``Dataset``/``TensorDataset``/``DataLoader``, the course's mini-batches, and the
course's datasets (files read from the course data folder, generated sets bit-identical to the notebooks).

    from tinygrad_dl.data import DataLoader, TensorDataset, load_cat_dataset, make_flower

The loaders that read files need the ``data`` extra (h5py, scipy, scikit-learn): ``pip install
"tinygrad_dl[data]"``. The course's files are looked up in ``data_dir=``, ``$TINYGRAD_DL_DATA``,
``./data/course``, then ``../shared/data/course`` (see ``course_data_dir``).
"""
from . import audio, sequences, strategy_sets, vision
from .course import (course_data_dir, load_cat_dataset, load_circles_dataset, load_digits_dataset,
                     load_football_dataset, load_moons_dataset, load_signs_dataset, make_circles_course, make_flower,
                     make_moons_course)
from .loader import DataLoader, Dataset, TensorDataset, default_collate
from .minibatch import random_mini_batches
from .strategy_sets import camera_style, digit_properties, frame_digits, hide_labels, load_camera_digits  # Course 3
from .vision import *  # noqa: F401,F403  (Course 4: SIGNS/happy/digit images, style images, folds)
from .sequences import *  # noqa: F401,F403  (Course 5: names, Shakespeare, emoji sentences, dates)
from .audio import *  # noqa: F401,F403  (Course 5 week 3: trigger-word clips, spectrograms, labels)

__all__ = (["Dataset", "TensorDataset", "DataLoader", "default_collate", "random_mini_batches", "course_data_dir",
            "load_cat_dataset", "load_football_dataset", "load_signs_dataset", "make_flower", "make_circles_course",
            "load_circles_dataset", "make_moons_course", "load_moons_dataset", "load_digits_dataset",
            "load_camera_digits", "camera_style", "frame_digits", "digit_properties", "hide_labels"]
           + vision.__all__ + sequences.__all__ + audio.__all__)
