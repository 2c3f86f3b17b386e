"""Layers without normalisation: Linear, the activations, Dropout, Flatten, Identity."""
import numpy as np

from . import functional as F
from . import init as nn_init
from .module import Module, Parameter

# Linear(init=...) names -> how the weight is drawn. All but "kaiming_uniform" set the bias to zero,
# like the course's initialize_parameters.
_WEIGHT_INITS = {
    "kaiming_uniform": nn_init.kaiming_uniform_,   # PyTorch's default (bias U(-1/sqrt(in), 1/sqrt(in)))
    "scaled_normal": nn_init.scaled_normal_,       # course: randn * 0.01
    "normal_fan_in": nn_init.normal_fan_in_,       # course: randn / sqrt(n_prev)
    "kaiming_normal": nn_init.kaiming_normal_,     # course He init: randn * sqrt(2 / n_prev)
    "he": nn_init.kaiming_normal_,
    "xavier_normal": nn_init.xavier_normal_,
    "xavier_uniform": nn_init.xavier_uniform_,
    "zeros": None,                                 # course logistic regression: w = 0, b = 0
}


class Linear(Module):
    """``y = x @ weight.T + bias`` for x of shape (..., in_features).

    weight has shape (out_features, in_features), the layout of the course's W[l]; bias (out_features,).
    ``init`` is one of "kaiming_uniform" (PyTorch's default), "scaled_normal" (randn * 0.01),
    "normal_fan_in" (randn / sqrt(in)), "kaiming_normal"/"he" (randn * sqrt(2 / in)), "xavier_normal",
    "xavier_uniform", "zeros", or a function called with the weight Parameter. Except for
    "kaiming_uniform" the bias starts at zero, so ``np.random.seed(s)`` followed by the layers in order
    draws exactly what the course's ``initialize_parameters`` draws (``generator=None``: global np.random).
    """

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32, init="kaiming_uniform",
                 generator=None):
        super().__init__()
        if int(in_features) <= 0 or int(out_features) <= 0:
            raise ValueError(f"Linear: in_features and out_features must be positive, got {in_features}, "
                             f"{out_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(np.zeros((self.out_features, self.in_features), dtype=dtype))
        self.bias = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None
        self.init_name = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        self._initialize(init, generator)

    def _initialize(self, init, generator):
        if callable(init):
            init(self.weight)
            return
        if init not in _WEIGHT_INITS:
            raise ValueError(f"Linear: unknown init {init!r}; choose one of {sorted(_WEIGHT_INITS)} or pass a "
                             "function of the weight")
        weight_init = _WEIGHT_INITS[init]
        if weight_init is not None:
            weight_init(self.weight, generator=generator)
        if init == "kaiming_uniform" and self.bias is not None:
            bound = 1 / np.sqrt(self.in_features)
            nn_init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, "
                f"dtype={self.weight.dtype}")


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Softmax(Module):
    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return F.softmax(x, self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


class Identity(Module):
    def forward(self, x):
        return x


class Flatten(Module):
    """Merge axes start_axis..end_axis (by default everything but the batch axis)."""

    def __init__(self, start_axis=1, end_axis=-1):
        super().__init__()
        self.start_axis, self.end_axis = start_axis, end_axis

    def forward(self, x):
        return x.flatten(self.start_axis, self.end_axis)

    def extra_repr(self):
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}"


class Dropout(Module):
    """Inverted dropout with drop probability ``p`` in training mode; the identity in eval mode.

    ``generator``: np.random.Generator/RandomState, or None for the global np.random (the course's
    ``np.random.rand(*A.shape) < keep_prob`` after ``np.random.seed``). ``layout="columns"`` draws each mask
    for the transposed input, so a row-layout network (x of shape (m, n)) gets the course's masks, which
    are drawn for its column layout (n, m). See ``nn.functional.dropout``.
    """

    def __init__(self, p=0.5, generator=None, layout="rows"):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p is the probability of dropping a unit and must be in [0, 1], got {p}")
        if layout not in ("rows", "columns"):
            raise ValueError(f"Dropout: layout must be 'rows' or 'columns', got {layout!r}")
        self.p, self.generator, self.layout = p, generator, layout

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.generator, self.layout)

    def extra_repr(self):
        return f"p={self.p}" + (f", layout={self.layout!r}" if self.layout != "rows" else "")
