"""Course 3 (Structuring Machine Learning Projects) as tools: splits, metrics, diagnosis, error analysis.

    from tinygrad_dl import strategy

    split = strategy.train_dev_test_split(X, y, train_dev_size=0.05, seed=0, stratify=y)
    print(strategy.diagnose(human=0.5, train=8.8, train_dev=9.1, dev=14.3, test=14.8))
    print(strategy.ceiling_table(tags, error_rate=10.0))
    strategy.choose_model(candidates, optimize="accuracy", constraints={"runtime": 10, "memory": 10}).best

Array-level helpers (NumPy arrays, or Tensors, examples along the first axis): they sit beside the core
and never import ``nn`` or ``optim``. scikit-learn (optional: ``pip install scikit-learn``) does the
counting of the metrics and the stratified shuffles; matplotlib (optional) draws learning curves.
"""
from .diagnosis import ADVICE, Diagnosis, diagnose, human_level_error
from .error_analysis import CeilingTable, ceiling_table, misclassified, sample_errors
from .learning_curve import LearningCurve, classification_error, learning_curve, plot_learning_curve
from .metrics import (ModelChoice, choose_model, classification_metrics, f1_from_precision_recall, known_labels,
                      multitask_metrics)
from .splits import (DataSplit, SplitPlan, mismatched_split, per_class_sample, plan_mismatched_split,
                     suggest_split_sizes, train_dev_test_split)

__all__ = ["train_dev_test_split", "suggest_split_sizes", "plan_mismatched_split", "mismatched_split",
           "per_class_sample", "DataSplit", "SplitPlan",
           "classification_metrics", "f1_from_precision_recall", "known_labels", "multitask_metrics",
           "choose_model", "ModelChoice",
           "diagnose", "Diagnosis", "human_level_error", "ADVICE",
           "ceiling_table", "CeilingTable", "sample_errors", "misclassified",
           "learning_curve", "LearningCurve", "classification_error", "plot_learning_curve"]
