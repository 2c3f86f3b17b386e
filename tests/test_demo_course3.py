"""Course 3 demos (quick modes) reach their numbers: the quizzes' tables reproduced exactly, the data
mismatch found and fixed on camera digits, transfer beating training from scratch with few examples, and
one masked multi-task network matching four single-task ones. Also the data they are built from."""
import numpy as np
import pytest

from demos import error_diagnosis, multitask, transfer_learning
from tinygrad_dl.data import camera_style, digit_properties, frame_digits, hide_labels, load_camera_digits

pytest.importorskip("sklearn", reason="the Course 3 demos use scikit-learn's digits")


# ------------------------------------------------------------------------------------------------ data


def test_camera_digits_are_two_distributions_of_real_digits():
    data = load_camera_digits(n_camera=600, seed=0)
    (X_camera, y_camera), (X_web, y_web) = data["camera"], data["internet"]
    assert X_camera.shape == (600, 64) and X_web.shape == (1197, 64)
    assert set(np.unique(y_camera)) == set(range(10)) and set(np.unique(y_web)) == set(range(10))
    assert X_camera.min() >= 0 and X_camera.max() <= 1
    assert (X_web == 0).mean() > 0.4  # clean digits: ink on a blank background
    assert (X_camera == 0).mean() < 0.01 and X_camera.reshape(-1, 8, 8)[:, 0, :].mean() > 0.2  # grey, noisy
    np.testing.assert_array_equal(load_camera_digits(600, seed=0)["camera"][0], X_camera)  # seeded


def test_camera_style_shifts_dims_and_adds_noise():
    image = np.zeros((1, 64))
    image[0, 0] = 1.0  # the top-left pixel
    styled = camera_style(image, seed=0).reshape(8, 8)
    assert styled[1, 1] == pytest.approx(0.85, abs=0.3)  # moved one right and one down, at 0.25 + 0.6
    assert abs(styled[0, 0] - 0.25) < 0.3 and 0.15 < styled.mean() < 0.35
    with pytest.raises(ValueError, match="camera_style: expected 8x8 digits as rows of 64 pixels"):
        camera_style(np.zeros((2, 63)))


def test_frame_digits_places_every_digit_whole():
    X = np.random.RandomState(0).rand(5, 64)
    framed = frame_digits(X, size=10, seed=1, copies=3).reshape(15, 10, 10)
    assert framed.shape == (15, 10, 10)
    for image, source in zip(framed, np.repeat(X, 3, axis=0)):
        np.testing.assert_allclose(np.sort(image[image > 0]), np.sort(source[source > 0]))  # nothing cut off
    assert len({tuple(np.argwhere(img > 0).min(axis=0)) for img in framed}) > 1  # at different positions


def test_digit_properties_and_hidden_labels():
    Y = digit_properties(np.arange(10))
    np.testing.assert_array_equal(Y[:, 0], [1, 0, 1, 0, 1, 0, 1, 0, 1, 0])  # even
    np.testing.assert_array_equal(Y[:, 1], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])  # 5 or more
    np.testing.assert_array_equal(Y[:, 2], [1, 0, 0, 0, 0, 0, 1, 0, 1, 1])  # a loop: 0 6 8 9
    np.testing.assert_array_equal(Y[:, 3], [0, 0, 1, 1, 0, 1, 0, 1, 0, 0])  # prime
    hidden = hide_labels(np.ones((1000, 4)), 0.3, seed=0)
    assert (hidden == -1).mean() == pytest.approx(0.3, abs=0.02) and set(np.unique(hidden)) == {-1.0, 1.0}
    with pytest.raises(ValueError, match="digit_properties: expected digits 0-9"):
        digit_properties(np.array([3, 12]))


# ------------------------------------------------------------------------------------------ diagnosis


@pytest.fixture(scope="module")
def diagnosis_run():
    return error_diagnosis.run(epochs=10, curve=True, curve_sizes=(150, 1200))


def test_diagnosis_demo_reproduces_the_quizzes(diagnosis_run):
    course = diagnosis_run["course"]
    assert course["choice"].best == "D"
    assert course["plan"].counts["train"] == (80_000, 900_000)
    driving = course["diagnosis"]
    assert (round(driving.avoidable_bias, 10), round(driving.variance, 10), round(driving.data_mismatch, 10),
            round(driving.dev_overfitting, 10)) == (8.3, 0.3, 5.2, 0.5)
    assert driving.problems == ["avoidable bias", "data mismatch"]
    assert course["error analysis"]["raindrops"].ceiling == pytest.approx(2.2)
    rows = {row[0]: (row[1], row[2]) for row in error_diagnosis.results_rows(diagnosis_run)}
    for metric in ("Peacetopia: model chosen", "driving quiz: avoidable bias / variance %",
                   "driving quiz: data mismatch / dev-test gap %", "driving quiz: problems"):
        course_value, ours = rows[metric]
        assert course_value.startswith(ours), metric


def test_diagnosis_demo_finds_and_fixes_the_data_mismatch(diagnosis_run):
    before, after = diagnosis_run["before"], diagnosis_run["after"]
    assert before["sizes"] == {"train": 1097, "train_dev": 200, "dev": 250, "test": 250}
    assert before["diagnosis"].problems[0] == "data mismatch"
    assert before["diagnosis"].data_mismatch > 30  # camera digits: mostly misread by a net trained on clean ones
    assert before["errors"]["dev"] > 40 and before["errors"]["train_dev"] < 20
    # the course's advice, artificial data synthesis, closes most of the gap
    assert after["sizes"]["train"] == 2294 and after["sizes"]["dev"] == 250
    assert after["diagnosis"].data_mismatch < before["diagnosis"].data_mismatch / 4
    assert after["errors"]["dev"] < before["errors"]["dev"] / 3
    assert "data mismatch" not in after["diagnosis"].problems
    analysis = before["error analysis"]
    assert analysis.n_examined == 100 and all(" read as " in row.tag for row in analysis.rows)
    curve = diagnosis_run["curve"]
    assert curve.sizes == [150, 1200] and curve.dev_errors[1] < curve.dev_errors[0]


def test_diagnosis_demo_main_prints_both_parts(capsys, tmp_path):
    error_diagnosis.main(["--quick", "--quiet", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    for text in ("PART 1", "PART 2", "avoidable bias", "<-- main problem", "artificial data synthesis",
                 "read as", "metric", "900,000 + 80,000"):
        assert text in out, text


# ------------------------------------------------------------------------------------------- transfer


def test_transfer_beats_scratch_with_few_examples(tmp_path):
    results = transfer_learning.run(**transfer_learning.QUICK, out=tmp_path)
    assert results["A test accuracy"] > 0.95  # task A is learnt
    mean = results["mean"]
    frozen, tuned, scratch = (mean[m] for m in transfer_learning.METHODS)
    for k in (1, 5):  # little data for task B: the features learnt on 0-4 help
        assert min(frozen[k], tuned[k]) > scratch[k] + 0.04, (k, frozen[k], tuned[k], scratch[k])
    assert max(frozen[20], tuned[20]) - scratch[20] < max(frozen[1], tuned[1]) - scratch[1]  # scratch catches up
    assert all(0.2 < a < 1 for per_k in mean.values() for a in per_k.values())
    assert results["plots"][0].is_file()
    rows = transfer_learning.results_rows(results)
    assert rows[1][0].startswith(" 1 per class") and rows[1][1] == "transfer > scratch"


def test_transfer_frozen_body_stays_put():
    tasks = transfer_learning.load_tasks(copies=1)
    pretrained = transfer_learning.pretrain(*tasks["A"], hidden=(16, 8), epochs=1)
    before = [p.data.copy() for p in pretrained[0].parameters()]
    X, y = tasks["B pool"]
    model = transfer_learning.train_on_b("transfer, frozen body", pretrained[0], X[:20], y[:20], (16, 8), 5, 0)
    for old, p in zip(before, model[0].parameters()):
        np.testing.assert_array_equal(old, p.data)
        assert not p.requires_grad
    tuned = transfer_learning.train_on_b("transfer, fine-tuned", pretrained[0], X[:20], y[:20], (16, 8), 5, 0)
    assert any(not np.array_equal(old, p.data) for old, p in zip(before, tuned[0].parameters()))
    for old, p in zip(before, pretrained[0].parameters()):  # the pretrained network itself is never changed
        np.testing.assert_array_equal(old, p.data)


# ------------------------------------------------------------------------------------------ multi-task


def test_masked_multitask_matches_single_task_nets(tmp_path):
    results = multitask.run(out=tmp_path, **multitask.QUICK)
    assert results["train size"] == 400 and results["complete rows"] < 150
    assert results["known labels"] == pytest.approx(0.7, abs=0.03)
    masked, single = results["approaches"][multitask.APPROACHES[0]], results["approaches"][multitask.APPROACHES[2]]
    for task in multitask.DIGIT_TASKS:
        assert masked["metrics"][task]["count"] == 359  # every test label is known
        assert masked["metrics"][task]["accuracy"] > 0.9
    mean = {name: r["metrics"]["mean"]["accuracy"] for name, r in results["approaches"].items()}
    assert mean["multi-task, masked loss"] >= mean["four single-task nets"] - 0.02
    assert mean["multi-task, masked loss"] > mean["multi-task, complete rows only"] + 0.03  # "?" rows still teach
    assert abs(masked["parameters"] - single["parameters"]) < 0.1 * single["parameters"]  # same capacity
    assert results["plots"][0].is_file()


def test_multitask_main_prints_the_table(capsys, tmp_path):
    multitask.main(["--quick", "--quiet", "--train-size", "200", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "masked ≈ single nets > complete rows" in out and "training images / with all 4 labels known" in out
