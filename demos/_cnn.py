"""What the Course 4 demos share: mini-batch training of an image classifier, batched prediction, accuracy.

Examples are rows (NCHW image batches); mini-batches come from the course's ``random_mini_batches``
(reseeded with seed + 1 before every epoch, as the course's ``model()`` functions do).
"""
import numpy as np

from tinygrad_dl import Tensor, no_grad, optim

from .common import log, progress


def train_epochs(model, X, y, loss_fn, optimizer, num_epochs, batch_size=64, seed=3, label="train", quiet=True,
                 print_every=None):
    """Train for ``num_epochs``; returns {epoch: cost}, the epoch cost being the mean of the batches' losses
    weighted by their sizes (the cost of the epoch's data)."""
    costs = {}
    for epoch in progress(range(num_epochs), num_epochs, label, quiet):
        seed += 1
        total = 0.0
        for batch_X, batch_y in optim.random_mini_batches(X, y, batch_size, seed, axis=0):
            optimizer.zero_grad()
            loss = loss_fn(model(Tensor(batch_X)), batch_y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch_y)
        costs[epoch] = total / len(y)
        if print_every and (epoch % print_every == 0 or epoch == num_epochs - 1):
            log(f"{label}: cost after epoch {epoch}: {costs[epoch]:f}", quiet)
    return costs


def predict(model, X, batch_size=256):
    """The model's outputs for X in eval mode, batch by batch, without building a graph."""
    was_training = model.training
    model.eval()
    with no_grad():
        outputs = [model(Tensor(X[i:i + batch_size])).numpy() for i in range(0, len(X), batch_size)]
    model.train(was_training)
    return np.concatenate(outputs)


def accuracy(model, X, y):
    """The fraction of examples whose largest output is the label (one logit per class), or, with a single
    output column, whose logit has the label's sign (binary)."""
    outputs = predict(model, X)
    if outputs.shape[1] == 1:
        return float(np.mean((outputs[:, 0] > 0) == (y.reshape(-1) == 1)))
    return float(np.mean(outputs.argmax(axis=1) == y))


def running_statistics(model):
    """The batch norms' running means and variances: the buffers Keras counts as non-trainable parameters
    (``num_batches_tracked``, PyTorch's step counter, has no Keras twin and is not counted)."""
    return [(name, b) for name, b in model.named_buffers() if name.rsplit(".", 1)[-1] in ("running_mean", "running_var")]


def count_parameters(model):
    """(parameters + running statistics, trainable parameters): Keras' "Total params" and "Trainable params"."""
    trainable = sum(p.size for p in model.parameters())
    return trainable + sum(b.size for _, b in running_statistics(model)), trainable


def forward_shapes(model, input_shape):
    """[(layer name, output shape)] of a Sequential model on a zero batch of ``input_shape``."""
    x = Tensor(np.zeros(input_shape, dtype=np.float32))
    shapes = [("input", x.shape)]
    with no_grad():
        for name, layer in model.named_children():
            x = layer(x)
            shapes.append((f"{name}: {type(layer).__name__}", x.shape))
    return shapes
