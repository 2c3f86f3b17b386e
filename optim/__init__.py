"""tinygrad_dl.optim: optimizers, learning-rate schedules, gradient clipping and mini-batches.

    from tinygrad_dl import optim
    optimizer = optim.Adam(model.parameters(), lr=0.0007)
    for epoch in range(num_epochs):
        for X_batch, Y_batch in optim.random_mini_batches(X, Y, 64, seed=epoch):
            optimizer.zero_grad()
            loss_fn(model(X_batch), Y_batch).backward()
            optimizer.step()

Built only on the core's public API (Tensor, no_grad); it never imports nn.
"""
from . import lr_scheduler
from .clip import clip_grad_norm_, clip_grad_value_
from .lr_scheduler import (CosineAnnealingLR, ExponentialLR, InverseTimeDecay, LambdaLR, LRScheduler, OneCycleLR,
                           ReduceLROnPlateau, ScheduledInverseTimeDecay, StepLR, schedule_lr_decay, update_lr)
from tinygrad_dl.data.minibatch import random_mini_batches  # lives with the data tools
from .optimizer import Optimizer
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSprop

__all__ = [
    "Optimizer", "SGD", "RMSprop", "Adagrad", "Adam", "AdamW",
    "lr_scheduler", "LRScheduler", "InverseTimeDecay", "ScheduledInverseTimeDecay", "ExponentialLR", "StepLR",
    "LambdaLR", "CosineAnnealingLR", "OneCycleLR", "ReduceLROnPlateau",
    "update_lr", "schedule_lr_decay",
    "clip_grad_value_", "clip_grad_norm_",
    "random_mini_batches",
]
