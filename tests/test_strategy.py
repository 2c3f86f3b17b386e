"""tinygrad_dl.strategy: Course 3's tools, checked against the course's worked examples (lectures and the
two case-study quizzes, COURSE.md section 3) and against hand counts."""
import numpy as np
import pytest

from tinygrad_dl import Tensor, strategy
from tinygrad_dl.strategy import (ceiling_table, choose_model, classification_metrics, diagnose,
                                  f1_from_precision_recall, human_level_error, learning_curve, mismatched_split,
                                  multitask_metrics, per_class_sample, plan_mismatched_split, sample_errors,
                                  suggest_split_sizes, train_dev_test_split)


# ------------------------------------------------------------------------------------------------ splits


def test_suggested_sizes_follow_the_course_rule_of_thumb():
    assert suggest_split_sizes(1_000_000) == (980_000, 10_000, 10_000)  # the course's 98/1/1
    assert suggest_split_sizes(10_000) == (6_000, 2_000, 2_000)  # small data: 60/20/20
    assert suggest_split_sizes(100) == (60, 20, 20)
    assert suggest_split_sizes(100_000) == (80_000, 10_000, 10_000)  # dev/test of 10,000 are enough
    train, dev, test = suggest_split_sizes(10_000_000)
    assert dev == test == 100_000 and train + dev + test == 10_000_000
    with pytest.raises(ValueError, match="suggest_split_sizes: n"):
        suggest_split_sizes(-1)


def test_split_is_a_seeded_partition_of_the_examples():
    X, y = np.arange(200).reshape(100, 2), np.arange(100)
    split = train_dev_test_split(X, y, dev_size=0.1, test_size=20, train_dev_size=5, seed=3)
    assert split.sizes == {"train": 65, "train_dev": 5, "dev": 10, "test": 20}
    every = np.concatenate([split.indices[name] for name in ("train", "train_dev", "dev", "test")])
    np.testing.assert_array_equal(np.sort(every), np.arange(100))  # disjoint, and nothing lost
    for name in ("train", "train_dev", "dev", "test"):
        X_part, y_part = getattr(split, name)
        np.testing.assert_array_equal(X_part[:, 0], 2 * y_part)  # rows stay paired with their labels
        np.testing.assert_array_equal(y_part, split.indices[name])
    again = train_dev_test_split(X, y, dev_size=0.1, test_size=20, train_dev_size=5, seed=3)
    np.testing.assert_array_equal(again.indices["dev"], split.indices["dev"])
    other = train_dev_test_split(X, y, dev_size=0.1, test_size=20, train_dev_size=5, seed=4)
    assert not np.array_equal(other.indices["dev"], split.indices["dev"])


def test_split_unpacks_into_the_sets_and_takes_tensors_and_default_sizes():
    X = Tensor(np.random.RandomState(0).randn(50, 3))
    train, dev, test = train_dev_test_split(X)  # one array: each set is the array itself; 60/20/20 for small data
    assert (train.shape, dev.shape, test.shape) == ((30, 3), (10, 3), (10, 3))
    assert repr(train_dev_test_split(X)) == "DataSplit(train=30, dev=10, test=10)"


def test_stratified_split_keeps_the_class_shares():
    y = np.array([0] * 80 + [1] * 20)
    split = train_dev_test_split(y, dev_size=20, test_size=20, train_dev_size=10, stratify=y, seed=0)
    for name, size in (("test", 20), ("dev", 20), ("train_dev", 10)):
        labels = getattr(split, name)
        assert len(labels) == size and labels.mean() == pytest.approx(0.2), name
    assert split.train.mean() == pytest.approx(0.2)


def test_split_errors_name_the_problem():
    with pytest.raises(ValueError, match="different numbers of examples.*\\[10, 9\\]"):
        train_dev_test_split(np.zeros(10), np.zeros(9))
    with pytest.raises(ValueError, match="leave no training data out of 10"):
        train_dev_test_split(np.zeros(10), dev_size=5, test_size=5)
    with pytest.raises(ValueError, match="dev_size as a fraction must be in \\[0, 1\\], got 1.5"):
        train_dev_test_split(np.zeros(10), dev_size=1.5, test_size=1)
    with pytest.raises(ValueError, match="stratify must hold one label per example"):
        train_dev_test_split(np.zeros(10), dev_size=2, test_size=2, stratify=np.zeros(3))
    with pytest.raises(ValueError, match="cannot stratify the test set"):
        train_dev_test_split(np.zeros(10), dev_size=2, test_size=2, stratify=np.array([0] * 9 + [1]))


def test_per_class_sample_draws_k_of_every_class():
    y = np.repeat(np.arange(5), 10)
    idx = per_class_sample(y, 3, seed=1)
    np.testing.assert_array_equal(np.bincount(y[idx]), [3] * 5)
    np.testing.assert_array_equal(idx, per_class_sample(y, 3, seed=1))
    with pytest.raises(ValueError, match="class 0 has 10 examples, fewer than per_class=11"):
        per_class_sample(y, 11)


def test_plan_of_the_autonomous_driving_quiz():
    # W2 Q5: dev and test from the 100,000 front-camera images only; train: all 900,000 internet + 80,000 camera
    plan = plan_mismatched_split(100_000, 900_000, 10_000, 10_000, target_name="camera", other_name="internet")
    assert plan.counts == {"train": (80_000, 900_000), "dev": (10_000, 0), "test": (10_000, 0)}
    assert "980,000" in str(plan) and "camera" in str(plan)
    # W2 Q6: a 20,000 train-dev set drawn from the training mix of 900,000 internet + 60,000 camera images
    plan = plan_mismatched_split(100_000, 900_000, 20_000, 20_000, train_dev_size=20_000)
    assert plan.sizes == {"train": 940_000, "train_dev": 20_000, "dev": 20_000, "test": 20_000}
    assert sum(plan.counts["train"]) + sum(plan.counts["train_dev"]) == 960_000
    assert plan.counts["train_dev"][0] / 20_000 == pytest.approx(60_000 / 960_000)  # same mix as training
    with pytest.raises(ValueError, match="dev and test must both come from it"):
        plan_mismatched_split(1_000, 900_000, 600, 600)


def test_mismatched_split_puts_only_target_data_in_dev_and_test():
    X_camera, y_camera = np.full((100, 2), 1.0), np.arange(100)
    X_web, y_web = np.full((300, 2), 2.0), np.arange(100, 400)
    split = mismatched_split((X_camera, y_camera), (X_web, y_web), dev_size=20, test_size=20, train_dev_size=30,
                             seed=0)
    assert split.sizes == {"train": 330, "train_dev": 30, "dev": 20, "test": 20}
    for name in ("dev", "test"):
        X_part, _ = getattr(split, name)
        assert (X_part == 1.0).all() and (split.source[split.indices[name]] == 0).all()
    X_train, _ = split.train
    assert (X_train == 2.0).sum() // 2 + (split.source[split.indices["train_dev"]] == 1).sum() == 300  # all the web
    assert (X_train == 1.0).any()  # and the rest of the camera images train too
    every = np.concatenate(list(split.indices.values()))
    np.testing.assert_array_equal(np.sort(every), np.arange(400))
    with pytest.raises(ValueError, match="array #0 has example shape \\(2,\\) in target and \\(3,\\) in other"):
        mismatched_split(np.zeros((10, 2)), np.zeros((10, 3)), 2, 2)


# ----------------------------------------------------------------------------------------------- metrics


def test_f1_of_the_single_number_metric_lecture():
    assert 100 * f1_from_precision_recall(0.95, 0.90) == pytest.approx(92.4, abs=0.05)  # classifier A
    assert 100 * f1_from_precision_recall(0.98, 0.85) == pytest.approx(91.0, abs=0.05)  # classifier B
    assert f1_from_precision_recall(0, 0) == 0.0


def test_classification_metrics_against_hand_counts():
    y_true = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    y_pred = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0])  # TP 3, FN 1, FP 2, TN 4
    m = classification_metrics(Tensor(y_true), y_pred)
    assert m["accuracy"] == pytest.approx(0.7) and m["error"] == pytest.approx(0.3)
    assert m["precision"] == pytest.approx(3 / 5) and m["recall"] == pytest.approx(3 / 4)
    assert m["f1"] == pytest.approx(f1_from_precision_recall(3 / 5, 3 / 4))
    np.testing.assert_array_equal(m["confusion_matrix"], [[4, 2], [1, 3]])
    # the course's weighted error: weight 10 on the examples that must not be missed
    weights = np.where(y_true == 1, 10.0, 1.0)
    weighted = classification_metrics(y_true, y_pred, sample_weight=weights)
    assert weighted["error"] == pytest.approx((10 * 1 + 2) / (10 * 4 + 6))


def test_classification_metrics_multiclass_and_bad_input():
    m = classification_metrics([0, 1, 2, 2], [0, 2, 2, 2])
    assert m["accuracy"] == 0.75 and m["confusion_matrix"].shape == (3, 3)
    assert m["recall"] == pytest.approx((1 + 0 + 1) / 3)  # macro average
    with pytest.raises(ValueError, match="fractional values \\(probabilities\\?\\)"):
        classification_metrics([0, 1], [0.2, 0.9])
    with pytest.raises(ValueError, match="y_true has 2 labels and y_pred 3"):
        classification_metrics([0, 1], [0, 1, 1])


def test_without_scikit_learn_the_error_says_how_to_install_it(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "sklearn.metrics", None)  # importing it now raises ImportError
    monkeypatch.setitem(sys.modules, "sklearn.model_selection", None)
    with pytest.raises(ImportError, match="classification_metrics uses scikit-learn.*pip install scikit-learn"):
        classification_metrics([0, 1], [0, 1])
    with pytest.raises(ImportError, match="train_dev_test_split\\(stratify=...\\) uses scikit-learn"):
        train_dev_test_split(np.zeros(20), dev_size=4, test_size=4, stratify=np.arange(20) % 2)
    assert train_dev_test_split(np.zeros(20), dev_size=4, test_size=4).sizes["train"] == 12  # plain splits need none


def test_multitask_metrics_skip_unknown_labels():
    Y = np.array([[1, 0], [0, -1], [1, 1], [np.nan, 0]])
    P = np.array([[1, 1], [1, 1], [1, 1], [0, 0]])
    report = multitask_metrics(Y, P, task_names=["pedestrian", "car"])
    assert report["pedestrian"]["count"] == 3 and report["pedestrian"]["accuracy"] == pytest.approx(2 / 3)
    assert report["car"]["count"] == 3 and report["car"]["accuracy"] == pytest.approx(2 / 3)
    assert report["car"]["precision"] == pytest.approx(1 / 2) and report["car"]["recall"] == 1.0
    assert report["mean"]["accuracy"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="task 'car' has no known label"):
        multitask_metrics(np.array([[1, -1]]), np.array([[1, 0]]), task_names=["pedestrian", "car"])


PEACETOPIA = {"A": {"accuracy": 97, "runtime": 1, "memory": 3}, "B": {"accuracy": 99, "runtime": 13, "memory": 9},
              "C": {"accuracy": 97, "runtime": 3, "memory": 2}, "D": {"accuracy": 98, "runtime": 9, "memory": 9}}


def test_choose_model_answers_the_peacetopia_quiz():
    # W1 Q2: accuracy is optimizing; runtime <= 10 s and memory <= 10 MB are satisficing -> D
    choice = choose_model(PEACETOPIA, optimize="accuracy", constraints={"runtime": 10, "memory": ("<=", 10)})
    assert choice.best == "D" and choice.feasible == ["D", "A", "C"]
    assert choice.rejected == {"B": ["runtime 13 is not <= 10"]}
    assert "chosen" in str(choice) and "rejected: runtime 13" in str(choice)


def test_choose_model_lecture_examples():
    # satisficing running time <= 100 ms, then the best accuracy (lecture "Satisficing and optimizing metrics")
    cats = [{"name": "A", "accuracy": 90, "ms": 80}, {"name": "B", "accuracy": 92, "ms": 95},
            {"name": "C", "accuracy": 95, "ms": 1500}]
    assert choose_model(cats, "accuracy", {"ms": 100}).best == "B"
    # one number from errors per region: their average, the lower the better (lecture "Single number metric")
    regions = {"A": [3, 7, 5, 9], "B": [5, 6, 5, 10], "C": [2, 3, 4, 5], "D": [5, 8, 7, 2], "E": [4, 5, 2, 4],
               "F": [7, 11, 8, 12]}
    choice = choose_model({k: {"errors": v} for k, v in regions.items()},
                          optimize=lambda m: np.mean(m["errors"]), maximize=False)
    assert choice.best == "C" and choice.scores["C"] == 3.5 and choice.scores["F"] == 9.5
    nothing = choose_model(PEACETOPIA, "accuracy", {"runtime": 0.5})
    assert nothing.best is None and "no candidate meets" in str(nothing)
    with pytest.raises(ValueError, match="candidate 'A' has no value for \\['latency'\\]"):
        choose_model(PEACETOPIA, "accuracy", {"latency": 1})
    with pytest.raises(ValueError, match="constraint 'runtime' must be a number"):
        choose_model(PEACETOPIA, "accuracy", {"runtime": ("==", 1)})


# --------------------------------------------------------------------------------------------- diagnosis


def test_human_level_is_the_best_human_error():
    # W1 Q8: the bird-watching expert #1 (0.3 %) is the proxy for Bayes error
    assert human_level_error({"expert #1": 0.3, "expert #2": 0.5, "normal #1": 1.0, "normal #2": 1.2}) == \
        ("expert #1", 0.3)
    doctors = {"typical human": 3.0, "typical doctor": 1.0, "experienced doctor": 0.7, "team of doctors": 0.5}
    report = diagnose(human=doctors, train=5.0, dev=6.0)
    assert report.human == 0.5 and "team of doctors" in report.table()
    assert report.avoidable_bias == pytest.approx(4.5) and report.problems == ["avoidable bias"]


@pytest.mark.parametrize("errors, problems", [
    # Course 2 bias/variance with human ~0 % (gaps of at most 1 point taken as noise)
    (dict(human=0, train=1, dev=11, min_gap=1), ["variance"]),
    (dict(human=0, train=15, dev=16, min_gap=1), ["avoidable bias"]),
    (dict(human=0, train=15, dev=30, min_gap=1), ["avoidable bias", "variance"]),
    (dict(human=0, train=0.5, dev=1, min_gap=1), []),
    # "Avoidable bias": the same errors read against two human levels
    (dict(human=1, train=8, dev=10), ["avoidable bias"]),
    (dict(human=7.5, train=8, dev=10), ["variance"]),
    # "Understanding human-level performance" (human level 0.5 %)
    (dict(human=0.5, train=1, dev=5), ["variance"]),
    (dict(human=0.5, train=0.7, dev=0.8), ["avoidable bias", "variance"]),  # both, bias a bit bigger
    # "Surpassing human-level performance": 0.6/0.8 is variance; 0.3/0.4 cannot be read any more
    (dict(human=0.5, train=0.6, dev=0.8), ["variance"]),
    (dict(human=0.5, train=0.3, dev=0.4), []),
    # "Bias and variance with mismatched data distributions" (human ~0 %)
    (dict(human=0, train=1, train_dev=9, dev=10), ["variance"]),
    (dict(human=0, train=1, train_dev=1.5, dev=10), ["data mismatch"]),
    (dict(human=0, train=10, train_dev=11, dev=12), ["avoidable bias"]),
    (dict(human=0, train=10, train_dev=11, dev=20), ["avoidable bias", "data mismatch"]),
    # Peacetopia W1 Q10 (bias: a bigger model, less regularization) and Q11 (overfit to dev: a bigger dev set)
    (dict(human=0.1, train=2.0, dev=2.1), ["avoidable bias"]),
    (dict(human=0.1, train=2.0, dev=2.1, test=7.0), ["overfitting to dev", "avoidable bias"]),
    # W1 Q7: no human level -> not enough information; W1 Q12: beyond human level
    (dict(train=4.0, dev=4.5), []),
    (dict(human=0.1, train=0.05, dev=0.05), []),
])
def test_diagnosis_reproduces_the_course_examples(errors, problems):
    assert diagnose(**errors).problems == problems


def test_diagnosis_of_the_autonomous_driving_quiz():
    # W2 Q6: large avoidable bias (8.3 %) and large data mismatch (5.2 %); variance 0.3 %, test 0.5 % above dev
    report = diagnose(human=0.5, train=8.8, train_dev=9.1, dev=14.3, test=14.8)
    assert report.avoidable_bias == pytest.approx(8.3) and report.variance == pytest.approx(0.3)
    assert report.data_mismatch == pytest.approx(5.2) and report.dev_overfitting == pytest.approx(0.5)
    assert report.problems == ["avoidable bias", "data mismatch"]
    assert "train a bigger model" in report.advice["avoidable bias"]
    assert any("artificial data synthesis" in step for step in report.advice["data mismatch"])
    text = str(report)
    for row in ("human-level", "training ", "training-dev", "dev ", "test "):
        assert row in text
    assert "8.3%  avoidable bias" in text and "main problem" in text and "5.2%  data mismatch" in text


def test_diagnosis_ignores_gaps_within_sampling_noise():
    # the quiz's sets of 20,000 images resolve its gaps (noise ~0.6 % for the dev/train-dev gap)
    quiz = dict(human=0.5, train=8.8, train_dev=9.1, dev=14.3, test=14.8)
    big = diagnose(**quiz, sizes={"train": 940_000, "train_dev": 20_000, "dev": 20_000, "test": 20_000})
    assert big.problems == ["avoidable bias", "data mismatch"]
    # 2 * sqrt(p (1 - p) / n_dev + q (1 - q) / n_train_dev) in %
    expected = 200 * np.sqrt(0.143 * 0.857 / 20_000 + 0.091 * 0.909 / 20_000)
    assert big.noise["data mismatch"] == pytest.approx(expected)
    assert big.noise["avoidable bias"] == pytest.approx(200 * np.sqrt(0.088 * 0.912 / 940_000))  # human level exact
    # the same errors on 100-example sets: the 5.2 % mismatch is within noise, the 8.3 % bias is not
    small = diagnose(**quiz, sizes={"train": 1000, "train_dev": 100, "dev": 100, "test": 100})
    assert small.problems == ["avoidable bias"] and "noise" in small.table()
    tiny = diagnose(human=0, train=2, dev=5, sizes={"train": 50, "dev": 50})
    assert tiny.problems == [] and "within the sampling noise" in str(tiny)
    fractions = diagnose(human=0.0, train=0.01, dev=0.11, unit="", sizes={"train": 1000, "dev": 1000})
    assert fractions.noise["variance"] == pytest.approx(2 * np.sqrt(0.01 * 0.99 / 1000 + 0.11 * 0.89 / 1000))
    with pytest.raises(ValueError, match="sizes has unknown set names \\['validation'\\]"):
        diagnose(train=1, dev=2, sizes={"validation": 10})


def test_diagnosis_notes_and_bad_input():
    quiz7 = diagnose(train=4.0, dev=4.5)
    assert quiz7.avoidable_bias is None and quiz7.variance == pytest.approx(0.5)
    assert "not enough information" in str(quiz7)
    beyond = diagnose(human=0.1, train=0.05, dev=0.05)
    assert "surpassed human performance" in str(beyond)
    memorised = diagnose(human=1, train=0, train_dev=8, dev=22)
    assert memorised.problems == ["data mismatch", "variance"] and "memorises" in str(memorised)
    easier = diagnose(human=4, train=7, train_dev=10, dev=6)  # the rear-view mirror speech example
    assert easier.problems == ["avoidable bias", "variance"] and "dev/test data seem easier" in str(easier)
    with pytest.raises(ValueError, match="diagnose: train must be an error rate \\(in %, 0 to 100\\), got -1"):
        diagnose(train=-1, dev=2)
    with pytest.raises(ValueError, match="dev must be an error rate \\(a fraction, 0 to 1 \\(pass unit='%'"):
        diagnose(train=0.1, dev=12.0, unit="")
    with pytest.raises(ValueError, match="the human error of 'expert' must be an error rate"):
        human_level_error({"expert": "low"})
    with pytest.raises(ValueError, match="diagnose: the training and dev errors are needed"):
        diagnose(train=None, dev=2)


# ----------------------------------------------------------------------------------------- error analysis


def test_ceiling_of_the_dog_example():
    # 100 mistakes at 10 % error: 5 dogs -> at best 9.5 %; 50 dogs -> at best 5 %
    few = ceiling_table(["dog"] * 5, error_rate=10.0, n_examined=100)
    assert few["dog"].share == 0.05 and few["dog"].ceiling == pytest.approx(0.5)
    assert few["dog"].error_if_fixed == pytest.approx(9.5) and few["(untagged)"].count == 95
    many = ceiling_table([{"dog"}] * 50 + [set()] * 50, error_rate=10.0)
    assert many["dog"].error_if_fixed == pytest.approx(5.0)


def test_ceiling_table_with_several_tags_per_example():
    # the lecture's spreadsheet: dog 8 %, great cats 43 %, blurry 61 %, Instagram filters 12 % of 100 mistakes
    tags = [set() for _ in range(100)]
    for tag, count, start in (("dog", 8, 0), ("great cat", 43, 8), ("blurry", 61, 30), ("instagram", 12, 88)):
        for i in range(start, start + count):
            tags[i % 100].add(tag)
    table = ceiling_table({f"img{i}": t for i, t in enumerate(tags)})
    assert [(r.tag, r.count) for r in table.rows] == [("blurry", 61), ("great cat", 43), ("instagram", 12),
                                                      ("dog", 8)]
    assert sum(r.share for r in table.rows) > 1  # an example can carry several tags
    assert "61.0%" in str(table) and "100 mistakes examined" in str(table)


def test_ceiling_table_of_the_autonomous_driving_quiz():
    # W2 Q8/Q9: dev error 14.3 % over 1,000 dev images = 143 mistakes; some are both foggy and mislabelled
    tags = [{"foggy"}] * 70 + [{"foggy", "incorrectly labeled"}] * 10 + [{"incorrectly labeled"}] * 31 \
        + [{"raindrops"}] * 22 + [{"other"}] * 10
    table = ceiling_table(tags, error_rate=14.3)
    assert table["foggy"].share == pytest.approx(0.56, abs=0.005)  # "about 8.0/14.3 = 56 % of your errors"
    assert table["foggy"].ceiling == pytest.approx(8.0)
    assert table["incorrectly labeled"].ceiling == pytest.approx(4.1)
    assert table["raindrops"].ceiling == pytest.approx(2.2)  # the most a windshield wiper can gain
    assert table["other"].ceiling == pytest.approx(1.0)


def test_incorrect_labels_matter_more_when_the_error_is_small():
    # 6 of 100 mistakes are mislabelled: 0.6 % of 10 % error (6 % of errors), but 30 % of errors at 2 %
    assert ceiling_table(["mislabelled"] * 6, error_rate=10.0, n_examined=100)["mislabelled"].ceiling == \
        pytest.approx(0.6)
    assert ceiling_table(["mislabelled"] * 30, error_rate=2.0, n_examined=100)["mislabelled"].ceiling == \
        pytest.approx(0.6)


def test_ceiling_table_bad_input():
    with pytest.raises(ValueError, match="n_examined=1 is less than the 2 tagged examples"):
        ceiling_table(["a", "b"], n_examined=1)
    with pytest.raises(TypeError, match="the tags of example #1 must be a string or an iterable"):
        ceiling_table(["a", 3])
    with pytest.raises(KeyError, match="no tag 'cat'"):
        ceiling_table(["a"])["cat"]


def test_sample_errors_picks_only_mistakes():
    y = np.arange(1000) % 2
    predicted = y.copy()
    predicted[::10] = 1 - predicted[::10]  # 100 mistakes
    picked = sample_errors(y, predicted, n=30, seed=0)
    assert len(picked) == 30 and (y[picked] != predicted[picked]).all() and (np.diff(picked) > 0).all()
    np.testing.assert_array_equal(picked, sample_errors(y, predicted, n=30, seed=0))
    assert len(sample_errors(y, predicted, n=500)) == 100  # fewer mistakes than asked: all of them
    right = sample_errors(y, predicted, n=20, correct=True)
    assert (y[right] == predicted[right]).all()
    multi = sample_errors(np.array([[1, 0], [0, 0]]), np.array([[1, 1], [0, 0]]))
    np.testing.assert_array_equal(multi, [0])


# ------------------------------------------------------------------------------------------ learning curve


def _nearest_centroid(X, y):
    classes = np.unique(y)
    centroids = np.stack([X[y == c].mean(axis=0) for c in classes])
    return lambda Z: classes[((Z[:, None, :] - centroids[None]) ** 2).sum(-1).argmin(axis=1)]


def _one_nearest_neighbour(X, y):
    return lambda Z: y[((Z[:, None, :] - X[None]) ** 2).sum(-1).argmin(axis=1)]


def test_learning_curve_trains_on_nested_subsets(tmp_path):
    rng = np.random.RandomState(0)
    centers = np.array([[0, 0], [5, 0], [0, 5]])
    y = rng.randint(0, 3, 600)
    X = centers[y] + rng.randn(600, 2)
    seen = []

    def fit(X_part, y_part):
        seen.append(X_part)
        return _one_nearest_neighbour(X_part, y_part)

    curve = learning_curve(fit, X[:400], y[:400], X[400:], y[400:], sizes=[1, 50, 0.5, 400])
    assert curve.sizes == [1, 50, 200, 400]
    assert all(len(a) == n for a, n in zip(seen, curve.sizes))
    assert all((seen[i] == seen[i + 1][:len(seen[i])]).all() for i in range(3))  # each set holds the smaller
    assert curve.train_errors == [0.0] * 4  # 1-NN memorises its training set: the variance case
    assert curve.dev_errors[-1] < 0.05 and curve.dev_errors[0] > 0.5  # one example knows one class only
    centroid = learning_curve(_nearest_centroid, X[:400], y[:400], X[400:], y[400:], sizes=[20, 400])
    assert 0 < centroid.train_errors[-1] < 0.05 and centroid.dev_errors[-1] < 0.05
    pytest.importorskip("matplotlib")
    path = curve.plot(tmp_path / "curve.png", human=0.05)
    assert path.is_file() and path.stat().st_size > 10_000
    with pytest.raises(ValueError, match="training-set size 500 is not between 1 and the 400"):
        learning_curve(fit, X[:400], y[:400], X[400:], y[400:], sizes=[500])
    with pytest.raises(TypeError, match="must return a predict\\(X\\) function"):
        learning_curve(lambda a, b: None, X[:400], y[:400], X[400:], y[400:], sizes=[5])


def test_strategy_is_reachable_lazily_and_does_not_import_nn():
    import subprocess
    import sys
    code = ("import sys, tinygrad_dl; s = tinygrad_dl.strategy; "
            "print(hasattr(s, 'diagnose'), 'tinygrad_dl.nn' in sys.modules, 'tinygrad_dl.optim' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=__import__("pathlib").Path(__file__).resolve().parents[1])
    assert out.stdout.split() == ["True", "False", "False"]
    assert strategy.diagnose is diagnose
