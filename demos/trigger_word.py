"""Trigger-word detection, reduced (Course 5, week 3, assignment 2): hear "activate" in a 10 s clip.

The course's data pipeline and model, trained from scratch on a laptop-sized set (the course loads a model
pretrained for ~3 hours on a GPU with ~4,000 clips):

* training and dev clips are synthesised from the shipped raw audio the course's way
  (``tinygrad_dl.data.audio``): a 10 s background lowered by 20 dB, 0-4 "activate" and 0-2 other words at
  random non-overlapping times, labels 1 on the 50 output steps after each "activate" ends, -20 dBFS, and the
  ``plt.specgram`` spectrogram (NFFT 200, Fs 8000, overlap 120): 101 frequencies x 5,511 steps;
* the model: Conv1d(101, 196, 15, stride 4) -> BatchNorm -> ReLU -> Dropout -> GRU(128) -> Dropout ->
  BatchNorm -> GRU(128) -> Dropout -> BatchNorm -> Dropout -> Linear(128, 1) at every one of the 1,375 steps
  -> sigmoid (the sigmoid sits in the loss, ``F.binary_cross_entropy_with_logits``).

Parameters: the course's Keras model has 522,561 (521,657 trainable + 904 moving means and variances of its
three BatchNormalization layers). Ours has 522,425 trainable parameters plus the same 904 running
statistics (buffers, not parameters, as in PyTorch), and PyTorch's GRU keeps two bias vectors per gate
(``bias_ih`` and ``bias_hh``, 2 x 384 = 768 numbers for the two GRUs) where Keras' ``GRU(reset_after=False)``
keeps one: 522,425 + 904 - 768 = 522,561. The two GRUs also apply the reset gate in different places:
PyTorch n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) (after the recurrent matmul), that Keras GRU
n = tanh(W_in x + U_n (r * h) + b_n) (before it).

Where the training run departs from the course (each measured, see the README): the input is the
spectrogram in decibels, (dB + 20) / 20, not the raw power (whose values span 18 orders of magnitude: fed
as is, the model learns to say "no" everywhere); the dropout rate is 0.5, not 0.8 (with 0.8 a few minutes of
training learn nothing useful; ``--dropout 0.8`` runs it); the batch norms keep PyTorch's defaults (momentum
0.1, eps 1e-5; Keras: 0.99 = our 0.01, 1e-3). Adam lr 0.001 as the course's from-scratch ``train.py``, batches
of 16.

What is reported: the loss, and on a dev set of synthesised clips (the course's ``X_dev.npy`` is not shipped)
the per-step accuracy next to the all-zeros baseline (the course: "slightly over 90 %"), the recall and
precision of the label-1 steps, and the course's chimes (an output above 0.5 more than 75 steps after the
last chime): how many "activate"s got one (while the word is said or in the 50 steps after) and how many
chimes fell elsewhere. The two recorded dev clips ``raw_data/dev/{1,2}.wav`` (unlabelled) get their chimes
too, written as WAV files to listen to.

    python -m demos.trigger_word [--clips 256] [--epochs 10] [--dropout 0.5] [--quick]
"""
import time

import numpy as np

import tinygrad_dl.nn.functional as F
from tinygrad_dl import nn, no_grad, optim
from tinygrad_dl.data import (load_trigger_word_audio, load_trigger_word_dev_audio, match_target_amplitude,
                              read_wav, spectrogram, synthesize_clips, write_wav)
from tinygrad_dl.data.audio import LABEL_STEPS, RATE, TY, overlay

from . import common

NAME = "trigger_word"
DESCRIPTION = "Course 5 week 3: trigger-word detection ('activate'), Conv1d -> 2 GRUs, trained on synthesised clips"
COURSE = {"parameters": 522561, "trainable": 521657, "non_trainable": 904, "Tx": 5511, "n_freq": 101, "Ty": 1375,
          "dropout": 0.8, "all_zeros_accuracy": "slightly over 0.90"}
THRESHOLD = 0.5
CHIME_GAP = 75  # output steps that must pass between two chimes (the course's chime_on_activate)
QUICK = (8, 4, 1)  # --quick: training clips, dev clips, epochs
DROPOUT = 0.5  # the course's 0.8 learns nothing in a few minutes (see the README); --dropout 0.8 runs it


class TriggerWordModel(nn.Module):
    """The course's model on (N, 101, 5511) spectrograms; ``forward`` returns the (N, 1375) logits."""

    def __init__(self, n_freq=101, dropout=COURSE["dropout"], generator=None):
        super().__init__()
        self.conv = nn.Conv1d(n_freq, 196, kernel_size=15, stride=4, generator=generator)
        self.bn_conv = nn.BatchNorm1d(196)
        self.gru1 = nn.GRU(196, 128, batch_first=True, generator=generator)
        self.bn1 = nn.BatchNorm1d(128)
        self.gru2 = nn.GRU(128, 128, batch_first=True, generator=generator)
        self.bn2 = nn.BatchNorm1d(128)
        self.dense = nn.Linear(128, 1, generator=generator)  # the same weights at every step (TimeDistributed)
        self.dropout = nn.Dropout(dropout, generator=generator)

    @staticmethod
    def _time_batch_norm(bn, h):
        """Keras' BatchNormalization on (N, T, C) normalises the last axis; BatchNorm1d wants (N, C, T)."""
        return bn(h.swapaxes(1, 2)).swapaxes(1, 2)

    def forward(self, x):
        h = self.dropout(self.bn_conv(self.conv(x)).relu())                 # (N, 196, 1375)
        h, _ = self.gru1(h.swapaxes(1, 2))                                  # (N, 1375, 128)
        h = self._time_batch_norm(self.bn1, self.dropout(h))
        h, _ = self.gru2(h)
        h = self.dropout(self._time_batch_norm(self.bn2, self.dropout(h)))
        return self.dense(h).reshape(h.shape[0], h.shape[1])


def parameter_counts(model):
    """Our counts and the course's Keras counts derived from them (see the module's docstring)."""
    trainable = sum(p.size for p in model.parameters())
    running = sum(b.size for name, b in model.named_buffers() if name.endswith(("running_mean", "running_var")))
    second_biases = sum(p.size for name, p in model.named_parameters() if "bias_hh" in name)
    return {"trainable": trainable, "running_statistics": running, "bias_hh": second_biases,
            "keras_trainable": trainable - second_biases, "keras_total": trainable - second_biases + running}


def decibels(psd):
    """10 log10 of the power (what ``plt.specgram`` draws); -100 dB for silence."""
    return 10.0 * np.log10(psd + 1e-10)


def features(psd):
    """The network's input: the spectrogram in decibels, shifted and scaled to about unit size ((dB + 20) / 20).
    The course feeds the raw power, whose values span 18 orders of magnitude (see the README)."""
    return ((decibels(psd) + 20.0) / 20.0).astype(np.float32)


def features_to_decibels(x):
    """Back from ``features`` to decibels (for the pictures)."""
    return x * 20.0 - 20.0


def make_sets(train_clips, dev_clips, seed=0):
    """Synthesised training and dev clips (different seeds), as (X features, Y labels, inserted segments)."""
    audio = load_trigger_word_audio()
    X, Y, segments = synthesize_clips(train_clips, audio, seed=seed)
    X_dev, Y_dev, dev_segments = synthesize_clips(dev_clips, audio, seed=seed + 10_000)
    return (features(X), Y, segments), (features(X_dev), Y_dev, dev_segments)


def train(model, X, Y, epochs, batch_size=16, lr=0.001, seed=0, quiet=True):
    """Adam (the course's from-scratch ``train.py``: lr 0.001), mean binary cross-entropy; {epoch: loss}."""
    optimizer = optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-7)
    rng = np.random.default_rng(seed)
    losses = {}
    for epoch in range(1, epochs + 1):
        losses[epoch] = common.train_shuffled_epoch(
            optimizer, lambda batch: F.binary_cross_entropy_with_logits(model(X[batch]), Y[batch]), len(X),
            batch_size, rng, f"epoch {epoch}", quiet)
        common.log(f"epoch {epoch}: loss {losses[epoch]:.4f}", quiet)
    return losses


def predict(model, X, batch_size=16):
    """Probabilities (N, 1375) in eval mode (running statistics, no dropout)."""
    model.eval()
    with no_grad():
        logits = np.concatenate([model(X[i:i + batch_size]).data for i in range(0, len(X), batch_size)])
    model.train()
    return np.exp(-np.logaddexp(0.0, -logits.astype(np.float64)))  # sigmoid, without overflow


def chime_steps(probabilities, threshold=THRESHOLD, gap=CHIME_GAP):
    """The course's ``chime_on_activate`` rule on one clip: the output steps where a chime sounds (above the
    threshold and more than ``gap`` steps after the previous chime, counting from the clip's start)."""
    chimes, last = [], -1
    for step in np.flatnonzero(probabilities > threshold):  # only the candidate steps are visited
        if step - last > gap:
            chimes.append(int(step))
            last = step
    return chimes


def activate_spans(segments, steps=TY):
    """For one clip, the output steps from each inserted "activate"'s start to the end of its 50 label steps: a
    chime anywhere in there (while the word is said, or just after) detects it."""
    spans = []
    for kind, _, (start_ms, end_ms) in segments:
        if kind == "activate":
            spans.append((int(start_ms * steps / 10_000), int(end_ms * steps / 10_000) + LABEL_STEPS))
    return spans


def evaluate(probabilities, Y, segments, threshold=THRESHOLD):
    """Per-step accuracy against the all-zeros baseline, recall/precision of the label-1 steps, and the chimes:
    how many "activate"s got one (see ``activate_spans``) and how many chimes fell outside every "activate"."""
    predicted, truth = probabilities > threshold, Y > 0.5
    true_positives = int(np.sum(predicted & truth))
    detected = false_chimes = activates = 0
    for p, clip_segments in zip(probabilities, segments):
        spans, chimes = activate_spans(clip_segments), chime_steps(p, threshold)
        activates += len(spans)
        detected += sum(any(first <= c <= last for c in chimes) for first, last in spans)
        false_chimes += sum(not any(first <= c <= last for first, last in spans) for c in chimes)
    return {"accuracy": float(np.mean(predicted == truth)), "all_zeros_accuracy": float(np.mean(~truth)),
            "recall": true_positives / max(int(truth.sum()), 1),
            "precision": true_positives / max(int(predicted.sum()), 1),
            "activates": activates, "detected": detected, "false_chimes": false_chimes, "clips": len(Y)}


def recorded_dev_clips(model):
    """The two recorded dev clips (no labels are shipped for them), brought to -20 dBFS first as the course's
    ``detect_triggerword`` does: {name: (spectrogram, probabilities, chime steps, samples)}."""
    clips = load_trigger_word_dev_audio()
    spectrograms = [spectrogram(match_target_amplitude(samples, -20.0)) for samples in clips.values()]
    probabilities = predict(model, features(np.stack(spectrograms)))
    return {name: (psd, p, chime_steps(p), samples)
            for (name, samples), psd, p in zip(clips.items(), spectrograms, probabilities)}


def chime_audio(samples, steps, chime):
    """The clip with the chime overlaid at every detection (as the course's ``chime_on_activate``)."""
    for step in steps:
        position_ms = step / TY * 10_000
        samples = overlay(samples, chime, position_ms)
    return samples


def run(train_clips=256, dev_clips=64, epochs=10, dropout=DROPOUT, batch_size=16, lr=0.001, seed=0,
        quiet=True, out=None):
    """Synthesise the sets, train the course's model from scratch, evaluate it; returns the numbers."""
    start = time.perf_counter()
    (X, Y, segments), (X_dev, Y_dev, dev_segments) = make_sets(train_clips, dev_clips, seed)
    synthesis_seconds = time.perf_counter() - start
    model = TriggerWordModel(dropout=dropout, generator=np.random.default_rng(seed))
    start = time.perf_counter()
    losses = train(model, X, Y, epochs, batch_size, lr, seed, quiet)
    seconds = time.perf_counter() - start
    dev_probabilities = predict(model, X_dev)
    recorded = recorded_dev_clips(model)
    results = {"counts": parameter_counts(model), "input_shape": X.shape[1:], "losses": losses, "seconds": seconds,
               "synthesis_seconds": synthesis_seconds, "train_clips": train_clips, "dev_clips": dev_clips,
               "dropout": dropout, "label_fraction": float(Y.mean(dtype=np.float64)),
               "train": evaluate(predict(model, X), Y, segments),
               "dev": evaluate(dev_probabilities, Y_dev, dev_segments),
               "recorded": {name: {"chimes": steps, "highest": float(p[CHIME_GAP:].max())}  # where a chime can sound
                            for name, (_, p, steps, _) in recorded.items()}, "model": model}
    if out is not None:
        shown = int(np.argmax([sum(kind == "activate" for kind, _, _ in s) for s in dev_segments]))  # a busy clip
        dev_clip = (features_to_decibels(X_dev[shown]), dev_probabilities[shown], Y_dev[shown], dev_segments[shown])
        results["plots"] = write_outputs(common.output_dir(out), losses, dev_clip, recorded)
    return results


def write_outputs(folder, losses, dev_clip, recorded):
    """The loss curve, one synthesised dev clip and the two recorded ones: spectrogram, output, chimes."""
    from tinygrad_dl.plot import plot_cost_histories

    paths = [plot_cost_histories({"training loss": losses}, folder / "loss.png",
                                 "Trigger word: training loss (binary cross-entropy)", xlabel="epoch")]
    spectrogram_db, probabilities, labels, segments = dev_clip
    paths.append(plot_detection(folder / "dev_clip.png", spectrogram_db, probabilities, labels, segments,
                                "A synthesised dev clip"))
    chime = load_chime()
    for name, (psd, probabilities, steps, samples) in recorded.items():
        stem = name.removesuffix(".wav")
        paths.append(plot_detection(folder / f"recorded_dev_{stem}.png", decibels(psd), probabilities,
                                    title=f"Recorded dev clip raw_data/dev/{name}"))
        paths.append(write_wav(folder / f"recorded_dev_{stem}_chimes.wav", chime_audio(samples, steps, chime)))
    return paths


def plot_detection(path, spectrogram_db, probabilities, labels=None, segments=(), title=""):
    """Two panels over the 10 s: the spectrogram in dB (as ``plt.specgram`` draws it) with the inserted words,
    and the model's output with the labels, the 0.5 threshold and the chimes."""
    from tinygrad_dl.plot import PALETTE, pyplot, save_figure

    plt = pyplot()

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    steps = spectrogram_db.shape[1] // 4 * 4  # 4 steps a pixel column: the figure is ~1,300 pixels wide anyway
    shown = spectrogram_db[:, :steps].reshape(spectrogram_db.shape[0], -1, 4).mean(axis=2)
    top.imshow(shown, origin="lower", aspect="auto", cmap="magma", extent=(0, 10, 0, RATE / 2000))
    # the true frequencies of the 44.1 kHz audio (the course's fs=8000 only scales the values)
    top.set(ylabel="frequency (kHz)", title=title)
    for kind, _, (start_ms, end_ms) in segments:
        color = PALETTE[2] if kind == "activate" else "#bbbbbb"
        top.axvspan(start_ms / 1000, end_ms / 1000, ymin=0.93, ymax=1.0, color=color)
        top.text((start_ms + end_ms) / 2000, 0.9 * RATE / 2000, kind, ha="center", va="top", fontsize=8,
                 color="white")
    seconds = np.arange(len(probabilities)) * 10 / len(probabilities)
    if labels is not None:
        bottom.fill_between(seconds, 0, labels, step="mid", color=PALETTE[5], alpha=0.35, linewidth=0,
                            label="label (50 steps after 'activate')")
    bottom.plot(seconds, probabilities, color=PALETTE[0], linewidth=1.2, label="model output")
    bottom.axhline(THRESHOLD, color="#888888", linewidth=0.8, linestyle="--")
    for i, step in enumerate(chime_steps(probabilities)):
        bottom.axvline(step * 10 / len(probabilities), color=PALETTE[1], linewidth=1.2,
                       label="chime" if i == 0 else None)
    bottom.set(xlabel="time (s)", ylabel="P(just said 'activate')", ylim=(-0.03, 1.03), xlim=(0, 10))
    bottom.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), fontsize=8, ncol=3, frameon=False)  # below
    for ax in (top, bottom):
        ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, path)


def load_chime():
    """The course's ``audio_examples/chime.wav``."""
    from tinygrad_dl.data import course_data_dir

    return read_wav(course_data_dir() / "trigger_word" / "audio_examples" / "chime.wav")[1]


def results_rows(results):
    counts, dev, train_metrics = results["counts"], results["dev"], results["train"]
    rows = [("input (frequencies, steps)", (COURSE["n_freq"], COURSE["Tx"]), tuple(results["input_shape"])),
            ("parameters (PyTorch layout)", None, counts["trainable"]),
            ("running means/variances of the 3 batch norms (Keras: non-trainable)", COURSE["non_trainable"],
             counts["running_statistics"]),
            ("bias_hh of the 2 GRUs (Keras reset_after=False keeps 1 bias, PyTorch 2)", None, counts["bias_hh"]),
            ("parameters + running statistics - bias_hh (Keras' total)", COURSE["parameters"], counts["keras_total"]),
            ("trainable in Keras' layout", COURSE["trainable"], counts["keras_trainable"]),
            ("training clips / epochs / seconds", None,
             f"{results['train_clips']} / {max(results['losses'])} / {results['seconds']:.0f}"),
            ("loss after the first / last epoch", None,
             f"{results['losses'][1]:.4f} / {results['losses'][max(results['losses'])]:.4f}")]
    for name, metrics in (("train", train_metrics), (f"dev ({results['dev_clips']} synthesised clips)", dev)):
        rows += [(f"{name}: per-step accuracy", None, round(metrics["accuracy"], 4)),
                 (f"{name}: all-zeros accuracy", COURSE["all_zeros_accuracy"], round(metrics["all_zeros_accuracy"], 4)),
                 (f"{name}: recall / precision of label-1 steps", None,
                  f"{metrics['recall']:.3f} / {metrics['precision']:.3f}"),
                 (f"{name}: activates chimed / false chimes", None,
                  f"{metrics['detected']} of {metrics['activates']} / {metrics['false_chimes']}")]
    for name, recorded in results["recorded"].items():
        times = [f"{step / TY * 10:.2f} s" for step in recorded["chimes"]]
        chimes = ", ".join(times) if len(times) <= 4 else f"{len(times)} ({', '.join(times[:3])}, ...)"
        rows.append((f"recorded dev/{name}: chimes / highest output", None,
                     f"{chimes or 'none'} / {recorded['highest']:.3f}"))
    return rows


def main(argv=None):
    parser = common.make_parser(NAME, DESCRIPTION)
    parser.add_argument("--clips", type=int, default=256, help="synthesised training clips (default 256)")
    parser.add_argument("--dev-clips", type=int, default=64, help="synthesised dev clips (default 64)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs (default 10)")
    parser.add_argument("--dropout", type=float, default=DROPOUT,
                        help=f"dropout rate (default {DROPOUT}; the course's is 0.8)")
    parser.add_argument("--quick", action="store_true", help="8 clips, 1 epoch (seconds; learns nothing yet)")
    args = parser.parse_args(argv)
    clips, dev_clips, epochs = QUICK if args.quick else (args.clips, args.dev_clips, args.epochs)
    return common.run_and_report(
        lambda: run(clips, dev_clips, epochs, args.dropout, quiet=args.quiet, out=args.out), results_rows,
        f"Trigger word detection (C5 W3), {clips} synthesised clips, {epochs} epochs")


if __name__ == "__main__":
    main()
