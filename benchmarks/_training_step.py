"""What the benchmarks share: one training step, written once for both engines.

tinygrad_dl and PyTorch spell a training step alike (zero_grad, forward, loss, backward, step, item), so both
sides of a comparison time the very same lines. This module imports nothing: bench_cnn's PyTorch processes
must never import tinygrad_dl.
"""


def training_step(model, loss_fn, optimizer, inputs, targets):
    """A closure doing one training iteration (forward, loss, backward, optimizer step) that returns the loss."""

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step
