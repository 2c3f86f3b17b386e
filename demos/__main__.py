"""The demo index: ``python -m demos`` lists the demos, ``python -m demos tour`` runs a short tour.

    python -m demos                      # one line per demo
    python -m demos tour [--quick]       # flower net, initialization and optimizer comparisons at the
                                         # notebooks' lengths (under a minute; no downloaded file needed)
    python -m demos <name> [options]     # the same as python -m demos.<name> [options]
"""
import argparse
import importlib
import importlib.util
import sys
import time

# name -> one-line description. Each name is a module demos/<name>.py with run() and main().
REGISTRY = {
    "logistic_regression": "C1W2 logistic regression on cat vs non-cat (one sigmoid unit, zero init)",
    "planar_flower": "C1W3 one hidden tanh layer on the planar 'flower' data vs logistic regression",
    "deep_nn_application": "C1W4 deep NN on cat vs non-cat: 2-layer 12288-7-1 and L-layer 12288-20-7-5-1",
    "initialization": "C2W1 zeros vs large random vs He initialization on the circles (2-10-5-1 relu)",
    "regularization": "C2W1 no regularization vs L2 vs dropout on the French football data (2-20-3-1 relu)",
    "gradient_checking": "C2W1 gradcheck catches the course's buggy hand-written backward (4-5-3-1 net)",
    "optimization": "C2W2 mini-batch GD vs momentum vs Adam (+ learning-rate decay) on the moons (2-5-2-1)",
    "softmax_batchnorm": "C2W3 softmax classifier (SIGNS or digits), batch norm vs none, random hyperparameter search",
    "rnn_step_by_step": "C5W1 RNN and LSTM cells forward and backward, the notebook's values through nn.RNNCell/LSTMCell",
    "dinosaurus": "C5W1 character-level RNN on dinosaur names (exact course losses); a small LSTM writing Sonnets",
    "emojify": "C5W2 Emojify V1 (averaged word vectors) and V2 (two LSTMs), learned or GloVe embeddings",
    "nmt_dates": "C5W3 date translation with attention (Bi-LSTM -> attention -> LSTM), trained from scratch",
    "transformer": "C5W4 positional encoding, masks, attention values, the course's Transformer; one trained on dates",
    "trigger_word": "C5W3 trigger word 'activate': the course's clip synthesis and Conv1d-GRU model, trained on a laptop",
    "viz_demo": "pictures of backprop: the graph, a step-through page, vanishing gradients (sigmoid vs ReLU+He)",
    "conv_step_by_step": "C4W1 conv/pool forward and backward test cases through nn.functional and autograd",
    "cnn_signs": "C4W1 the SIGNS ConvNet (cross-validated on the shipped images) and the same net on the digits",
    "happy_house": "C4W2 the Happy House model (37,633 parameters) on a split of the shipped images",
    "resnet": "C4W2 residual blocks, ResNet-50 (23,600,006 parameters, one timed pass), a small ResNet on digits",
    "style_transfer": "C4W4 style-transfer costs and optimisation over pixels through random conv features",
    "error_diagnosis": "C3 diagnosis: the quizzes' error tables and advice, then camera vs internet digits",
    "transfer_learning": "C3W2 transfer learning: digits 0-4 -> 5-9 from 1-50 examples per class, vs from scratch",
    "multitask": "C3W2 multi-task learning: 4 digit properties, 30 % labels unknown, one masked net vs 4 nets",
}


def list_demos(out=None):
    out = out or sys.stdout  # looked up at call time, so redirected output is honoured
    width = max(len(name) for name in REGISTRY)
    print("Course demos (run one with: python -m demos.<name> --help)\n", file=out)
    for name, description in REGISTRY.items():
        print(f"  {name.ljust(width)}  {description}", file=out)
    print(f"\n  {'tour'.ljust(width)}  a short tour that needs no downloaded file: python -m demos tour", file=out)


# --------------------------------------------------------------------------------------------------
# The tour: three runs on generated data (the course's own generators), each ending in a results table.
# It reuses the demos' own run() and results_rows(); by default every run has the notebook's length,
# so "ours" can be read against the course column.


def tour_flower(iterations):
    from . import planar_flower

    baseline = importlib.util.find_spec("sklearn") is not None  # the baseline is optional
    results = planar_flower.run(num_iterations=iterations, baseline=baseline)
    rows = [row for row in planar_flower.results_rows(results) if row[2] is not None]  # costs not reached
    return rows, f"1. Planar flower, 2-4-1 tanh network, lr 1.2, {iterations} iterations (course: 10000)"


def tour_initialization(iterations):
    from . import initialization

    results = initialization.run(num_iterations=iterations)
    return (initialization.results_rows(results),
            f"2. Initialization on the circles, 2-10-5-1 relu, lr 0.01, {iterations} iterations (course: 15000)")


def tour_optimizers(epochs):
    from . import optimization

    results = optimization.run(num_epochs=epochs, decay_runs=())
    return (optimization.results_rows(results),
            f"3. Optimizers on the moons, 2-5-2-1 relu, mini-batches of 64, lr 0.0007, {epochs} epochs "
            f"(course: 10000)")


def tour(quick=False, quiet=False):
    """Run the three sections and print a results table after each; returns {section title: rows}.

    quick=True cuts every run to a few hundred iterations (seconds instead of most of a minute).
    """
    from . import common

    sizes = (500, 1000, 300) if quick else (10000, 15000, 10000)
    sections = {}
    for number, (step, size) in enumerate(zip((tour_flower, tour_initialization, tour_optimizers), sizes), 1):
        common.log(f"running part {number} of 3 ...", quiet)
        start = time.perf_counter()
        rows, title = step(size)
        sections[title] = rows
        common.print_results(rows, f"{title}  [{time.perf_counter() - start:.1f} s]")
        print(flush=True)
    return sections


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in REGISTRY:
        return importlib.import_module(f"{__package__ or 'demos'}.{argv[0]}").main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m demos", description="List the course demos or run a short tour.")
    parser.add_argument("command", nargs="?", choices=("list", "tour"), default="list",
                        help="list (default): one line per demo; tour: runs that need no downloaded file")
    parser.add_argument("--quick", action="store_true", help="tour: runs of a few hundred iterations (seconds)")
    parser.add_argument("--quiet", action="store_true", help="tour: only the results tables")
    args = parser.parse_args(argv)
    if args.command == "tour":
        return tour(quick=args.quick, quiet=args.quiet)
    list_demos()
    return None


if __name__ == "__main__":
    main()
