"""tinygrad_dl.nn: modules, layers, losses, ``nn.functional`` (F) and ``nn.init``.

    from tinygrad_dl import Tensor, nn
    import tinygrad_dl.nn.functional as F

    model = nn.Sequential(nn.Linear(2, 4, init="kaiming_normal"), nn.ReLU(), nn.Linear(4, 1))
    loss = nn.BCEWithLogitsLoss()(model(Tensor(X)), Y)
    loss.backward()

Built only on the core's public API (Tensor, Function, no_grad, name_scope).
"""
from . import functional, init
from .layers import Dropout, Flatten, Identity, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import LoadResult, Module, ModuleList, Parameter, Sequential, StateDictError
from .normalization import BatchNorm1d, LayerNorm
from .conv import Conv1d, Conv2d
from .padding import ZeroPad2d
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .normalization import BatchNorm2d

__all__ = ["functional", "init", "Parameter", "Module", "Sequential", "ModuleList", "LoadResult", "StateDictError",
           "Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "Identity", "Flatten", "Dropout",
           "BatchNorm1d", "LayerNorm", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss"]
__all__ += ["Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm2d", "ZeroPad2d"]
