"""Course 5 week 3's trigger-word data: the raw recordings, the course's clip synthesis, spectrograms, labels.

    from tinygrad_dl.data import load_trigger_word_audio, create_training_example, synthesize_clips

    audio = load_trigger_word_audio()                   # 10 "activate", 10 negatives, 2 backgrounds (44.1 kHz)
    X, Y, clips = synthesize_clips(32, audio, seed=0)   # X (32, 101, 5511) spectrograms, Y (32, 1375) labels

The course builds its clips with pydub and ``plt.specgram``; this module does the same in NumPy, on int16
sample arrays of shape (frames, channels), with pydub's arithmetic (gains floor and saturate like ``audioop``,
overlays add and saturate, lengths are rounded milliseconds, loudness is pydub's integer RMS in dBFS):

* a 10 s background is lowered by 20 dB; 0-4 "activate" clips (``randint(0, 5)``) and then 0-2 negatives are
  placed at random, non-overlapping positions of the 10,000 ms clip (each tries 6 positions at most and is
  left out if none is free, as in the 2021 notebook); the labels y (1, 1375) are 1 on the 50 output steps
  strictly after each "activate" ends; the clip is normalised to -20 dBFS;
* the spectrogram of channel 0 is ``plt.specgram(x, NFFT=200, Fs=8000, noverlap=120)``'s power spectral
  density (Hann window, one-sided, scaled by frequency): 101 frequencies x 5511 steps for 441,000 samples.

Random draws come from a ``np.random.RandomState`` (or an int seed for one) in the course's order, so
``np.random.seed(5)`` in the notebook and ``RandomState(5)`` here place a clip at the same time.
Only NumPy and the standard library's ``wave`` are needed.
"""
from __future__ import annotations

import wave
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .course import _data_file, course_data_dir

__all__ = ["RATE", "CLIP_MS", "TX", "TY", "N_FREQ", "read_wav", "write_wav", "duration_ms", "apply_gain",
           "loudness_dbfs", "match_target_amplitude", "overlay", "spectrogram", "TriggerWordAudio",
           "load_trigger_word_audio", "load_trigger_word_dev_audio", "load_trigger_word_labels",
           "get_random_time_segment", "is_overlapping", "insert_audio_clip", "insert_ones",
           "create_training_example", "synthesize_clips"]

RATE = 44100          # samples per second of every course recording
CLIP_MS = 10_000      # a training clip lasts 10 s
TX = 5511             # spectrogram steps of a 10 s clip (NFFT 200, step 80 samples)
N_FREQ = 101          # frequencies of the spectrogram (NFFT / 2 + 1)
TY = 1375             # output steps of the course's model
LABEL_STEPS = 50      # output steps labelled 1 after each "activate"
_INT16 = np.iinfo(np.int16)


# --------------------------------------------------------------------------- reading and writing


def read_wav(path):
    """A 16-bit PCM WAV file as (rate, samples): samples is int16 of shape (frames, channels)."""
    with wave.open(str(path), "rb") as file:
        if file.getsampwidth() != 2:
            raise ValueError(f"read_wav: {path} has {8 * file.getsampwidth()}-bit samples; only 16-bit PCM is read")
        channels, rate = file.getnchannels(), file.getframerate()
        data = np.frombuffer(file.readframes(file.getnframes()), dtype="<i2")
    return rate, data.reshape(-1, channels).astype(np.int16)


def write_wav(path, samples, rate=RATE):
    """Write int16 samples of shape (frames,) or (frames, channels) as a 16-bit PCM WAV file; returns the path."""
    samples = _as_int16(samples, "write_wav")
    with wave.open(str(path), "wb") as file:
        file.setnchannels(samples.shape[1])
        file.setsampwidth(2)
        file.setframerate(int(rate))
        file.writeframes(samples.astype("<i2").tobytes())
    return Path(path)


def _as_int16(samples, op):
    samples = np.asarray(samples)
    if samples.dtype != np.int16:
        raise TypeError(f"{op}: expected int16 samples (16-bit PCM), got dtype {samples.dtype}")
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.ndim != 2 or samples.shape[0] == 0:
        raise ValueError(f"{op}: expected samples of shape (frames,) or (frames, channels), got {samples.shape}")
    return samples


# --------------------------------------------------------------------------- pydub's arithmetic


def duration_ms(samples, rate=RATE):
    """pydub's ``len(segment)``: the duration in whole milliseconds (rounded)."""
    return round(1000 * len(samples) / rate)


def _saturate(values):
    return np.clip(values, _INT16.min, _INT16.max).astype(np.int16)


def apply_gain(samples, gain_db):
    """pydub's ``apply_gain`` (``segment + gain_db``): multiply by 10^(gain/20), floor, saturate to int16."""
    samples = _as_int16(samples, "apply_gain")
    return _saturate(np.floor(samples * 10.0 ** (gain_db / 20.0)))


def loudness_dbfs(samples):
    """pydub's ``dBFS``: 20 log10(rms / 32768) with the integer RMS of all samples (-inf for silence)."""
    samples = _as_int16(samples, "loudness_dbfs").astype(np.float64)
    rms = np.floor(np.sqrt(np.mean(samples * samples)))
    return -np.inf if rms == 0 else 20.0 * np.log10(rms / 32768.0)


def match_target_amplitude(samples, target_dbfs):
    """The course's ``match_target_amplitude``: gain the clip to ``target_dbfs`` (silence stays silent)."""
    loudness = loudness_dbfs(samples)
    return _as_int16(samples, "match_target_amplitude") if np.isinf(loudness) else \
        apply_gain(samples, target_dbfs - loudness)


def overlay(background, clip, position_ms):
    """pydub's ``background.overlay(clip, position=position_ms)``: add the clip's samples from that time on,
    saturating to int16. A mono clip on a stereo background is heard on both channels; the result keeps the
    background's length (a clip running past its end is cut)."""
    background, clip = _as_int16(background, "overlay"), _as_int16(clip, "overlay")
    if clip.shape[1] != background.shape[1]:
        if clip.shape[1] != 1:
            raise ValueError(f"overlay: cannot mix a clip with {clip.shape[1]} channels into a background with "
                             f"{background.shape[1]}")
        clip = np.repeat(clip, background.shape[1], axis=1)
    start = int(position_ms * RATE / 1000)  # pydub's frame_count(ms=position)
    if not 0 <= start < len(background):
        raise ValueError(f"overlay: position {position_ms} ms is outside the background of {duration_ms(background)} "
                         "ms")
    end = min(len(background), start + len(clip))
    mixed = background.copy()
    mixed[start:end] = _saturate(background[start:end].astype(np.int32) + clip[:end - start])
    return mixed


# --------------------------------------------------------------------------- the spectrogram


def spectrogram(samples, nfft=200, fs=8000, noverlap=120):
    """The course's ``graph_spectrogram``: ``plt.specgram(channel 0, NFFT=nfft, Fs=fs, noverlap=noverlap)``.

    Windows of ``nfft`` samples every ``nfft - noverlap``, a Hann window (``np.hanning``), the one-sided power
    spectral density scaled by frequency (doubled except at 0 and Nyquist, divided by fs and by the window's
    energy). Returns float64 (nfft // 2 + 1, windows): (101, 5511) for a 10 s clip at 44.1 kHz (the course passes
    fs=8000 although the audio is at 44.1 kHz; fs only scales the values).
    """
    samples = np.asarray(samples)
    signal = samples[:, 0] if samples.ndim == 2 else samples
    if signal.ndim != 1 or len(signal) < nfft:
        raise ValueError(f"spectrogram: expected samples of shape (frames,) or (frames, channels) with at least "
                         f"nfft={nfft} frames, got {samples.shape}")
    if not 0 <= noverlap < nfft:
        raise ValueError(f"spectrogram: noverlap must be in [0, nfft={nfft}), got {noverlap}")
    window = np.hanning(nfft)
    frames = sliding_window_view(signal.astype(np.float64), nfft)[::nfft - noverlap]
    spectrum = np.fft.rfft(frames * window, axis=1)
    power = spectrum.real ** 2 + spectrum.imag ** 2
    power[:, 1:(-1 if nfft % 2 == 0 else None)] *= 2.0  # one-sided: the negative frequencies' share
    power /= fs * np.sum(window ** 2)
    return power.T


# --------------------------------------------------------------------------- the course's files


class TriggerWordAudio(NamedTuple):
    """The raw recordings, int16 (frames, channels) at 44.1 kHz, each list sorted by file name."""
    activates: list
    negatives: list
    backgrounds: list
    names: dict  # {"activates": [file names], "negatives": [...], "backgrounds": [...]}


def _read_folder(folder):
    files = sorted(folder.glob("*.wav"))
    if not files:
        raise FileNotFoundError(f"no .wav file in {folder}: put the course's trigger_word/raw_data in the course data "
                                "folder")
    clips = []
    for file in files:
        rate, samples = read_wav(file)
        if rate != RATE:
            raise ValueError(f"{file}: sample rate {rate} Hz, expected the course's {RATE} Hz")
        clips.append(samples)
    return clips, [file.name for file in files]


def load_trigger_word_audio(data_dir=None):
    """The course's ``load_raw_audio``: ``trigger_word/raw_data/{activates,negatives,backgrounds}/*.wav``.

    The course lists the folders with ``os.listdir`` (an order that depends on the file system); here they are
    sorted by name, so a seed gives the same clips everywhere.
    """
    root = course_data_dir(data_dir) / "trigger_word" / "raw_data"
    loaded = {kind: _read_folder(root / kind) for kind in ("activates", "negatives", "backgrounds")}
    return TriggerWordAudio(*(loaded[kind][0] for kind in ("activates", "negatives", "backgrounds")),
                            names={kind: names for kind, (_, names) in loaded.items()})


def load_trigger_word_dev_audio(data_dir=None):
    """The two recorded 10 s dev clips ``raw_data/dev/{1,2}.wav`` (unlabelled): {file name: int16 samples}."""
    clips, names = _read_folder(course_data_dir(data_dir) / "trigger_word" / "raw_data" / "dev")
    return dict(zip(names, clips))


def load_trigger_word_labels(split="train", data_dir=None):
    """The shipped labels of the course's pre-made sets: ``XY_train/Y.npy`` (26, 1375, 1) or ``XY_dev/Y_dev.npy``
    (25, 1375, 1). Their spectrograms (``X.npy``, ``X_dev.npy``) are not shipped, so they cannot be evaluated."""
    files = {"train": ("XY_train", "Y.npy"), "dev": ("XY_dev", "Y_dev.npy")}
    if split not in files:
        raise ValueError(f"load_trigger_word_labels: split must be 'train' or 'dev', got {split!r}")
    return np.load(_data_file(data_dir, "trigger_word", *files[split]))


# --------------------------------------------------------------------------- the course's synthesis


def _random_state(rng):
    if isinstance(rng, np.random.RandomState):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.RandomState(rng)
    raise TypeError(f"expected a np.random.RandomState or an int seed (the course's global NumPy generator), got "
                    f"{type(rng).__name__}")


def get_random_time_segment(segment_ms, rng=None):
    """A random (start, end) in ms of a ``segment_ms`` clip inside the 10,000 ms clip (end = start + ms - 1)."""
    if not 0 < segment_ms < CLIP_MS:
        raise ValueError(f"get_random_time_segment: a segment of {segment_ms} ms does not fit in {CLIP_MS} ms")
    start = int(_random_state(rng).randint(low=0, high=CLIP_MS - segment_ms))
    return start, start + segment_ms - 1


def is_overlapping(segment_time, previous_segments):
    """Whether (start, end) overlaps any of the previous (start, end) segments (ends included)."""
    start, end = segment_time
    return any(start <= previous_end and end >= previous_start for previous_start, previous_end in previous_segments)


def insert_audio_clip(background, audio_clip, previous_segments, rng=None, retries=5):
    """The course's ``insert_audio_clip``: overlay the clip at a random time that overlaps no previous segment.

    Tries ``1 + retries`` random times (the 2021 notebook's limit; the older one looped for ever); the segment
    found is appended to ``previous_segments``. When none is free the background comes back unchanged with the
    segment (10000, 10000). Returns (new background, (start_ms, end_ms)).
    """
    rng = _random_state(rng)
    segment_ms = duration_ms(audio_clip)
    segment_time = get_random_time_segment(segment_ms, rng)
    while is_overlapping(segment_time, previous_segments) and retries > 0:
        segment_time = get_random_time_segment(segment_ms, rng)
        retries -= 1
    if is_overlapping(segment_time, previous_segments):
        return background, (CLIP_MS, CLIP_MS)
    previous_segments.append(segment_time)
    return overlay(background, audio_clip, segment_time[0]), segment_time


def insert_ones(y, segment_end_ms):
    """The course's ``insert_ones``: set the labels of the 50 output steps strictly after ``segment_end_ms`` to 1
    (y has shape (1, Ty); the steps past the end are dropped). Changes y in place and returns it."""
    steps = y.shape[-1]
    end_step = int(segment_end_ms * steps / float(CLIP_MS))
    y[..., end_step + 1:end_step + 1 + LABEL_STEPS] = 1
    return y


def create_training_example(background, activates, negatives, rng=None, Ty=TY):
    """The course's ``create_training_example``: one synthesised clip.

    Returns (x, y, clip, segments): x the (101, 5511) spectrogram, y the (1, Ty) labels, clip the int16 audio
    and segments a list of ("activate" | "negative", index, (start_ms, end_ms)) for what was inserted.
    """
    rng = _random_state(rng)
    background = apply_gain(background, -20)
    y = np.zeros((1, Ty))
    previous, segments = [], []
    for kind, clips, most in (("activate", activates, 4), ("negative", negatives, 2)):
        count = rng.randint(0, most + 1)
        for index in rng.randint(len(clips), size=count):
            background, segment = insert_audio_clip(background, clips[index], previous, rng)
            if segment == (CLIP_MS, CLIP_MS):
                continue  # no room left for it
            segments.append((kind, int(index), segment))
            if kind == "activate":
                insert_ones(y, segment[1])
    clip = match_target_amplitude(background, -20.0)
    return spectrogram(clip), y, clip, segments


def synthesize_clips(m, audio, seed=0, dtype=np.float32):
    """``m`` training examples the course's way: clip i on background i % 2 (as the 2021 notebook does), all
    drawn from ``RandomState(seed)``. Returns (X (m, 101, 5511), Y (m, Ty), segments of every clip)."""
    rng = _random_state(seed)
    X = np.empty((m, N_FREQ, TX), dtype=dtype)
    Y = np.empty((m, TY), dtype=dtype)
    segments = []
    for i in range(m):
        x, y, _, inserted = create_training_example(audio.backgrounds[i % len(audio.backgrounds)], audio.activates,
                                                    audio.negatives, rng)
        X[i], Y[i] = x, y[0]
        segments.append(inserted)
    return X, Y, segments
