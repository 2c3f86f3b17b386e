"""tinygrad_dl.nn: modules, layers, losses, ``nn.functional`` (F) and ``nn.init``.

    from tinygrad_dl import Tensor, nn
    import tinygrad_dl.nn.functional as F

    model = nn.Sequential(nn.Linear(2, 4, init="kaiming_normal"), nn.ReLU(), nn.Linear(4, 1))
    loss = nn.BCEWithLogitsLoss()(model(Tensor(X)), Y)
    loss.backward()

Built only on the core's public API (Tensor, Function, no_grad, name_scope).
"""
from . import functional, init
from .layers import (GELU, Dropout, Flatten, Identity, LeakyReLU, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus,
                     Tanh)
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss
from .module import LoadResult, Module, ModuleDict, ModuleList, Parameter, Sequential, StateDictError
from .normalization import BatchNorm1d, LayerNorm
from .conv import Conv1d, Conv2d
from .padding import ZeroPad2d
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .normalization import BatchNorm2d

__all__ = ["functional", "init", "Parameter", "Module", "Sequential", "ModuleList", "LoadResult", "StateDictError",
           "Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "Identity", "Flatten", "Dropout",
           "BatchNorm1d", "LayerNorm", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss"]
__all__ += ["ModuleDict", "GELU", "Softplus", "LogSoftmax", "NLLLoss", "L1Loss", "SmoothL1Loss"]

# Course 3: transfer and multi-task learning, and the way out to PyTorch (interop imports torch only when called)
from . import interop  # noqa: E402
from .multitask import MaskedBCEWithLogitsLoss  # noqa: E402
from .transfer import freeze, replace_head, trainable_parameters, unfreeze  # noqa: E402

__all__ += ["interop", "MaskedBCEWithLogitsLoss", "freeze", "unfreeze", "trainable_parameters", "replace_head"]

# Course 5: recurrent layers, embeddings, attention and the Transformer
from .attention import MultiheadAttention, PositionalEncoding  # noqa: E402
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: E402
from .sparse import Embedding  # noqa: E402
from .transformer import (TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,  # noqa: E402
                          TransformerEncoderLayer, generate_square_subsequent_mask)

__all__ += ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "Embedding", "MultiheadAttention",
            "PositionalEncoding", "TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
            "TransformerDecoder", "generate_square_subsequent_mask"]

# Course 4: convolutions, pooling, 2-D batch norm and padding (imported above)
__all__ += ["Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm2d", "ZeroPad2d"]
