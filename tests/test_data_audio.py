"""tinygrad_dl.data.audio: the course's trigger-word synthesis (pydub's arithmetic), spectrogram and labels."""
import wave

import numpy as np
import pytest

from tinygrad_dl.data import (CLIP_MS, TX, TY, apply_gain, course_data_dir, create_training_example, duration_ms,
                              get_random_time_segment, insert_audio_clip, insert_ones, is_overlapping,
                              load_trigger_word_audio, load_trigger_word_dev_audio, load_trigger_word_labels,
                              loudness_dbfs, match_target_amplitude, overlay, read_wav, spectrogram, synthesize_clips,
                              write_wav)


@pytest.fixture(scope="module")
def audio():
    try:
        course_data_dir()
    except FileNotFoundError as exc:
        pytest.skip(f"course data folder not found: {exc}")
    return load_trigger_word_audio()


def _noise(frames, channels=2, seed=0, scale=3000):
    return (np.random.default_rng(seed).standard_normal((frames, channels)) * scale).astype(np.int16)


# ----------------------------------------------------------------------------------- the spectrogram


def test_spectrogram_is_matplotlibs_specgram_and_scipys_psd():
    mlab = pytest.importorskip("matplotlib.mlab")
    signal = pytest.importorskip("scipy.signal")
    samples = _noise(441000)
    ours = spectrogram(samples)
    assert ours.shape == (101, TX) == (101, 5511)
    pxx, freqs, _ = mlab.specgram(samples[:, 0], NFFT=200, Fs=8000, noverlap=120)  # what plt.specgram returns
    np.testing.assert_allclose(ours, pxx, rtol=1e-10, atol=0)
    _, _, psd = signal.spectrogram(samples[:, 0].astype(np.float64), fs=8000, window=np.hanning(200), nperseg=200,
                                   noverlap=120, detrend=False, scaling="density", mode="psd")
    np.testing.assert_allclose(ours, psd, rtol=1e-10, atol=0)
    np.testing.assert_array_equal(spectrogram(samples[:, 0]), ours)  # mono: the one channel; stereo: channel 0
    odd = spectrogram(samples[:1000, 0], nfft=101, fs=44100, noverlap=50)  # odd NFFT: no Nyquist bin to spare
    pxx, _, _ = mlab.specgram(samples[:1000, 0], NFFT=101, Fs=44100, noverlap=50)
    np.testing.assert_allclose(odd, pxx, rtol=1e-10)


def test_spectrogram_rejects_bad_input():
    with pytest.raises(ValueError, match=r"spectrogram: .* at least nfft=200 frames, got \(100, 2\)"):
        spectrogram(np.zeros((100, 2), np.int16))
    with pytest.raises(ValueError, match=r"noverlap must be in \[0, nfft=200\), got 200"):
        spectrogram(np.zeros(1000, np.int16), noverlap=200)


# ----------------------------------------------------------------------------------- pydub's arithmetic


def test_gain_floors_and_saturates_like_audioop():
    x = np.array([[1000, -1000], [32767, -32768], [7, -7]], np.int16)
    np.testing.assert_array_equal(apply_gain(x, -20), [[100, -100], [3276, -3277], [0, -1]])  # * 0.1, floored
    np.testing.assert_array_equal(apply_gain(x, 20)[:2], [[10000, -10000], [32767, -32768]])  # saturated
    assert apply_gain(x, 0).dtype == np.int16
    with pytest.raises(TypeError, match="apply_gain: expected int16 samples .16-bit PCM., got dtype float64"):
        apply_gain(x.astype(np.float64), 3)


def test_loudness_is_pydubs_integer_rms_in_dbfs_and_matching_reaches_the_target():
    constant = np.full((1000, 2), 3277, np.int16)
    assert loudness_dbfs(constant) == pytest.approx(20 * np.log10(3277 / 32768))
    rms_not_integer = np.array([[3], [4]], np.int16)  # rms sqrt(12.5) = 3.54 -> pydub's audioop.rms gives 3
    assert loudness_dbfs(rms_not_integer) == pytest.approx(20 * np.log10(3 / 32768))
    assert loudness_dbfs(np.zeros((10, 2), np.int16)) == -np.inf
    quiet = _noise(44100, scale=100)
    # within the integer RMS's rounding (rms ~ 100 here: up to 20 log10(100/99) = 0.09 dB)
    assert loudness_dbfs(match_target_amplitude(quiet, -20.0)) == pytest.approx(-20.0, abs=0.1)
    np.testing.assert_array_equal(match_target_amplitude(np.zeros((10, 2), np.int16), -20), 0)  # silence stays


def test_overlay_adds_saturates_and_cuts_like_pydub():
    background = np.full((44100, 2), 100, np.int16)
    clip = np.array([[1000], [32767], [-5]], np.int16)  # mono: heard on both channels
    mixed = overlay(background, clip, 10)  # 10 ms = frame 441
    np.testing.assert_array_equal(mixed[441:444], [[1100, 1100], [32767, 32767], [95, 95]])
    assert np.all(mixed[:441] == 100) and np.all(mixed[444:] == 100) and np.all(background == 100)
    end = overlay(background, _noise(1000), 999.99)  # runs past the end: cut, length kept
    assert end.shape == background.shape
    with pytest.raises(ValueError, match="overlay: position 1000 ms is outside the background of 1000 ms"):
        overlay(background, clip, 1000)
    with pytest.raises(ValueError, match="overlay: cannot mix a clip with 2 channels into a background with 1"):
        overlay(background[:, :1], _noise(10), 0)


def test_wav_round_trip_and_errors(tmp_path):
    samples = _noise(500, channels=2)
    rate, back = read_wav(write_wav(tmp_path / "x.wav", samples, 8000))
    assert rate == 8000 and back.dtype == np.int16
    np.testing.assert_array_equal(back, samples)
    rate, mono = read_wav(write_wav(tmp_path / "m.wav", samples[:, 0]))
    assert rate == 44100 and mono.shape == (500, 1)
    with wave.open(str(tmp_path / "8bit.wav"), "wb") as file:
        file.setnchannels(1), file.setsampwidth(1), file.setframerate(8000), file.writeframes(b"\x80" * 10)
    with pytest.raises(ValueError, match="8bit.wav has 8-bit samples; only 16-bit PCM is read"):
        read_wav(tmp_path / "8bit.wav")


# ----------------------------------------------------------------------------------- the course's synthesis


def test_the_courses_overlap_and_label_checks():
    assert is_overlapping((950, 1430), [(2000, 2550), (260, 949)]) is False  # the notebook's two checks
    assert is_overlapping((2305, 2950), [(824, 1532), (1900, 2305), (3424, 3656)]) is True
    assert is_overlapping((900, 2500), [(2000, 2550), (260, 949)]) is True  # the grader's two
    assert is_overlapping((2306, 2307), [(824, 1532), (1900, 2305), (3424, 3656)]) is False
    arr1 = insert_ones(np.zeros((1, TY)), 9700)
    insert_ones(arr1, 4251)
    assert (arr1[0][1333], arr1[0][634], arr1[0][635]) == (0.0, 1.0, 0.0)  # "sanity checks: 0.0 1.0 0.0"
    assert arr1.sum() == 50 + (TY - 1334)  # 585..634, and 1334..1374 cut at the end
    for end_step in (0, 700, 1324):  # the 2021 notebook's insert_ones_test
        y = insert_ones(np.zeros((1, TY)), end_step * 10000.4 / TY)
        assert y.sum() == 50 and y[0, end_step] == 0 and y[0, end_step + 1] == 1 and y[0, end_step + 50] == 1


def test_random_segments_follow_the_courses_generator(audio):
    index = audio.names["activates"].index("3_act2.wav")  # 916 ms: the notebook's activates[0]
    clip = audio.activates[index]
    assert duration_ms(clip) == 916
    assert get_random_time_segment(916, np.random.RandomState(5)) == (2915, 3830)  # np.random.seed(5) first draw
    previous = [(3790, 4400)]
    mixed, segment = insert_audio_clip(audio.backgrounds[0], clip, previous, np.random.RandomState(5))
    assert segment == (2254, 3169) and previous == [(3790, 4400), (2254, 3169)]  # "Segment Time: (2254, 3169)"
    start = int(2254 * 44.1)
    added = mixed.astype(np.int32) - audio.backgrounds[0]
    np.testing.assert_array_equal(added[start:start + len(clip)], np.repeat(clip, 2, axis=1))  # mono on 2 channels
    assert not added[:start].any() and not added[start + len(clip):].any()
    unchanged, segment = insert_audio_clip(audio.backgrounds[0], clip, [(0, 9999)], np.random.RandomState(5))
    assert segment == (10000, 10000) and unchanged is audio.backgrounds[0]  # no room: the 2021 notebook's answer
    with pytest.raises(ValueError, match="a segment of 10000 ms does not fit in 10000 ms"):
        get_random_time_segment(CLIP_MS)
    with pytest.raises(TypeError, match="expected a np.random.RandomState or an int seed"):
        get_random_time_segment(916, np.random.default_rng(5))


def test_the_shipped_recordings_and_labels(audio):
    assert [len(audio.activates), len(audio.negatives), len(audio.backgrounds)] == [10, 10, 2]
    assert [duration_ms(c) for c in audio.activates] == [721, 731, 1741, 909, 725, 1579, 668, 916, 2392, 655]
    assert all(b.shape == (441000, 2) for b in audio.backgrounds)
    dev = load_trigger_word_dev_audio()
    assert list(dev) == ["1.wav", "2.wav"] and all(d.shape == (441000, 2) for d in dev.values())
    Y, Y_dev = load_trigger_word_labels("train"), load_trigger_word_labels("dev")
    assert Y.shape == (26, TY, 1) and Y.sum() == 1256 and Y_dev.shape == (25, TY, 1) and Y_dev.sum() == 2362
    with pytest.raises(ValueError, match="split must be 'train' or 'dev', got 'test'"):
        load_trigger_word_labels("test")


def test_a_training_example_is_labelled_where_its_activates_end(audio):
    x, y, clip, segments = create_training_example(audio.backgrounds[1], audio.activates, audio.negatives, 3)
    assert x.shape == (101, TX) and y.shape == (1, TY) and clip.shape == (441000, 2)
    np.testing.assert_array_equal(x, spectrogram(clip))
    assert loudness_dbfs(clip) == pytest.approx(-20.0, abs=1.0)
    expected = np.zeros((1, TY))
    for kind, index, (start, end) in segments:
        assert end - start + 1 == duration_ms((audio.activates if kind == "activate" else audio.negatives)[index])
        if kind == "activate":
            insert_ones(expected, end)
    np.testing.assert_array_equal(y, expected)
    times = [segment for _, _, segment in segments]
    assert not any(is_overlapping(t, times[:i] + times[i + 1:]) for i, t in enumerate(times))
    again = create_training_example(audio.backgrounds[1], audio.activates, audio.negatives, np.random.RandomState(3))
    np.testing.assert_array_equal(again[2], clip)  # an int seed is RandomState(seed)


def test_synthesized_clips_have_the_courses_counts(audio):
    X, Y, segments = synthesize_clips(40, audio, seed=1)
    assert X.shape == (40, 101, TX) and X.dtype == np.float32 and Y.shape == (40, TY)
    activates = [sum(kind == "activate" for kind, _, _ in s) for s in segments]
    negatives = [sum(kind == "negative" for kind, _, _ in s) for s in segments]
    assert max(activates) <= 4 and max(negatives) <= 2 and min(activates) == 0 and max(activates) >= 3
    assert 0.05 < Y.mean() < 0.10  # the course: an all-zeros guess is "slightly over 90 %" right
    np.testing.assert_array_equal(synthesize_clips(3, audio, seed=1)[0], X[:3])
