"""Course 5 demos reach the notebooks' numbers (COURSE.md section 5) in their quick modes.

The step-by-step values match both notebook versions to their printed digits; the dinosaur model's losses and
sampled names are the notebook's exactly (iterations 0 and 2000 here, through 12 000 in the slow test); the
trained models (date translation, emoji, Transformer) are checked on what their quick modes must reach.
"""
import numpy as np
import pytest

from demos import dinosaurus, emojify, nmt_dates, rnn_step_by_step, transformer
from tinygrad_dl.data import (course_data_dir, format_date, load_dates_dataset, read_glove_vecs,
                              sentences_to_indices, shakespeare_windows, load_shakespeare)


def _course_data():
    try:
        return course_data_dir()
    except FileNotFoundError as exc:
        pytest.skip(f"course data folder not found: {exc}")


# ----------------------------------------------------------------------------------- step by step


def test_rnn_step_by_step_reproduces_both_notebooks():
    results = rnn_step_by_step.run()
    assert set(results["differences"]) == set(rnn_step_by_step.COURSE)
    assert results["max_difference"] < 1e-8  # arrays are printed with 8 decimals
    full_precision = [("lstm_forward", "a[4][3][6]", ""), ("lstm_forward", "c[1][2][1]", ""),
                      ("rnn_backward", "dWax[3][1]", ""), ("lstm_cell_backward", "dxt[1][2]", ""),
                      ("rnn_cell_backward", "dWaa[1][2]", "K"), ("lstm_backward", "dWc[3][1]", "K")]
    for key in full_precision:  # printed with every digit: agreement to rounding
        assert results["differences"][key] < 1e-12, key
    # the two versions really differ (a stale bias, and no backpropagation through time in 2018)
    values = results["values"]
    assert abs(values[("rnn_cell_backward", "dxt[1][2]", "K")] - values[("rnn_cell_backward", "dxt[1][2]", "A")]) > 0.5
    assert values[("lstm_backward", "dx[1][2]", "K")][3] == values[("lstm_backward", "dx[1][2]", "A")][3]


# ----------------------------------------------------------------------------------- dinosaurus


def test_dinosaurus_unit_tests_are_the_courses():
    clip = dinosaurus.clip_test()
    for key, expected in dinosaurus.COURSE["clip"].items():
        assert abs(clip[key] - expected) < 5e-9, key
    optimize = dinosaurus.optimize_test()
    assert abs(optimize["Loss"] - 126.503975722) < 1e-9
    assert abs(optimize["dWaa[1][2]"] - 0.194709315347) < 1e-12
    assert optimize["argmax(dWax)"] == 93
    assert abs(optimize["dWya[1][2]"] + 0.007773876032) < 1e-12
    assert abs(optimize["db[4]"] + 0.06809825) < 5e-9 and abs(optimize["dby[1]"] - 0.01538192) < 5e-9
    assert optimize["a_last[4]"] == pytest.approx(-1.0, abs=1e-12)


def _assert_names_run(results, course):
    for j, loss in results["losses"].items():
        assert abs(loss - course["losses"][j]) < 5e-7, (j, loss)  # printed with %f
        if j in course["names"]:
            assert results["names"][j] == course["names"][j], j


def test_dinosaurus_first_iterations_exactly():
    _course_data()
    results = dinosaurus.train_names(2001)
    assert sorted(results["losses"]) == [0, 2000]
    _assert_names_run(results, dinosaurus.COURSE)


@pytest.mark.slow
def test_dinosaurus_exact_through_12000():
    _course_data()
    results = dinosaurus.train_names(12001)
    assert sorted(results["losses"]) == list(range(0, 12001, 2000))
    _assert_names_run(results, dinosaurus.COURSE)


def test_shakespeare_windows_and_a_short_lstm_run():
    _course_data()
    assert len(shakespeare_windows(load_shakespeare())[0]) == 31412
    results = dinosaurus.train_shakespeare(epochs=2, max_windows=600, batch_size=100, hidden_size=32, length=40)
    assert results["windows"] == 31412
    assert results["losses"][2] < results["losses"][1] < np.log(38)  # below a uniform guess over the characters
    assert results["poem"].startswith("forsooth this maketh no sense") and len(results["poem"]) == 29 + 40


# ----------------------------------------------------------------------------------- dates


def test_dates_follow_the_course_formats_and_vocabularies():
    import datetime as dt
    dataset, human, machine, inv_machine = load_dates_dataset(10000)
    assert len(dataset) == 10000 and len(human) == 37 and len(machine) == 11
    assert list(human)[-2:] == ["<unk>", "<pad>"] and "".join(sorted(machine)) == "-0123456789"
    assert max(len(h) for h, _ in dataset) <= 30
    # babel's en_US patterns, including the week-based year of YYY
    assert format_date(dt.date(1970, 9, 10), "full") == "Thursday, September 10, 1970"
    assert format_date(dt.date(1970, 9, 10), "short") == "9/10/70"
    assert format_date(dt.date(2019, 12, 30), "d MMM YYY") == "30 Dec 2020"
    assert format_date(dt.date(2019, 12, 30), "dd.MM.YY") == "30.12.20"
    assert load_dates_dataset(50)[0] == load_dates_dataset(50)[0]  # seeded: the same data every run


def test_nmt_dates_quick_run(tmp_path):
    pytest.importorskip("matplotlib")
    results = nmt_dates.run(epochs=2, m_train=2000, m_test=200, out=tmp_path)
    assert [p.name for p in results["plots"]] == ["attention_map.png", "loss.png"]
    assert all(p.stat().st_size > 10000 for p in results["plots"])
    assert results["human_vocab"] == 37 and results["machine_vocab"] == 11
    assert results["parameters"] == 53472 and results["keras_parameters"] == nmt_dates.COURSE["parameters"]
    assert 14 < results["losses"][1] < 25  # the course's run shows 16.6 after its first epoch (on 10,000 dates)
    assert results["losses"][2] < results["losses"][1]
    assert results["attention"].shape == (10, 30)
    np.testing.assert_allclose(results["attention"].sum(axis=1), 1, rtol=1e-5)
    assert all(len(v) == 10 for v in results["examples"].values())
    # the scorer starts above zero (bias 1), so no output step's attention is stuck at uniform
    assert results["uniform_attention"].shape == (10,) and results["uniform_attention"].max() == 0


def test_nmt_dates_with_the_courses_zero_scorer_bias_attention_dies():
    """The failure the scorer's bias prevents: with Keras' zero bias the relu scorer of most output steps falls
    below zero at every position within two epochs, and their attention is uniform on every date from then on."""
    results = nmt_dates.run(epochs=2, m_train=2000, m_test=200, scorer_bias=0.0)
    assert np.sum(results["uniform_attention"] == 1.0) >= 5


# ----------------------------------------------------------------------------------- emojify


def test_emojify_quick_run_and_the_index_pattern():
    _course_data()
    results = emojify.run(v1_epochs=20, v2_epochs=3)
    assert results["train_size"] == 132 and results["test_size"] == 56
    expected = (np.array(emojify.COURSE["sentences_to_indices"]["indices"]) > 0).astype(int)
    np.testing.assert_array_equal(results["example_indices"] > 0, expected)
    assert results["v1"]["train"] > 0.6  # learned embeddings fit the training sentences quickly
    assert results["v1"]["costs"][0] < 2.5
    assert results["v2"]["without_embedding"] == 223877 + results["v2"]["bias_hh"] == 223877 + 1024
    assert results["v1"]["confusion"].sum() == 56 and list(results["v1"]["confusion"].sum(axis=1)) == [12, 5, 18, 15, 6]


def test_emojify_glove_path_with_a_small_vector_file(tmp_path):
    """The GloVe path: read_glove_vecs numbers the sorted words from 1, and the frozen embedding trains V1."""
    _course_data()
    from tinygrad_dl.data import load_emoji_dataset
    X_train, _, X_test, _ = load_emoji_dataset()
    words = sorted({w for s in list(X_train) + list(X_test) for w in s.lower().split()})
    rng = np.random.default_rng(0)
    path = tmp_path / "glove.txt"
    path.write_text("".join(f"{w} " + " ".join(f"{v:.5f}" for v in rng.standard_normal(50)) + "\n" for w in words))
    words_to_index, index_to_words, vectors = read_glove_vecs(path)
    assert words_to_index[words[0]] == 1 and index_to_words[len(words)] == words[-1]
    indices = sentences_to_indices(np.array(["food is life"]), words_to_index, 5)
    assert indices[0, 3] == 0 and indices[0, 0] == words_to_index["food"]
    results = emojify.run(v1_epochs=5, v2_epochs=1, glove=path)
    assert results["embeddings"].startswith("GloVe") and results["v2"]["trainable"] == 223877 + 1024


# ----------------------------------------------------------------------------------- transformer


def test_transformer_notebook_values_and_shapes():
    results = transformer.run(epochs=0)
    for key, difference in results["differences"].items():
        assert difference < 1e-7, key  # the notebook's float32 values, printed with 8 digits
    shapes = results["shapes"]
    assert shapes["encoder_layer"] == (1, 3, 4) and shapes["encoder"] == (2, 3, 4)
    assert shapes["transformer"] == transformer.COURSE["transformer_shape"]
    np.testing.assert_allclose(shapes["transformer_row_sums"], 1, rtol=1e-5)
    assert shapes["encoder_layer_row_mean"] < 1e-5  # post-norm: each output row is layer-normalised


def test_transformer_on_dates_quick():
    results = transformer.compare_on_dates(epochs=1, m_train=600, m_test=50)
    for name in ("transformer", "attention_lstm"):
        assert 0 <= results[name]["test_accuracy"] <= 1 and results[name]["seconds"] > 0
    assert results["transformer"]["losses"][1] < 25
