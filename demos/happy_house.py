"""The Happy House (Course 4, week 2, Keras tutorial; also part 1 of week 1's 2021 application).

The course's reference model for telling smiling faces (1) from the others (0):

    ZeroPad2d(3) -> Conv2d(3, 32, 7x7) -> BatchNorm2d(32) -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(32768, 1)

and a sigmoid (here inside ``BCEWithLogitsLoss``). Keras counts 37,633 parameters, 37,569 trainable: the
64 others are the batch norm's moving mean and variance, which are buffers (``running_mean``,
``running_var``) here, so ``parameters()`` holds 37,569 numbers and ``buffers()`` 64.

The course trains on 600 images (``train_happy.h5``, not distributed) and asks for at least 75 % test
accuracy (its own run: about 95 % after 40 epochs). Only the 150 test images ship with this project, so
the demo splits them, keeping the classes' shares: 100 images to train on, 50 held out, and trains with
Adam (Keras' lr 0.001), binary cross-entropy and mini-batches of 16. Batch norm uses PyTorch's momentum
0.1 rather than Keras' 0.99 (``momentum=0.01`` here): with only 7 batches per epoch the slower average
would still be far from the data's statistics when the model is evaluated.

    python -m demos.happy_house [--epochs 40] [--quick]
"""
import numpy as np

from tinygrad_dl import nn, optim
from tinygrad_dl.data import load_happy_images, stratified_split
from tinygrad_dl.plot import plot_cost_histories

from ._cnn import accuracy, count_parameters, forward_shapes, running_statistics, train_epochs
from .common import make_parser, output_dir, run_and_report

NAME = "happy_house"
COURSE = {"total parameters": 37_633, "trainable parameters": 37_569, "test accuracy (pass mark)": 0.75,
          "test accuracy (course's run, 600 training images)": 0.95}
EPOCHS = 40
QUICK_EPOCHS = 20
BATCH_SIZE = 16
HELD_OUT = 1 / 3  # 50 of the 150 images


def happy_model(seed=0, dtype=np.float32):
    """The course's happyModel (glorot-uniform weights as Keras, drawn after ``np.random.seed(seed)``)."""
    np.random.seed(seed)
    return nn.Sequential(
        nn.ZeroPad2d(3),
        nn.Conv2d(3, 32, 7, dtype=dtype, init="xavier_uniform"),
        nn.BatchNorm2d(32, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 32 * 32, 1, dtype=dtype, init="xavier_uniform"))


def run(num_epochs=EPOCHS, data=None, quiet=True, out=None):
    """Counts and shapes, then training on 100 of the shipped images and the accuracy on the other 50."""
    X, y = load_happy_images(data, "test")
    train, held_out = stratified_split(y, HELD_OUT, seed=0)
    model = happy_model()
    total, trainable = count_parameters(model)
    results = {"total parameters": total, "trainable parameters": trainable,
               "buffers": [(name, b.size) for name, b in running_statistics(model)],
               "shapes": forward_shapes(model, (1, 3, 64, 64)), "train size": len(train), "held-out size": len(held_out)}
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    targets = y[:, None].astype(np.float32)  # one logit per image
    results["costs"] = train_epochs(model, X[train], targets[train], nn.BCEWithLogitsLoss(), optimizer, num_epochs,
                                    BATCH_SIZE, seed=3, label="happy", quiet=quiet, print_every=5)
    results["train accuracy"] = accuracy(model, X[train], y[train])
    results["held-out accuracy"] = accuracy(model, X[held_out], y[held_out])
    if out is not None:
        results["plots"] = [plot_cost_histories({"binary cross-entropy": results["costs"]}, output_dir(out) / "costs.png",
                                                "Happy House: training cost (Adam, batch 16)",
                                                xlabel="epoch")]
    return results


def results_rows(results):
    rows = [("total parameters (Keras: Total params)", COURSE["total parameters"], results["total parameters"]),
            ("trainable parameters", COURSE["trainable parameters"], results["trainable parameters"]),
            ("  running statistics (buffers, not trained)", 64,
             ", ".join(f"{name} {size}" for name, size in results["buffers"]))]
    rows += [(f"shape after {name}", None, str(shape)) for name, shape in results["shapes"]]
    last = max(results["costs"])
    rows += [(f"cost after epoch 0 / {last}", None, f"{results['costs'][0]:.4f} / {results['costs'][last]:.4f}"),
             (f"train accuracy ({results['train size']} of the 150 shipped test images)", None,
              results["train accuracy"]),
             (f"held-out accuracy ({results['held-out size']} images; course: >= 0.75 to pass)",
              COURSE["test accuracy (pass mark)"], results["held-out accuracy"])]
    return rows


def main(argv=None):
    parser = make_parser(NAME, "Course 4 week 2: the Happy House model on a split of the 150 shipped images",
                         needs_data=True)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EPOCHS} epochs")
    args = parser.parse_args(argv)
    epochs = QUICK_EPOCHS if args.quick else args.epochs
    return run_and_report(lambda: run(epochs, args.data, args.quiet, args.out), results_rows,
                          "The Happy House (C4 W2)")


if __name__ == "__main__":
    main()
