"""Fused recurrent ops: one graph node per cell step, and one per whole sequence.

Gate layouts and formulas are PyTorch's (``torch.nn.RNN/LSTM/GRU``), rows of the weights stacked per gate:

    RNN   h' = tanh(x W_ih^T + h W_hh^T + b_ih + b_hh)                    (or relu)
    LSTM  [i, f, g, o] = x W_ih^T + h W_hh^T + b_ih + b_hh                 i, f, o sigmoid, g tanh
          c' = f * c + i * g,   h' = o * tanh(c')
    GRU   [r, z] = sigmoid(x W_ir,z^T + b_ir,z + h W_hr,hz^T + b_hr,hz)
          n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),   h' = (1 - z) * n + z * h

The cell ops sum the pre-activation as ``(x W_ih^T + h W_hh^T) + (b_ih + b_hh)``: with b_hh = 0 that is the
course's ``np.dot(Wax, x) + np.dot(Waa, a_prev) + b`` (the dinosaur demo relies on it to the last bit). For
speed, ``LSTMSequenceOp`` adds the biases into the input projection and computes the candidate tanh(z) as
2 sigmoid(2 z) - 1 (one in-place sigmoid for all four gates): the same values up to rounding.

* The **cell ops** (``RNNCellOp``, ``LSTMCellOp``, ``GRUCellOp``) compute one time step. An LSTM step has two
  results: it returns them stacked as one array (2, N, H) = [h', c'], which ``nn.LSTMCell`` indexes. Their
  backward is written with operations that NumPy arrays and Tensors share, so ``create_graph=True`` works.
* The **sequence ops** (``RNNSequenceOp``, ``LSTMSequenceOp``, ``GRUSequenceOp``) run a whole sequence for one
  layer and one direction: the input projection of all steps is one matmul, the loop does only the recurrent
  matmul and in-place elementwise work, and the backward collects the gate gradients of every step so the
  weight gradients are again one matmul each. Their backward is a hand-written loop over arrays; for
  ``create_graph=True`` it replays the sequence with the cell ops and differentiates that (same values).
"""
import numpy as np

from tinygrad_dl import Function, Tensor, concatenate, grad as autograd_grad, stack
from tinygrad_dl.generic import sigmoid as _sigmoid, tanh as _tanh  # on arrays and on Tensors


# ----------------------------------------------------------------------------------------------------
# helpers that work on ndarrays and on Tensors (the create_graph path hands backward Tensors)


def _concat(parts, axis):
    if any(isinstance(p, Tensor) for p in parts):
        return concatenate(parts, axis=axis)
    return np.concatenate(parts, axis=axis)


def _bias_sum(b_ih, b_hh):
    """b_ih + b_hh (either may be None when the layer has no bias)."""
    if b_ih is None:
        return b_hh
    if b_hh is None:
        return b_ih
    return b_ih + b_hh


def _sigmoid_(x):
    """Sigmoid in place, the same arithmetic as 1 / (1 + exp(-x))."""
    np.negative(x, out=x)
    with np.errstate(over="ignore"):
        np.exp(x, out=x)
    x += 1
    np.reciprocal(x, out=x)
    return x


def _pre_activation(x, h, w_ih, w_hh, bias):
    pre = x @ w_ih.T + h @ w_hh.T
    return pre if bias is None else pre + bias


# ----------------------------------------------------------------------------------------------------
# One time step


class RNNCellOp(Function):
    """h' = act(x W_ih^T + h W_hh^T + b_ih + b_hh) for x (N, I), h (N, H); act is tanh or relu."""

    @staticmethod
    def forward(ctx, x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
        pre = _pre_activation(x, h, w_ih, w_hh, _bias_sum(b_ih, b_hh))
        ctx.relu = nonlinearity == "relu"
        if ctx.relu:
            ctx.positive = pre > 0
            out = pre * ctx.positive
        else:
            out = np.tanh(pre)
        ctx.save_for_backward(x, h, w_ih, w_hh, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, h, w_ih, w_hh, out = ctx.saved_tensors
        d_pre = grad * ctx.positive if ctx.relu else grad * (1 - out * out)
        return _linear_grads(d_pre, d_pre, x, h, w_ih, w_hh, ctx.needs_input_grad)[:len(ctx.needs_input_grad)]


def _linear_grads(d_in, d_hid, x, h, w_ih, w_hh, needs):
    """Gradients of x W_ih^T + b_ih and h W_hh^T + b_hh given the gradients of the two pre-activations."""
    needs = tuple(needs) + (False,) * (6 - len(needs))  # the biases may have been left out of apply()
    need_x, need_h, need_w_ih, need_w_hh, need_b_ih, need_b_hh = needs[:6]
    return (d_in @ w_ih if need_x else None,
            d_hid @ w_hh if need_h else None,
            d_in.T @ x if need_w_ih else None,
            d_hid.T @ h if need_w_hh else None,
            d_in.sum(axis=0) if need_b_ih else None,
            d_hid.sum(axis=0) if need_b_hh else None)


def _lstm_gates(x, h, w_ih, w_hh, b_ih, b_hh):
    """The activated gates i, f, g, o of one LSTM step (arrays or Tensors)."""
    hidden = w_hh.shape[1]
    pre = _pre_activation(x, h, w_ih, w_hh, _bias_sum(b_ih, b_hh))
    return (_sigmoid(pre[:, :hidden]), _sigmoid(pre[:, hidden:2 * hidden]), _tanh(pre[:, 2 * hidden:3 * hidden]),
            _sigmoid(pre[:, 3 * hidden:]))


class LSTMCellOp(Function):
    """One LSTM step; returns [h', c'] stacked into one array of shape (2, N, H)."""

    @staticmethod
    def forward(ctx, x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
        i, f, g, o = _lstm_gates(x, h, w_ih, w_hh, b_ih, b_hh)
        out = np.empty((2,) + c.shape, dtype=np.result_type(i, c))
        new_c = out[1]
        np.multiply(f, c, out=new_c)
        new_c += i * g
        tanh_c = np.tanh(new_c)
        np.multiply(o, tanh_c, out=out[0])
        ctx.gates, ctx.tanh_c = (i, f, g, o), tanh_c
        ctx.save_for_backward(x, h, c, w_ih, w_hh, b_ih, b_hh)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, h, c, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
        if isinstance(grad, Tensor):  # create_graph: gates recomputed from the inputs so they carry the graph
            i, f, g, o = _lstm_gates(x, h, w_ih, w_hh, b_ih, b_hh)
            tanh_c = _tanh(f * c + i * g)
        else:
            (i, f, g, o), tanh_c = ctx.gates, ctx.tanh_c
        d_h, d_c = grad[0], grad[1] + grad[0] * o * (1 - tanh_c * tanh_c)
        d_gates = _concat([d_c * g * i * (1 - i), d_c * c * f * (1 - f), d_c * i * (1 - g * g),
                           d_h * tanh_c * o * (1 - o)], axis=1)
        needs = ctx.needs_input_grad
        d_x, d_hprev, d_w_ih, d_w_hh, d_b_ih, d_b_hh = _linear_grads(
            d_gates, d_gates, x, h, w_ih, w_hh, needs[:2] + needs[3:])
        d_cprev = d_c * f if needs[2] else None
        return (d_x, d_hprev, d_cprev, d_w_ih, d_w_hh, d_b_ih, d_b_hh)[:len(needs)]


def _gru_parts(x, h, w_ih, w_hh, b_ih, b_hh):
    """r, z, n and the recurrent candidate term h W_hn^T + b_hn of one GRU step (arrays or Tensors)."""
    hidden = w_hh.shape[1]
    gi = x @ w_ih.T
    gh = h @ w_hh.T
    if b_ih is not None:
        gi = gi + b_ih
    if b_hh is not None:
        gh = gh + b_hh
    r = _sigmoid(gi[:, :hidden] + gh[:, :hidden])
    z = _sigmoid(gi[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden])
    h_n = gh[:, 2 * hidden:]
    n = _tanh(gi[:, 2 * hidden:] + r * h_n)
    return r, z, n, h_n


class GRUCellOp(Function):
    """One GRU step h' = (1 - z) * n + z * h (PyTorch's formula, gates r, z, n)."""

    @staticmethod
    def forward(ctx, x, h, w_ih, w_hh, b_ih=None, b_hh=None):
        r, z, n, h_n = _gru_parts(x, h, w_ih, w_hh, b_ih, b_hh)
        ctx.parts = (r, z, n, h_n)
        ctx.save_for_backward(x, h, w_ih, w_hh, b_ih, b_hh)
        return n + z * (h - n)  # = (1 - z) * n + z * h

    @staticmethod
    def backward(ctx, grad):
        x, h, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
        r, z, n, h_n = _gru_parts(x, h, w_ih, w_hh, b_ih, b_hh) if isinstance(grad, Tensor) else ctx.parts
        d_gi, d_gh = _gru_gate_grads(grad, h, r, z, n, h_n)
        grads = list(_linear_grads(d_gi, d_gh, x, h, w_ih, w_hh, ctx.needs_input_grad))
        if grads[1] is not None:
            grads[1] = grads[1] + grad * z  # h also reaches h' directly through z * h
        return tuple(grads[:len(ctx.needs_input_grad)])


def _gru_gate_grads(d_out, h, r, z, n, h_n):
    """Gradients of the input projection (gi) and the recurrent projection (gh) of one GRU step."""
    d_n = d_out * (1 - z) * (1 - n * n)
    d_z = d_out * (h - n) * z * (1 - z)
    d_r = d_n * h_n * r * (1 - r)
    return _concat([d_r, d_z, d_n], axis=1), _concat([d_r, d_z, d_n * r], axis=1)


# ----------------------------------------------------------------------------------------------------
# A whole sequence (one layer, one direction). x is time-major: (T, N, I).


def _step_order(length, reverse):
    return range(length - 1, -1, -1) if reverse else range(length)


def _project_inputs(x, w_ih):
    """x W_ih^T for every step at once: (T, N, I) -> (T, N, G)."""
    steps, batch, features = x.shape
    return (x.reshape(steps * batch, features) @ w_ih.T).reshape(steps, batch, w_ih.shape[0])


def _weight_grads(d_pre_time, x, d_pre_steps, h_prev_steps, needs):
    """dW_ih, dW_hh and the bias grads from the per-step pre-activation grads, as one matmul each.

    ``d_pre_time`` is indexed by time (it pairs with x); ``d_pre_steps`` by processing step (it pairs with the
    hidden state each step read, ``h_prev_steps``).
    """
    need_w_ih, need_w_hh, need_bias = needs
    width = d_pre_time.shape[-1]
    d_w_ih = d_pre_time.reshape(-1, width).T @ x.reshape(-1, x.shape[-1]) if need_w_ih else None
    d_w_hh = d_pre_steps.reshape(-1, width).T @ h_prev_steps.reshape(-1, h_prev_steps.shape[-1]) if need_w_hh else None
    d_bias = d_pre_time.sum(axis=(0, 1)) if need_bias else None
    return d_w_ih, d_w_hh, d_bias


def _in_time_order(per_step, reverse):
    return per_step[::-1] if reverse else per_step


class _SequenceOp(Function):
    """Shared parts of the sequence ops: the create_graph replay."""

    @staticmethod
    def replay(ctx, inputs):
        raise NotImplementedError

    @classmethod
    def differentiate_replay(cls, ctx, grad):
        """create_graph: rebuild the sequence from cell ops on the inputs' Tensors and differentiate it."""
        inputs = ctx.saved_tensors
        out = cls.replay(ctx, inputs)
        wanted = [i for i, need in enumerate(ctx.needs_input_grad) if need]
        grads = autograd_grad(out, [inputs[i] for i in wanted], grad_outputs=grad, create_graph=True)
        result = [None] * len(inputs)
        for position, g in zip(wanted, grads):
            result[position] = g
        return tuple(result)


class RNNSequenceOp(_SequenceOp):
    """A tanh/relu RNN over x (T, N, I) from h0 (N, H): returns every hidden state, (T, N, H), in time order."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False, nonlinearity="tanh"):
        ctx.reverse, ctx.nonlinearity = reverse, nonlinearity
        steps = x.shape[0]
        projected = _project_inputs(x, w_ih)
        bias = _bias_sum(b_ih, b_hh)
        dtype = np.result_type(projected, h0, w_hh)
        states = np.empty((steps + 1,) + h0.shape, dtype=dtype)  # states[s] is the state step s reads
        states[0] = h0
        w_hh_t = w_hh.T
        relu = nonlinearity == "relu"
        for s, t in enumerate(_step_order(steps, reverse)):
            new = states[s + 1]
            np.matmul(states[s], w_hh_t, out=new)
            np.add(projected[t], new, out=new)  # x W_ih^T + h W_hh^T, the cell's order
            if bias is not None:
                new += bias
            if relu:
                np.maximum(new, 0, out=new)
            else:
                np.tanh(new, out=new)
        ctx.states = states
        ctx.save_for_backward(x, h0, w_ih, w_hh, b_ih, b_hh)
        return _in_time_order(states[1:], reverse).copy()

    @staticmethod
    def backward(ctx, grad):
        if isinstance(grad, Tensor):
            return RNNSequenceOp.differentiate_replay(ctx, grad)
        x, h0, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
        need_x, need_h0, need_w_ih, need_w_hh, need_b_ih, need_b_hh = ctx.needs_input_grad
        states, reverse = ctx.states, ctx.reverse
        steps = x.shape[0]
        d_pre = np.empty(states[1:].shape, dtype=states.dtype)  # per processing step
        d_next = np.zeros(h0.shape, dtype=states.dtype)
        for s in range(steps - 1, -1, -1):
            t = steps - 1 - s if reverse else s
            d_state = grad[t] + d_next
            out = states[s + 1]
            if ctx.nonlinearity == "relu":
                np.multiply(d_state, out > 0, out=d_pre[s])
            else:
                np.multiply(d_state, 1 - out * out, out=d_pre[s])
            d_next = d_pre[s] @ w_hh
        d_pre_time = _in_time_order(d_pre, reverse)
        d_x = (d_pre_time.reshape(-1, d_pre.shape[-1]) @ w_ih).reshape(x.shape) if need_x else None
        d_w_ih, d_w_hh, d_b = _weight_grads(d_pre_time, x, d_pre, states[:-1],
                                            (need_w_ih, need_w_hh, need_b_ih or need_b_hh))
        return (d_x, d_next if need_h0 else None, d_w_ih, d_w_hh, d_b if need_b_ih else None,
                d_b if need_b_hh else None)

    @staticmethod
    def replay(ctx, inputs):
        x, h, w_ih, w_hh, b_ih, b_hh = inputs
        outputs = [None] * x.shape[0]
        for t in _step_order(x.shape[0], ctx.reverse):
            h = RNNCellOp.apply(x[t], h, w_ih, w_hh, b_ih, b_hh, nonlinearity=ctx.nonlinearity)
            outputs[t] = h
        return stack(outputs)


class LSTMSequenceOp(_SequenceOp):
    """An LSTM over x (T, N, I) from (h0, c0): returns (T + 1, N, H) = every hidden state in time order,
    then the final cell state at index T.

    Speed comes from few NumPy calls per step: the step loop does one matmul and eleven elementwise calls
    forward, seven and a matmul backward, each writing into its destination; everything that does not
    depend on the recurrence (the input projection, the gates' derivatives, the weight gradients) is
    computed for all steps at once.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        ctx.reverse = reverse
        steps, hidden = x.shape[0], w_hh.shape[1]
        g_rows = slice(2 * hidden, 3 * hidden)
        # The candidate g = tanh(z) is computed as 2 sigmoid(2 z) - 1, so one in-place sigmoid covers all four
        # blocks: the g rows of the projection, bias and recurrent weight are doubled once, up front.
        projected = _project_inputs(x, w_ih)
        bias = _bias_sum(b_ih, b_hh)
        if bias is not None:
            projected += bias
        projected[..., g_rows] *= 2
        w_hh_t = w_hh.T.copy()
        w_hh_t[:, g_rows] *= 2
        # Both terms negated too, so a step's matmul and addition give -z directly, ready for exp(-z) (negation is
        # exact, and rounds symmetrically: the same bits as negating z afterwards).
        np.negative(projected, out=projected)
        np.negative(w_hh_t, out=w_hh_t)
        dtype = np.result_type(projected, h0, c0, w_hh)
        gates = np.empty((steps,) + h0.shape[:-1] + (4 * hidden,), dtype=dtype)  # sigmoid of all four blocks
        candidates = np.empty((steps,) + h0.shape, dtype=dtype)  # the g block: tanh of its pre-activation
        hs = np.empty((steps + 1,) + h0.shape, dtype=dtype)  # hs[s], cs[s]: the state step s reads
        cs = np.empty_like(hs)
        tanh_cs = np.empty_like(candidates)
        hs[0], cs[0] = h0, c0
        # Every per-step view is made up front, in bulk (list() of an array is one C call), and the one temporary
        # is reused: in the loop, each NumPy call writes into its destination (out=), nothing is allocated.
        order = list(_step_order(steps, reverse))
        projected_steps = [projected[t] for t in order]
        gate_steps, h_steps, c_steps, tanh_c_steps, candidate_steps = (list(gates), list(hs), list(cs),
                                                                        list(tanh_cs), list(candidates))
        i_steps, f_steps, g_steps, o_steps = (list(gates[..., k * hidden:(k + 1) * hidden]) for k in range(4))
        i_times_g = np.empty(h0.shape, dtype=dtype)
        # (the output array is passed positionally: NumPy then parses no keyword arguments, a tenth of a call here)
        add, multiply, exp, tanh, matmul, reciprocal = np.add, np.multiply, np.exp, np.tanh, np.matmul, np.reciprocal
        with np.errstate(over="ignore"):  # exp(-x) -> inf for very negative x: sigmoid's right limit 0
            for s in range(steps):
                g = gate_steps[s]
                matmul(h_steps[s], w_hh_t, g)
                add(g, projected_steps[s], g)  # -z: the sigmoid of the whole block in place, 1 / (1 + exp(-z))
                exp(g, g)
                add(g, 1, g)
                reciprocal(g, g)
                candidate = candidate_steps[s]
                multiply(g_steps[s], 2, candidate)
                add(candidate, -1, candidate)
                new_c = c_steps[s + 1]
                multiply(f_steps[s], c_steps[s], new_c)
                multiply(i_steps[s], candidate, i_times_g)
                add(new_c, i_times_g, new_c)
                tanh(new_c, tanh_c_steps[s])
                multiply(o_steps[s], tanh_c_steps[s], h_steps[s + 1])
        ctx.gates, ctx.candidates, ctx.hs, ctx.cs, ctx.tanh_cs = gates, candidates, hs, cs, tanh_cs
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        out = np.empty((steps + 1,) + h0.shape, dtype=dtype)
        out[:steps] = _in_time_order(hs[1:], reverse)
        out[steps] = cs[steps]
        return out

    @staticmethod
    def backward(ctx, grad):
        if isinstance(grad, Tensor):
            return LSTMSequenceOp.differentiate_replay(ctx, grad)
        x, h0, c0, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
        need_x, need_h0, need_c0, need_w_ih, need_w_hh, need_b_ih, need_b_hh = ctx.needs_input_grad
        gates, candidates, cs, tanh_cs, reverse = ctx.gates, ctx.candidates, ctx.cs, ctx.tanh_cs, ctx.reverse
        steps, hidden = x.shape[0], w_hh.shape[1]
        batch_shape = h0.shape[:-1]
        # Everything that does not depend on the recurrence, for all steps at once:
        slopes = gates * (1 - gates)  # d activation / d pre-activation: s (1 - s) for i, f, o ...
        slopes[..., 2 * hidden:3 * hidden] = 1 - candidates * candidates  # ... and 1 - g^2 for the g block
        c_slope = gates[..., 3 * hidden:] * (1 - tanh_cs * tanh_cs)  # d h / d c = o (1 - tanh(c)^2)
        # what d_c multiplies for the i, f, g blocks: the candidate, the previous cell state, the input gate
        by_d_c = np.stack([candidates, cs[:-1], gates[..., :hidden]], axis=-2)
        d_pre = np.empty_like(gates)
        blocks = d_pre.reshape((steps,) + batch_shape + (4, hidden))
        d_h_next = np.zeros(h0.shape, dtype=gates.dtype)
        d_c = np.array(grad[steps], dtype=gates.dtype)  # the final cell state's gradient
        # per-step views made up front, in bulk, and two reused temporaries: the loop allocates nothing
        grad_steps = [grad[t] for t in _step_order(steps, reverse)]
        d_pre_steps, slope_steps, c_slope_steps, by_d_c_steps, tanh_c_steps = (
            list(d_pre), list(slopes), list(c_slope), list(by_d_c), list(tanh_cs))
        icg_blocks, o_blocks = list(blocks[..., :3, :]), list(blocks[..., 3, :])
        f_steps = list(gates[..., hidden:2 * hidden])
        d_h, term = np.empty_like(d_h_next), np.empty_like(d_h_next)
        d_c_row = d_c[..., None, :]  # d_c broadcast over the i, f, g blocks
        add, multiply, matmul = np.add, np.multiply, np.matmul
        for s in range(steps - 1, -1, -1):  # (outputs passed positionally, as in forward)
            add(grad_steps[s], d_h_next, d_h)
            multiply(d_h, c_slope_steps[s], term)
            add(d_c, term, d_c)
            multiply(d_c_row, by_d_c_steps[s], icg_blocks[s])
            multiply(d_h, tanh_c_steps[s], o_blocks[s])
            multiply(d_pre_steps[s], slope_steps[s], d_pre_steps[s])
            matmul(d_pre_steps[s], w_hh, d_h_next)
            multiply(d_c, f_steps[s], d_c)
        d_pre_time = _in_time_order(d_pre, reverse)
        d_x = (d_pre_time.reshape(-1, 4 * hidden) @ w_ih).reshape(x.shape) if need_x else None
        d_w_ih, d_w_hh, d_b = _weight_grads(d_pre_time, x, d_pre, ctx.hs[:-1],
                                            (need_w_ih, need_w_hh, need_b_ih or need_b_hh))
        return (d_x, d_h_next if need_h0 else None, d_c if need_c0 else None, d_w_ih, d_w_hh,
                d_b if need_b_ih else None, d_b if need_b_hh else None)

    @staticmethod
    def replay(ctx, inputs):
        x, h, c, w_ih, w_hh, b_ih, b_hh = inputs
        outputs = [None] * x.shape[0]
        for t in _step_order(x.shape[0], ctx.reverse):
            hc = LSTMCellOp.apply(x[t], h, c, w_ih, w_hh, b_ih, b_hh)
            h, c = hc[0], hc[1]
            outputs[t] = h
        return stack(outputs + [c])


class GRUSequenceOp(_SequenceOp):
    """A GRU over x (T, N, I) from h0 (N, H): returns every hidden state, (T, N, H), in time order."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        ctx.reverse = reverse
        steps, hidden = x.shape[0], w_hh.shape[1]
        projected = _project_inputs(x, w_ih)
        if b_ih is not None:
            projected += b_ih
        dtype = np.result_type(projected, h0, w_hh)
        hs = np.empty((steps + 1,) + h0.shape, dtype=dtype)
        hs[0] = h0
        rz = np.empty((steps,) + h0.shape[:-1] + (2 * hidden,), dtype=dtype)  # r, z per step
        ns = np.empty(hs[1:].shape, dtype=dtype)
        h_ns = np.empty_like(ns)  # h W_hn^T + b_hn per step
        w_hh_t = w_hh.T
        for s, t in enumerate(_step_order(steps, reverse)):
            gh = hs[s] @ w_hh_t
            if b_hh is not None:
                gh += b_hh
            gi = projected[t]
            gates = rz[s]
            np.add(gi[:, :2 * hidden], gh[:, :2 * hidden], out=gates)
            _sigmoid_(gates)
            r, z = gates[:, :hidden], gates[:, hidden:]
            h_ns[s] = gh[:, 2 * hidden:]
            n = ns[s]
            np.multiply(r, h_ns[s], out=n)
            n += gi[:, 2 * hidden:]
            np.tanh(n, out=n)
            new = hs[s + 1]
            np.subtract(hs[s], n, out=new)
            new *= z
            new += n  # n + z * (h - n), as GRUCellOp computes it
        ctx.hs, ctx.rz, ctx.ns, ctx.h_ns = hs, rz, ns, h_ns
        ctx.save_for_backward(x, h0, w_ih, w_hh, b_ih, b_hh)
        return _in_time_order(hs[1:], reverse).copy()

    @staticmethod
    def backward(ctx, grad):
        if isinstance(grad, Tensor):
            return GRUSequenceOp.differentiate_replay(ctx, grad)
        x, h0, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
        need_x, need_h0, need_w_ih, need_w_hh, need_b_ih, need_b_hh = ctx.needs_input_grad
        hs, rz, ns, h_ns, reverse = ctx.hs, ctx.rz, ctx.ns, ctx.h_ns, ctx.reverse
        steps, hidden = x.shape[0], w_hh.shape[1]
        d_gi = np.empty(rz.shape[:-1] + (3 * hidden,), dtype=hs.dtype)
        d_gh = np.empty_like(d_gi)
        d_next = np.zeros(h0.shape, dtype=hs.dtype)
        for s in range(steps - 1, -1, -1):
            t = steps - 1 - s if reverse else s
            r, z = rz[s][:, :hidden], rz[s][:, hidden:]
            n = ns[s]
            d_out = grad[t] + d_next
            d_n = d_out * (1 - z) * (1 - n * n)
            d_z = d_out * (hs[s] - n) * z * (1 - z)
            d_r = d_n * h_ns[s] * r * (1 - r)
            d_gi[s, :, :hidden] = d_gh[s, :, :hidden] = d_r
            d_gi[s, :, hidden:2 * hidden] = d_gh[s, :, hidden:2 * hidden] = d_z
            d_gi[s, :, 2 * hidden:] = d_n
            np.multiply(d_n, r, out=d_gh[s, :, 2 * hidden:])
            d_next = d_gh[s] @ w_hh
            d_next += d_out * z
        d_gi_time = _in_time_order(d_gi, reverse)
        d_x = (d_gi_time.reshape(-1, 3 * hidden) @ w_ih).reshape(x.shape) if need_x else None
        d_w_ih, _, d_b_ih = _weight_grads(d_gi_time, x, d_gi, hs[:-1], (need_w_ih, False, need_b_ih))
        _, d_w_hh, _ = _weight_grads(d_gi_time, x, d_gh, hs[:-1], (False, need_w_hh, False))
        d_b_hh = d_gh.sum(axis=(0, 1)) if need_b_hh else None
        return d_x, d_next if need_h0 else None, d_w_ih, d_w_hh, d_b_ih, d_b_hh

    @staticmethod
    def replay(ctx, inputs):
        x, h, w_ih, w_hh, b_ih, b_hh = inputs
        outputs = [None] * x.shape[0]
        for t in _step_order(x.shape[0], ctx.reverse):
            h = GRUCellOp.apply(x[t], h, w_ih, w_hh, b_ih, b_hh)
            outputs[t] = h
        return stack(outputs)
