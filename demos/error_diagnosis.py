"""Course 3: the diagnosis workflow, first on the course's own case studies, then on real data.

Part 1 runs the two case-study quizzes through ``tinygrad_dl.strategy``: the Peacetopia model choice
(optimizing accuracy, satisficing runtime and memory), the split of 100,000 front-camera and 900,000
internet images, the autonomous-driving error table (human 0.5 %, train 8.8 %, train-dev 9.1 %, dev
14.3 %, test 14.8 %) with the course's advice, and the error-analysis ceilings of its 143 dev mistakes.

Part 2 does the same on real handwriting with a deliberately mismatched dev set. The data you care about
are digits seen by a cheap camera (``camera_style``: off-centre, grey, noisy); 600 of them exist, against
1,197 clean "internet" digits. Dev and test are camera digits only, the rest trains, a train-dev set is
carved from the training mix. A network trained on that mix reads clean digits well and camera digits
badly: the table shows a large data mismatch. The course's advice (error analysis, then make the
training data more like the dev data by artificial data synthesis) is followed: camera-style copies of
the internet digits are added to the training set and the network is trained again. Human-level error on
these digits was not measured; the demo assumes 1 % (``--human``).

    python -m demos.error_diagnosis [--quick] [--epochs 40] [--human 1.0] [--no-curve]
"""
import numpy as np

from tinygrad_dl import Tensor, nn, no_grad, optim, strategy
from tinygrad_dl.data import camera_style, load_camera_digits

from . import common

NAME = "error_diagnosis"
DESCRIPTION = "C3 diagnosis workflow: the quizzes' tables, then camera vs internet digits (data mismatch, fixed)"
HUMAN_ERROR = 1.0  # %, assumed (no human labels for these images)
SIZES = dict(dev=250, test=250, train_dev=200)
CURVE_SIZES = (75, 150, 300, 600, 1200, 2294)

# The course's case studies (COURSE.md 3; the week 1 and week 2 quizzes)
PEACETOPIA_MODELS = {"A": {"accuracy": 97, "runtime": 1, "memory": 3},
                     "B": {"accuracy": 99, "runtime": 13, "memory": 9},
                     "C": {"accuracy": 97, "runtime": 3, "memory": 2},
                     "D": {"accuracy": 98, "runtime": 9, "memory": 9}}
DRIVING_ERRORS = dict(human=0.5, train=8.8, train_dev=9.1, dev=14.3, test=14.8)
# 14.3 % of 1,000 dev images are wrong: 143 mistakes, some both foggy and mislabelled (the quiz's shares of
# the dev set, 4.1 + 8.0 + 2.2 + 1.0 %, add up to more than 14.3 %)
DRIVING_TAGS = ([{"foggy"}] * 70 + [{"foggy", "incorrectly labeled"}] * 10 + [{"incorrectly labeled"}] * 31
                + [{"raindrops"}] * 22 + [{"other"}] * 10)


# ------------------------------------------------------------------------------------------ part 1


def course_case_studies():
    """The quizzes' numbers through the toolkit: {name: result object}."""
    return {
        "choice": strategy.choose_model(PEACETOPIA_MODELS, optimize="accuracy",
                                        constraints={"runtime": 10, "memory": 10}),
        "plan": strategy.plan_mismatched_split(100_000, 900_000, 10_000, 10_000, target_name="camera",
                                               other_name="internet"),
        "diagnosis": strategy.diagnose(**DRIVING_ERRORS),
        "error analysis": strategy.ceiling_table(DRIVING_TAGS, error_rate=14.3),
    }


# ------------------------------------------------------------------------------------------ part 2


def classifier(seed=0):
    """64 -> 64 ReLU -> 10 logits, He weights after ``np.random.seed(seed)``."""
    np.random.seed(seed)
    return nn.Sequential(nn.Linear(64, 64, dtype=np.float64, init="he"), nn.ReLU(),
                         nn.Linear(64, 10, dtype=np.float64))


def fit(X, y, epochs=40, seed=0):
    """Train a fresh classifier (Adam, lr 0.003, mini-batches of 64); return its ``predict(X) -> labels``."""
    model = classifier(seed)
    optimizer = optim.Adam(model.parameters(), lr=0.003)
    common.train_random_mini_batches(model, nn.CrossEntropyLoss(), optimizer, X, y, epochs, 64, seed)

    def predict(X_new):
        with no_grad():
            return model(Tensor(X_new)).numpy().argmax(axis=1)
    return predict


def errors_of(predict, split):
    """Error in % on each set of the split."""
    return {name: 100.0 * float(np.mean(predict(X) != y))
            for name, (X, y) in zip(split.indices, split)}


def confusion_tags(y_true, y_pred, picked):
    """The note an analyst writes on each mistake looked at: which digit was read as which."""
    return [f"{t} read as {p}" for t, p in zip(y_true[picked], y_pred[picked])]


def diagnose_step(split, epochs, human, seed=0):
    predict = fit(*split.train, epochs=epochs, seed=seed)
    errors = errors_of(predict, split)
    report = strategy.diagnose(human={"assumed": human}, sizes=split.sizes, **errors)
    X_dev, y_dev = split.dev
    predicted = predict(X_dev)
    picked = strategy.sample_errors(y_dev, predicted, n=100, seed=seed)
    analysis = strategy.ceiling_table(confusion_tags(y_dev, predicted, picked), error_rate=errors["dev"])
    return {"errors": errors, "diagnosis": report, "error analysis": analysis, "sizes": split.sizes}


def synthesize(internet, seed=7):
    """The course's artificial data synthesis: camera-style copies of the internet digits, added to them."""
    X, y = internet
    return np.concatenate([X, camera_style(X, seed=seed)]), np.concatenate([y, y])


def run(epochs=40, human=HUMAN_ERROR, curve=True, curve_sizes=CURVE_SIZES, out=None, quiet=True):
    """Part 1 (the quizzes) and part 2 (camera digits: diagnose, follow the advice, diagnose again)."""
    results = {"course": course_case_studies()}
    data = load_camera_digits(n_camera=600, seed=0)
    results["plan"] = strategy.plan_mismatched_split(len(data["camera"][1]), len(data["internet"][1]),
                                                     SIZES["dev"], SIZES["test"], SIZES["train_dev"],
                                                     target_name="camera", other_name="internet")
    split = strategy.mismatched_split(data["camera"], data["internet"], SIZES["dev"], SIZES["test"],
                                      SIZES["train_dev"], seed=0)
    common.log("step 1: training on internet + a few camera digits ...", quiet)
    results["before"] = diagnose_step(split, epochs, human)
    # same seed: the same camera digits land in dev and test, so the two diagnoses are comparable
    synthesized = strategy.mismatched_split(data["camera"], synthesize(data["internet"]), SIZES["dev"],
                                            SIZES["test"], SIZES["train_dev"], seed=0)
    common.log("step 2: training with camera-style copies of the internet digits ...", quiet)
    results["after"] = diagnose_step(synthesized, epochs, human)
    if curve:
        X_train, y_train = synthesized.train
        sizes = [n for n in curve_sizes if n <= len(y_train)]
        results["curve"] = strategy.learning_curve(lambda X, y: fit(X, y, epochs=epochs), X_train, y_train,
                                                   *synthesized.dev, sizes=sizes)
    if out is not None and curve:
        path = common.output_dir(out) / "learning_curve.png"
        results["plots"] = [results["curve"].plot(path, human=human / 100,
                                                  title="Camera digits: learning curve after data synthesis")]
    return results


# ---------------------------------------------------------------------------------------- reporting


def results_rows(results):
    course, before, after = results["course"], results["before"], results["after"]
    driving, analysis = course["diagnosis"], course["error analysis"]
    rows = [("Peacetopia: model chosen", "D (98 %, 9 s, 9 MB)", course["choice"].best),
            ("camera 100k + internet 900k: training set", "900,000 + 80,000",
             "{1:,.0f} + {0:,.0f}".format(*course["plan"].counts["train"])),
            ("driving quiz: avoidable bias / variance %", "8.3 / 0.3",
             f"{driving.avoidable_bias:.3g} / {driving.variance:.3g}"),
            ("driving quiz: data mismatch / dev-test gap %", "5.2 / 0.5",
             f"{driving.data_mismatch:.3g} / {driving.dev_overfitting:.3g}"),
            ("driving quiz: problems", "avoidable bias, data mismatch", ", ".join(driving.problems)),
            ("driving quiz: foggy share of errors / raindrop ceiling %", "56 / 2.2",
             f"{100 * analysis['foggy'].share:.0f} / {analysis['raindrops'].ceiling:.3g}")]
    for label, step in (("camera digits", before), ("after synthesis", after)):
        e = step["errors"]
        rows.append((f"{label}: train / train-dev / dev / test error %", None,
                     f"{e['train']:.2f} / {e['train_dev']:.2f} / {e['dev']:.2f} / {e['test']:.2f}"))
        rows.append((f"{label}: problems", None, ", ".join(step["diagnosis"].problems) or "none beyond noise"))
    return rows


def report(results):
    """Everything ``main`` prints before the closing table."""
    course, before, after = results["course"], results["before"], results["after"]
    parts = ["PART 1: the course's case studies",
             "\nPeacetopia (week 1 quiz): best accuracy with runtime <= 10 s and memory <= 10 MB",
             str(course["choice"]),
             "\nAutonomous driving (week 2 quiz): 100,000 camera images you care about, 900,000 from the internet",
             str(course["plan"]),
             "\nThe quiz's error table:", str(course["diagnosis"]),
             "\nError analysis of its 143 dev mistakes:", str(course["error analysis"]),
             "\n\nPART 2: camera digits (dev and test from the camera) against internet digits",
             str(results["plan"]),
             "\nStep 1, trained on the mix:", str(before["diagnosis"]),
             "\nError analysis of up to 100 dev mistakes (top 5 confusions):",
             "\n".join(str(before["error analysis"]).splitlines()[:6]),
             "(every dev image is a camera image: off-centre, grey and noisy, unlike most training images)",
             "\nStep 2, after adding camera-style copies of the internet digits (artificial data synthesis):",
             str(after["diagnosis"])]
    if "curve" in results:
        curve = results["curve"]
        parts.append("\nLearning curve after synthesis (training examples: train / dev error %):")
        parts.append("  " + ", ".join(f"{n}: {100 * a:.1f} / {100 * b:.1f}"
                                      for n, a, b in zip(curve.sizes, curve.train_errors, curve.dev_errors)))
    return "\n".join(parts)


def main(argv=None):
    parser = common.make_parser(NAME, DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help="10 epochs and no learning curve (seconds)")
    parser.add_argument("--epochs", type=int, default=40, help="training epochs per network (default 40)")
    parser.add_argument("--human", type=float, default=HUMAN_ERROR, help="assumed human-level error in %% (default 1)")
    parser.add_argument("--no-curve", action="store_true", help="skip the learning curve (6 more trainings)")
    args = parser.parse_args(argv)
    epochs, curve = (10, False) if args.quick else (args.epochs, not args.no_curve)

    def run_and_print():
        results = run(epochs, args.human, curve, out=args.out, quiet=args.quiet)
        print(report(results) + "\n", flush=True)
        return results
    return common.run_and_report(run_and_print, results_rows, "Diagnosis: the course's numbers and ours")


if __name__ == "__main__":
    main()
