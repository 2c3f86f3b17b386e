"""The trigger-word demo (Course 5 week 3, reduced): the course's model and parameter count, the detection
metrics, and the quick run's numbers."""
import numpy as np
import pytest

from demos import trigger_word
from tinygrad_dl import Tensor, no_grad
from tinygrad_dl.data import course_data_dir, read_wav


def test_the_courses_model_shapes_and_parameter_count():
    model = trigger_word.TriggerWordModel(generator=np.random.default_rng(0))
    counts = trigger_word.parameter_counts(model)
    # ours: 522,425 parameters + 904 running means/variances; Keras: one GRU bias vector where PyTorch keeps two
    assert counts == {"trainable": 522425, "running_statistics": 904, "bias_hh": 768, "keras_trainable": 521657,
                      "keras_total": 522561}
    assert counts["keras_total"] == trigger_word.COURSE["parameters"]
    assert counts["keras_trainable"] == trigger_word.COURSE["trainable"]
    assert counts["running_statistics"] == trigger_word.COURSE["non_trainable"]
    shapes = {name: p.shape for name, p in model.named_parameters()}
    assert shapes["conv.weight"] == (196, 101, 15) and shapes["gru1.weight_ih_l0"] == (384, 196)
    assert shapes["gru2.weight_hh_l0"] == (384, 128) and shapes["dense.weight"] == (1, 128)
    model.eval()
    with no_grad():
        out = model(Tensor(np.zeros((1, 101, 5511), np.float32)))
    assert out.shape == (1, 1375)  # Conv1d(k=15, stride 4): (5511 - 15) // 4 + 1 = 1375 output steps


def test_chimes_follow_the_courses_rule():
    p = np.zeros(1375)
    p[[10, 50, 80, 85, 200, 275, 276]] = 0.9  # above 0.5; a chime needs more than 75 steps since the last
    assert trigger_word.chime_steps(p) == [80, 200, 276]  # 10 and 50 are inside the first 75 steps
    assert trigger_word.chime_steps(np.full(1375, 0.51)) == [75, 151, 227, 303, 379, 455, 531, 607, 683, 759, 835,
                                                             911, 987, 1063, 1139, 1215, 1291, 1367]
    assert trigger_word.chime_steps(np.full(1375, 0.5)) == []  # strictly above the threshold


def test_detection_metrics_on_perfect_and_silent_outputs():
    segments = [[("activate", 0, (1000, 1800)), ("negative", 3, (3000, 3500)), ("activate", 2, (6000, 6700))],
                [("negative", 1, (200, 900))]]
    Y = np.zeros((2, 1375))
    for clip, clip_segments in enumerate(segments):
        for kind, _, (_, end_ms) in clip_segments:
            if kind == "activate":
                step = int(end_ms * 1375 / 10000)
                Y[clip, step + 1:step + 51] = 1
    perfect = trigger_word.evaluate(Y.copy(), Y, segments)
    assert perfect == {"accuracy": 1.0, "all_zeros_accuracy": 1 - 100 / 2750, "recall": 1.0, "precision": 1.0,
                       "activates": 2, "detected": 2, "false_chimes": 0, "clips": 2}
    silent = trigger_word.evaluate(np.zeros_like(Y), Y, segments)
    assert silent["accuracy"] == silent["all_zeros_accuracy"] and silent["recall"] == 0 and silent["detected"] == 0
    early = np.zeros_like(Y)
    early[0, 200:230] = 0.9  # during the first "activate" (1.0-1.8 s = steps 137-247): it counts
    early[1, 600:620] = 0.9  # in a clip without "activate": a false chime
    result = trigger_word.evaluate(early, Y, segments)
    assert (result["detected"], result["false_chimes"], result["recall"], result["precision"]) == (1, 1, 0.0, 0.0)


def test_quick_run(tmp_path):
    try:
        course_data_dir()
    except FileNotFoundError as exc:
        pytest.skip(f"course data folder not found: {exc}")
    pytest.importorskip("matplotlib")
    results = trigger_word.run(*trigger_word.QUICK, out=tmp_path)
    assert tuple(results["input_shape"]) == (101, 5511)
    assert results["counts"]["keras_total"] == 522561
    # the synthesis is exact integer arithmetic, so the labels (and the all-zeros baseline) are fixed numbers
    assert results["label_fraction"] * 8 * 1375 == pytest.approx(1000, abs=1e-9)  # 20 "activate"s, 50 steps each
    assert results["dev"]["all_zeros_accuracy"] == pytest.approx(0.9, abs=1e-12)  # 11 "activate"s in 4 clips
    assert results["dev"]["activates"] == 11 and results["train"]["activates"] == 20
    assert 0.6 < results["losses"][1] < 0.9  # one step of Adam: still near the start (measured 0.746; ln 2 = 0.69)
    for split in ("train", "dev"):
        metrics = results[split]
        assert 0 <= metrics["accuracy"] <= 1 and 0 <= metrics["recall"] <= 1 and 0 <= metrics["precision"] <= 1
        assert 0 <= metrics["detected"] <= metrics["activates"]
    assert set(results["recorded"]) == {"1.wav", "2.wav"}
    assert all(0 < r["highest"] < 1 and isinstance(r["chimes"], list) for r in results["recorded"].values())
    names = [p.name for p in results["plots"]]
    assert names == ["loss.png", "dev_clip.png", "recorded_dev_1.png", "recorded_dev_1_chimes.wav",
                     "recorded_dev_2.png", "recorded_dev_2_chimes.wav"]
    assert all(p.stat().st_size > 10000 for p in results["plots"])
    rate, chimed = read_wav(tmp_path / "recorded_dev_1_chimes.wav")
    assert rate == 44100 and chimed.shape == (441000, 2)
    rows = dict((metric, ours) for metric, _, ours in trigger_word.results_rows(results))
    assert rows["parameters + running statistics - bias_hh (Keras' total)"] == 522561
    assert rows["trainable in Keras' layout"] == 521657
