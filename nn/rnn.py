"""Recurrent layers with PyTorch's names, shapes, gate order and initialisation.

    cell = nn.LSTMCell(3, 5);  h, c = cell(x_t, (h, c))          # one step, x_t (N, 3)
    lstm = nn.LSTM(32, 64, num_layers=2, batch_first=True)
    output, (h_n, c_n) = lstm(x)                                 # x (N, T, 32) -> output (N, T, 64)

Parameters are ``weight_ih_l{k}[_reverse]`` (gates * hidden, input), ``weight_hh_l{k}[_reverse]`` (gates * hidden,
hidden), ``bias_ih_l{k}[_reverse]`` and ``bias_hh_l{k}[_reverse]`` (cells: ``weight_ih`` ...), gates stacked as
LSTM i, f, g, o and GRU r, z, n, all drawn from U(-1/sqrt(hidden), 1/sqrt(hidden)): a PyTorch ``state_dict``
loads unchanged. One cell step is one graph node; ``nn.RNN/LSTM/GRU`` run each layer and direction as one
node (see ``_rnn_ops``).
"""
import math
import warnings

import numpy as np

from tinygrad_dl import Tensor, concatenate, stack

from . import _rnn_ops
from . import functional as F
from . import init as nn_init
from .layers import _flag, _float_dtype, _number
from .module import Module, Parameter

_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(value)


def _check_size(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_float(layer, what, tensor):
    if tensor.dtype.kind != "f":
        raise TypeError(f"{layer}: {what} must be a floating-point tensor, got dtype {tensor.dtype} (token ids go "
                        "through nn.Embedding or F.one_hot first)")


def _check_nonlinearity(layer, nonlinearity):
    if not isinstance(nonlinearity, str) or nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{layer}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


# ----------------------------------------------------------------------------------------------------
# Cells: one time step


class _CellBase(Module):
    mode = "RNN"

    def __init__(self, input_size, hidden_size, bias=True, dtype=np.float32, generator=None):
        super().__init__()
        name = type(self).__name__
        self.input_size = _check_size(f"{name}: input_size", input_size)
        self.hidden_size = _check_size(f"{name}: hidden_size", hidden_size)
        self.bias, dtype = _flag(name, "bias", bias), _float_dtype(name, dtype)
        rows = _GATES[self.mode] * self.hidden_size
        self.weight_ih = Parameter(np.zeros((rows, self.input_size), dtype=dtype))
        self.weight_hh = Parameter(np.zeros((rows, self.hidden_size), dtype=dtype))
        self.bias_ih = Parameter(np.zeros(rows, dtype=dtype)) if bias else None
        self.bias_hh = Parameter(np.zeros(rows, dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        """Every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (PyTorch's default)."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn_init.uniform_(p, -bound, bound, generator=generator)

    def _describe(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def _input(self, x):
        """The input as a 2-d Tensor (batch, input_size) and whether it had a batch axis."""
        x = _as_tensor(x)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"{self._describe()}: input of shape {x.shape} does not fit input_size={self.input_size}; "
                             f"expected (batch, {self.input_size}) or ({self.input_size},)")
        _check_float(self._describe(), "the input", x)
        return (x, True) if x.ndim == 2 else (x.reshape(1, self.input_size), False)

    def _state(self, state, what, x, batched):
        """A hidden/cell state given by the user (checked), or zeros."""
        expected = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        if state is None:
            return Tensor(np.zeros((x.shape[0], self.hidden_size), dtype=x.dtype))
        state = _as_tensor(state)
        if state.shape != expected:
            raise ValueError(f"{self._describe()}: {what} has shape {state.shape}, expected {expected} for an input of "
                             f"shape {x.shape if batched else x.shape[1:]}")
        _check_float(self._describe(), what, state)
        return state if batched else state.reshape(1, self.hidden_size)

    def _params(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        return text if self.bias else text + ", bias=False"


class RNNCell(_CellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu). ``cell(x, h=None)``: x (N, I) or (I,), h (N, H)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=np.float32, generator=None):
        self.nonlinearity = _check_nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, dtype, generator)

    def forward(self, input, hx=None):  # noqa: A002 (PyTorch's name)
        x, batched = self._input(input)
        h = self._state(hx, "the hidden state", x, batched)
        out = _rnn_ops.RNNCellOp.apply(x, h, *self._params(), nonlinearity=self.nonlinearity)
        return out if batched else out.reshape(self.hidden_size)

    def extra_repr(self):
        text = super().extra_repr()
        return text if self.nonlinearity == "tanh" else text + f", nonlinearity={self.nonlinearity!r}"


class LSTMCell(_CellBase):
    """One LSTM step: ``h', c' = cell(x, (h, c))`` (gates i, f, g, o; zeros when the state is None)."""

    mode = "LSTM"

    def forward(self, input, hx=None):  # noqa: A002
        x, batched = self._input(input)
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"{self._describe()}: hx must be a tuple (h, c), got {type(hx).__name__}")
        h = self._state(hx[0], "the hidden state h", x, batched)
        c = self._state(hx[1], "the cell state c", x, batched)
        hc = _rnn_ops.LSTMCellOp.apply(x, h, c, *self._params())
        if not batched:
            hc = hc.reshape(2, self.hidden_size)
        return hc[0], hc[1]


class GRUCell(_CellBase):
    """One GRU step: ``h' = cell(x, h)`` (gates r, z, n; h' = (1 - z) * n + z * h as in PyTorch)."""

    mode = "GRU"

    def forward(self, input, hx=None):  # noqa: A002
        x, batched = self._input(input)
        h = self._state(hx, "the hidden state", x, batched)
        out = _rnn_ops.GRUCellOp.apply(x, h, *self._params())
        return out if batched else out.reshape(self.hidden_size)


# ----------------------------------------------------------------------------------------------------
# Sequence layers


class _RNNBase(Module):
    mode = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, nonlinearity="tanh", dtype=np.float32, generator=None):
        super().__init__()
        name = type(self).__name__
        self.input_size = _check_size(f"{name}: input_size", input_size)
        self.hidden_size = _check_size(f"{name}: hidden_size", hidden_size)
        self.num_layers = _check_size(f"{name}: num_layers", num_layers)
        if isinstance(proj_size, (bool, np.bool_)) or proj_size != 0:
            raise ValueError(f"{name}: proj_size is not supported, got {proj_size!r} (use a Linear layer on the "
                             "output)")
        dropout = _number(name, "dropout (the probability of dropping a unit between layers)", dropout, 0.0, 1.0)
        self.bias, self.batch_first = _flag(name, "bias", bias), _flag(name, "batch_first", batch_first)
        self.bidirectional, dtype = _flag(name, "bidirectional", bidirectional), _float_dtype(name, dtype)
        if dropout > 0 and self.num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} acts between layers, so with num_layers=1 it does nothing",
                          stacklevel=2)
        self.dropout, self.nonlinearity, self.generator = dropout, nonlinearity, generator
        self.num_directions = 2 if self.bidirectional else 1
        rows = _GATES[self.mode] * self.hidden_size
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self.hidden_size * self.num_directions
            for suffix in self._suffixes(layer):
                setattr(self, f"weight_ih{suffix}", Parameter(np.zeros((rows, layer_input), dtype=dtype)))
                setattr(self, f"weight_hh{suffix}", Parameter(np.zeros((rows, self.hidden_size), dtype=dtype)))
                if self.bias:
                    setattr(self, f"bias_ih{suffix}", Parameter(np.zeros(rows, dtype=dtype)))
                    setattr(self, f"bias_hh{suffix}", Parameter(np.zeros(rows, dtype=dtype)))
        self.reset_parameters(generator)

    def _suffixes(self, layer):
        return [f"_l{layer}", f"_l{layer}_reverse"][:self.num_directions]

    def reset_parameters(self, generator=None):
        """Every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (PyTorch's default)."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn_init.uniform_(p, -bound, bound, generator=generator)

    def flatten_parameters(self):
        """Nothing to do here (PyTorch's cuDNN helper); kept so PyTorch code runs unchanged."""

    def _layer_params(self, suffix):
        get = self.__dict__.get
        return (get(f"weight_ih{suffix}"), get(f"weight_hh{suffix}"), get(f"bias_ih{suffix}"),
                get(f"bias_hh{suffix}"))

    def _describe(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size}, num_layers={self.num_layers})"

    # -- input checks -----------------------------------------------------------------------------
    def _time_major_input(self, input):  # noqa: A002
        """(T, N, I) Tensor, and whether the input had a batch axis."""
        x = _as_tensor(input)
        layout = "(batch, seq, input_size)" if self.batch_first else "(seq, batch, input_size)"
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(f"{self._describe()}: input of shape {x.shape} does not fit input_size={self.input_size}; "
                             f"expected {layout} or unbatched (seq, input_size)")
        _check_float(self._describe(), "the input", x)
        if 0 in x.shape[:-1]:
            raise ValueError(f"{self._describe()}: input of shape {x.shape} has an empty sequence or batch")
        if x.ndim == 2:
            return x.reshape(x.shape[0], 1, self.input_size), False
        return (x.swapaxes(0, 1) if self.batch_first else x), True

    def _initial_state(self, state, what, batch, batched, dtype):
        count = self.num_layers * self.num_directions
        if state is None:
            return Tensor(np.zeros((count, batch, self.hidden_size), dtype=dtype))
        state = _as_tensor(state)
        expected = (count, batch, self.hidden_size) if batched else (count, self.hidden_size)
        if state.shape != expected:
            raise ValueError(f"{self._describe()}: {what} has shape {state.shape}, expected {expected} "
                             "(num_layers * num_directions, batch, hidden_size); the states are never batch-first")
        _check_float(self._describe(), what, state)
        return state if batched else state.reshape(count, 1, self.hidden_size)

    # -- the computation ----------------------------------------------------------------------------
    def _run_direction(self, x, states, index, suffix, reverse):
        """One layer in one direction: (outputs (T, N, H), [final state per state kind])."""
        raise NotImplementedError

    def _run(self, input, hx_states):  # noqa: A002
        x, batched = self._time_major_input(input)
        steps, batch = x.shape[0], x.shape[1]
        names = ("h_0", "c_0") if self.mode == "LSTM" else ("h_0",)
        states = [self._initial_state(s, name, batch, batched, x.dtype) for s, name in zip(hx_states, names)]
        finals = [[] for _ in states]
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(self._suffixes(layer)):
                index = layer * self.num_directions + direction
                output, last = self._run_direction(layer_input, states, index, suffix, reverse=direction == 1)
                outputs.append(output)
                for kind, value in enumerate(last):
                    finals[kind].append(value)
            layer_input = outputs[0] if len(outputs) == 1 else concatenate(outputs, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, generator=self.generator)
        output = layer_input
        final_states = [stack(values) for values in finals]
        if not batched:
            output = output.reshape(steps, output.shape[-1])
            final_states = [s.reshape(s.shape[0], self.hidden_size) for s in final_states]
        elif self.batch_first:
            output = output.swapaxes(0, 1)
        return output, final_states

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


class RNN(_RNNBase):
    """Elman RNN: ``output, h_n = rnn(x, h_0=None)``.

    x (T, N, I) (``batch_first``: (N, T, I); unbatched: (T, I)); h_0 and h_n (num_layers * directions, N, H);
    output (T, N, directions * H) holds the last layer's hidden state at every step.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=np.float32, generator=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         nonlinearity=_check_nonlinearity("RNN", nonlinearity), dtype=dtype, generator=generator)

    def _run_direction(self, x, states, index, suffix, reverse):
        output = _rnn_ops.RNNSequenceOp.apply(x, states[0][index], *self._layer_params(suffix), reverse=reverse,
                                              nonlinearity=self.nonlinearity)
        return output, [output[0 if reverse else -1]]

    def forward(self, input, hx=None):  # noqa: A002
        output, (h_n,) = self._run(input, [hx])
        return output, h_n

    def extra_repr(self):
        text = super().extra_repr()
        return text if self.nonlinearity == "tanh" else text + f", nonlinearity={self.nonlinearity!r}"


class LSTM(_RNNBase):
    """LSTM: ``output, (h_n, c_n) = lstm(x, (h_0, c_0)=None)`` (shapes as in ``nn.RNN``; gates i, f, g, o)."""

    mode = "LSTM"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, dtype=np.float32, generator=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, proj_size,
                         dtype=dtype, generator=generator)

    def _run_direction(self, x, states, index, suffix, reverse):
        steps = x.shape[0]
        packed = _rnn_ops.LSTMSequenceOp.apply(x, states[0][index], states[1][index], *self._layer_params(suffix),
                                               reverse=reverse)
        return packed[:steps], [packed[0 if reverse else steps - 1], packed[steps]]

    def forward(self, input, hx=None):  # noqa: A002
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"{self._describe()}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        output, (h_n, c_n) = self._run(input, list(hx))
        return output, (h_n, c_n)


class GRU(_RNNBase):
    """GRU: ``output, h_n = gru(x, h_0=None)`` (shapes as in ``nn.RNN``; gates r, z, n)."""

    mode = "GRU"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=np.float32, generator=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype, generator=generator)

    def _run_direction(self, x, states, index, suffix, reverse):
        output = _rnn_ops.GRUSequenceOp.apply(x, states[0][index], *self._layer_params(suffix), reverse=reverse)
        return output, [output[0 if reverse else -1]]

    def forward(self, input, hx=None):  # noqa: A002
        output, (h_n,) = self._run(input, [hx])
        return output, h_n


__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"]
