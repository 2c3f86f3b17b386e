"""tinygrad_dl.nn: modules, layers, losses, ``nn.functional`` (F) and ``nn.init``.

    from tinygrad_dl import Tensor, nn
    import tinygrad_dl.nn.functional as F

    model = nn.Sequential(nn.Linear(2, 4, init="kaiming_normal"), nn.ReLU(), nn.Linear(4, 1))
    loss = nn.BCEWithLogitsLoss()(model(Tensor(X)), Y)
    loss.backward()

Built only on the core's public API (Tensor, Function, no_grad, name_scope).
"""
from . import functional, init, interop
from .attention import MultiheadAttention, PositionalEncoding
from .conv import Conv1d, Conv2d
from .layers import (GELU, Dropout, Flatten, Identity, LeakyReLU, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus,
                     Tanh)
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss
from .module import LoadResult, Module, ModuleDict, ModuleList, Parameter, Sequential, StateDictError
from .multitask import MaskedBCEWithLogitsLoss
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .padding import ZeroPad2d
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .sparse import Embedding
from .transfer import freeze, replace_head, trainable_parameters, unfreeze
from .transformer import (TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer,
                          generate_square_subsequent_mask)

__all__ = [
    "functional", "init", "interop",
    # modules and containers
    "Parameter", "Module", "Sequential", "ModuleList", "ModuleDict", "LoadResult", "StateDictError",
    # Courses 1-2: dense layers, activations, normalisation, losses
    "Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Softplus", "GELU", "Identity",
    "Flatten", "Dropout", "BatchNorm1d", "LayerNorm",
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss",
    # Course 3: transfer and multi-task learning (interop imports torch only when called)
    "MaskedBCEWithLogitsLoss", "freeze", "unfreeze", "trainable_parameters", "replace_head",
    # Course 4: convolutions, pooling, padding, 2-D batch norm
    "Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "ZeroPad2d", "BatchNorm2d",
    # Course 5: recurrent layers, embeddings, attention, the Transformer
    "RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "Embedding", "MultiheadAttention", "PositionalEncoding",
    "TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder",
    "generate_square_subsequent_mask",
]
