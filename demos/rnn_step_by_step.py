"""Building a Recurrent Neural Network, step by step (Course 5, week 1, assignment 1) with nn.RNNCell and
nn.LSTMCell.

The notebook writes rnn_cell_forward, rnn_forward, lstm_cell_forward, lstm_forward and their backward
passes by hand in NumPy. Here every number comes from ``nn.RNNCell`` / ``nn.LSTMCell`` loaded with the test
cases' weights, and every gradient from ``backward()`` seeded with the notebook's upstream gradients:

* the course's layout is mapped onto PyTorch's: the RNN's Wax, Waa, ba become ``weight_ih``, ``weight_hh``,
  ``bias_ih`` (``bias_hh`` = 0); the LSTM's gate matrices W_i, W_f, W_c, W_o act on the stacked [a_prev; x],
  so their first n_a columns become ``weight_hh`` and the rest ``weight_ih``, stacked in PyTorch's gate order
  i, f, g (= c~), o; examples are rows, so the course's (n, m) arrays are transposed;
* the output layer y = softmax(Wya a + by) is an ``nn.Linear`` and ``F.softmax``.

Two notebook versions differ in the backward tests, and both are reproduced:

* rnn_cell_backward: the 2018 notebook (K, "v2") builds its parameters with a stale ``ba`` (the one drawn
  by the rnn_forward test) instead of the freshly drawn ``b``; the later version (A) uses its own draw.
* lstm_backward: the 2018 notebook never carries da_prev/dc_prev from one step to the previous one, so
  each step is differentiated on its own; with autograd that is the forward pass with every step's incoming
  state detached (truncated backpropagation through one step). The later version backpropagates through time.
  Its printed dbi, dbc, dbo also disagree with its own "expected output" table; the printed run is used.

    python -m demos.rnn_step_by_step
"""
import numpy as np

import tinygrad_dl.nn.functional as F
from tinygrad_dl import Tensor, nn

from . import common

NAME = "rnn_step_by_step"
DESCRIPTION = "Course 5 week 1: the RNN and LSTM cells and their backward passes, through nn.RNNCell/LSTMCell"

# (section, printed name, version) -> the notebook's value. K = 2018 "v2" notebook, A = later notebook.
COURSE = {
    ("rnn_cell_forward", "a_next[4]", ""): [0.59584544, 0.18141802, 0.61311866, 0.99808218, 0.85016201, 0.99980978,
                                            -0.18887155, 0.99815551, 0.6531151, 0.82872037],
    ("rnn_cell_forward", "yt_pred[1]", ""): [0.9888161, 0.01682021, 0.21140899, 0.36817467, 0.98988387, 0.88945212,
                                             0.36920224, 0.9966312, 0.9982559, 0.17746526],
    ("rnn_forward", "a[4][1]", ""): [-0.99999375, 0.77911235, -0.99861469, -0.99833267],
    ("rnn_forward", "y_pred[1][3]", ""): [0.79560373, 0.86224861, 0.11118257, 0.81515947],
    ("rnn_forward", "caches[1][1][3]", ""): [-1.1425182, -0.34934272, -0.20889423, 0.58662319],
    ("lstm_cell_forward", "a_next[4]", ""): [-0.66408471, 0.0036921, 0.02088357, 0.22834167, -0.85575339,
                                             0.00138482, 0.76566531, 0.34631421, -0.00215674, 0.43827275],
    ("lstm_cell_forward", "c_next[2]", ""): [0.63267805, 1.00570849, 0.35504474, 0.20690913, -1.64566718,
                                             0.11832942, 0.76449811, -0.0981561, -0.74348425, -0.26810932],
    ("lstm_cell_forward", "yt[1]", ""): [0.79913913, 0.15986619, 0.22412122, 0.15606108, 0.97057211, 0.31146381,
                                         0.00943007, 0.12666353, 0.39380172, 0.07828381],
    ("lstm_cell_forward", "cache[1][3]", ""): [-0.16263996, 1.03729328, 0.72938082, -0.54101719, 0.02752074,
                                               -0.30821874, 0.07651101, -1.03752894, 1.41219977, -0.37647422],
    ("lstm_forward", "a[4][3][6]", ""): 0.17211776753291672,
    ("lstm_forward", "y[1][4][3]", ""): 0.9508734618501101,
    ("lstm_forward", "c[1][2][1]", ""): -0.8555449167181981,
    ("rnn_cell_backward", "dxt[1][2]", "K"): -0.4605641030588796,
    ("rnn_cell_backward", "da_prev[2][3]", "K"): 0.08429686538067674,
    ("rnn_cell_backward", "dWax[3][1]", "K"): 0.3930818739219304,
    ("rnn_cell_backward", "dWaa[1][2]", "K"): -0.2848395578696066,
    ("rnn_cell_backward", "dba[4]", "K"): [0.80517166],
    ("rnn_cell_backward", "dxt[1][2]", "A"): -1.3872130506,
    ("rnn_cell_backward", "da_prev[2][3]", "A"): -0.152399493774,
    ("rnn_cell_backward", "dWax[3][1]", "A"): 0.410772824935,
    ("rnn_cell_backward", "dWaa[1][2]", "A"): 1.15034506685,
    ("rnn_cell_backward", "dba[4]", "A"): [0.20023491],
    ("rnn_backward", "dx[1][2]", ""): [-2.07101689, -0.59255627, 0.02466855, 0.01483317],
    ("rnn_backward", "da0[2][3]", ""): -0.31494237512664996,
    ("rnn_backward", "dWax[3][1]", ""): 11.264104496527775,
    ("rnn_backward", "dWaa[1][2]", ""): 2.303333126579893,
    ("rnn_backward", "dba[4]", ""): [-0.74747722],
    ("lstm_cell_backward", "dxt[1][2]", ""): 3.2305591151091884,
    ("lstm_cell_backward", "da_prev[2][3]", ""): -0.06396214197109246,
    ("lstm_cell_backward", "dc_prev[2][3]", ""): 0.7975220387970015,
    ("lstm_cell_backward", "dWf[3][1]", ""): -0.1479548381644968,
    ("lstm_cell_backward", "dWi[1][2]", ""): 1.0574980552259903,
    ("lstm_cell_backward", "dWc[3][1]", ""): 2.304562163687667,
    ("lstm_cell_backward", "dWo[1][2]", ""): 0.3313115952892111,
    ("lstm_cell_backward", "dbf[4]", ""): [0.18864637],
    ("lstm_cell_backward", "dbi[4]", ""): [-0.40142491],
    ("lstm_cell_backward", "dbc[4]", ""): [0.25587763],
    ("lstm_cell_backward", "dbo[4]", ""): [0.13893342],
    ("lstm_backward", "dx[1][2]", "K"): [-0.00173313, 0.08287442, -0.30545663, -0.43281115],
    ("lstm_backward", "da0[2][3]", "K"): -0.0959115019540047,
    ("lstm_backward", "dWf[3][1]", "K"): -0.06981985612744011,
    ("lstm_backward", "dWi[1][2]", "K"): 0.10237182024854766,
    ("lstm_backward", "dWc[3][1]", "K"): -0.062498379492745254,
    ("lstm_backward", "dWo[1][2]", "K"): 0.04843891314443009,
    ("lstm_backward", "dbf[4]", "K"): [-0.0565788],
    ("lstm_backward", "dbi[4]", "K"): [-0.15399065],
    ("lstm_backward", "dbc[4]", "K"): [-0.29691142],
    ("lstm_backward", "dbo[4]", "K"): [-0.29798344],
    ("lstm_backward", "dx[1][2]", "A"): [0.00218254, 0.28205375, -0.48292508, -0.43281115],
    ("lstm_backward", "da0[2][3]", "A"): 0.312770310257,
    ("lstm_backward", "dWf[3][1]", "A"): -0.0809802310938,
    ("lstm_backward", "dWi[1][2]", "A"): 0.40512433093,
    ("lstm_backward", "dWc[3][1]", "A"): -0.0793746735512,
    ("lstm_backward", "dWo[1][2]", "A"): 0.038948775763,
    ("lstm_backward", "dbf[4]", "A"): [-0.15745657],
    ("lstm_backward", "dbi[4]", "A"): [-0.50848333],
    ("lstm_backward", "dbc[4]", "A"): [-0.42510818],
    ("lstm_backward", "dbo[4]", "A"): [-0.17958196],
}


# ----------------------------------------------------------------------------------- the course's weights

# The layers' own initial draws come from this generator, so they never consume the global np.random stream
# the test cases are drawn from (their values are overwritten by the course's weights anyway).
_SCRATCH = np.random.default_rng(0)


def rnn_cell_from_course(Wax, Waa, ba):
    """nn.RNNCell holding the course's Wax (n_a, n_x), Waa (n_a, n_a), ba (n_a, 1); bias_hh stays 0."""
    n_a, n_x = Wax.shape
    cell = nn.RNNCell(n_x, n_a, dtype=np.float64, generator=_SCRATCH)
    cell.load_state_dict({"weight_ih": Wax, "weight_hh": Waa, "bias_ih": ba.ravel(), "bias_hh": np.zeros(n_a)})
    return cell


def lstm_cell_from_course(Wf, bf, Wi, bi, Wc, bc, Wo, bo):
    """nn.LSTMCell holding the course's gate weights (n_a, n_a + n_x), which act on [a_prev; x]."""
    n_a = Wf.shape[0]
    stacked = np.concatenate([Wi, Wf, Wc, Wo])  # PyTorch's gate order i, f, g, o
    cell = nn.LSTMCell(stacked.shape[1] - n_a, n_a, dtype=np.float64, generator=_SCRATCH)
    cell.load_state_dict({"weight_ih": stacked[:, n_a:], "weight_hh": stacked[:, :n_a],
                          "bias_ih": np.concatenate([bi, bf, bc, bo]).ravel(), "bias_hh": np.zeros(4 * n_a)})
    return cell


def output_layer(Wy, by):
    """y = softmax(Wy a + by) as an nn.Linear (its weight is the course's Wy)."""
    layer = nn.Linear(Wy.shape[1], Wy.shape[0], dtype=np.float64, generator=_SCRATCH)
    layer.load_state_dict({"weight": Wy, "bias": by.ravel()})
    return layer


def lstm_gate_grads(cell):
    """The course's dWf, dWi, dWc, dWo ((n_a, n_a + n_x), columns for [a_prev; x]) and dbf ... from our grads."""
    n_a = cell.hidden_size
    w = np.concatenate([cell.weight_hh.grad.data, cell.weight_ih.grad.data], axis=1)
    b = cell.bias_ih.grad.data
    gates = {"i": slice(0, n_a), "f": slice(n_a, 2 * n_a), "c": slice(2 * n_a, 3 * n_a), "o": slice(3 * n_a, 4 * n_a)}
    return {name: (w[rows], b[rows, None]) for name, rows in gates.items()}


def _rows(a):
    """Course columns (n, m) -> a Tensor of rows (m, n)."""
    return Tensor(np.ascontiguousarray(a.T))


# ----------------------------------------------------------------------------------- forward tests


def rnn_cell_forward_test():
    np.random.seed(1)
    xt, a_prev = np.random.randn(3, 10), np.random.randn(5, 10)
    Waa, Wax, Wya = np.random.randn(5, 5), np.random.randn(5, 3), np.random.randn(2, 5)
    ba, by = np.random.randn(5, 1), np.random.randn(2, 1)
    a_next = rnn_cell_from_course(Wax, Waa, ba)(_rows(xt), _rows(a_prev))
    yt = F.softmax(output_layer(Wya, by)(a_next))
    return {"a_next[4]": a_next.data.T[4], "yt_pred[1]": yt.data.T[1]}


def rnn_forward_test():
    np.random.seed(1)
    x, a0 = np.random.randn(3, 10, 4), np.random.randn(5, 10)
    Waa, Wax, Wya = np.random.randn(5, 5), np.random.randn(5, 3), np.random.randn(2, 5)
    ba, by = np.random.randn(5, 1), np.random.randn(2, 1)
    cell, out = rnn_cell_from_course(Wax, Waa, ba), output_layer(Wya, by)
    a, y, a_next = [], [], _rows(a0)
    for t in range(4):
        a_next = cell(_rows(x[:, :, t]), a_next)
        a.append(a_next.data.T)
        y.append(F.softmax(out(a_next)).data.T)
    a, y = np.stack(a, axis=-1), np.stack(y, axis=-1)
    return {"a[4][1]": a[4][1], "y_pred[1][3]": y[1][3], "caches[1][1][3]": x[1][3]}, ba


def _lstm_test_case(steps=None):
    np.random.seed(1)
    x = np.random.randn(3, 10) if steps is None else np.random.randn(3, 10, steps)
    a0 = np.random.randn(5, 10)
    c0 = np.random.randn(5, 10) if steps is None else np.zeros((5, 10))
    weights = {}
    for name in ("f", "i", "o", "c"):
        weights["W" + name], weights["b" + name] = np.random.randn(5, 5 + 3), np.random.randn(5, 1)
    cell = lstm_cell_from_course(weights["Wf"], weights["bf"], weights["Wi"], weights["bi"], weights["Wc"],
                                 weights["bc"], weights["Wo"], weights["bo"])
    return x, a0, c0, cell


def lstm_cell_forward_test():
    xt, a_prev, c_prev, cell = _lstm_test_case()
    Wy, by = np.random.randn(2, 5), np.random.randn(2, 1)
    a_next, c_next = cell(_rows(xt), (_rows(a_prev), _rows(c_prev)))
    yt = F.softmax(output_layer(Wy, by)(a_next))
    return {"a_next[4]": a_next.data.T[4], "c_next[2]": c_next.data.T[2], "yt[1]": yt.data.T[1],
            "cache[1][3]": c_next.data.T[3]}


def lstm_forward_test():
    x, a0, c0, cell = _lstm_test_case(steps=7)
    Wy, by = np.random.randn(2, 5), np.random.randn(2, 1)
    out = output_layer(Wy, by)
    h, c = _rows(a0), _rows(c0)
    a, y, cs = [], [], []
    for t in range(7):
        h, c = cell(_rows(x[:, :, t]), (h, c))
        a.append(h.data.T)
        cs.append(c.data.T)
        y.append(F.softmax(out(h)).data.T)
    a, y, cs = (np.stack(v, axis=-1) for v in (a, y, cs))
    return {"a[4][3][6]": a[4][3][6], "y[1][4][3]": y[1][4][3], "c[1][2][1]": cs[1][2][1]}


# ----------------------------------------------------------------------------------- backward tests


def rnn_cell_backward_test(version, stale_ba):
    """The cell's gradients seeded with the notebook's da_next. K uses the stale ``ba`` (see the module doc)."""
    np.random.seed(1)
    xt, a_prev = np.random.randn(3, 10), np.random.randn(5, 10)
    Wax, Waa = np.random.randn(5, 3), np.random.randn(5, 5)
    np.random.randn(2, 5)  # Wya: not used by the backward
    b = np.random.randn(5, 1)
    np.random.randn(2, 1)  # by
    cell = rnn_cell_from_course(Wax, Waa, stale_ba if version == "K" else b)
    da_next = np.random.randn(5, 10)
    x, a = Tensor(xt.T, requires_grad=True), Tensor(a_prev.T, requires_grad=True)
    cell(x, a).backward(da_next.T)
    return {"dxt[1][2]": x.grad.data.T[1][2], "da_prev[2][3]": a.grad.data.T[2][3],
            "dWax[3][1]": cell.weight_ih.grad.data[3][1], "dWaa[1][2]": cell.weight_hh.grad.data[1][2],
            "dba[4]": cell.bias_ih.grad.data[4:5]}


def rnn_backward_test():
    np.random.seed(1)
    x, a0 = np.random.randn(3, 10, 4), np.random.randn(5, 10)
    Wax, Waa = np.random.randn(5, 3), np.random.randn(5, 5)
    np.random.randn(2, 5)  # Wya
    ba = np.random.randn(5, 1)
    np.random.randn(2, 1)  # by
    cell = rnn_cell_from_course(Wax, Waa, ba)
    xs = [Tensor(x[:, :, t].T, requires_grad=True) for t in range(4)]
    h0 = Tensor(a0.T, requires_grad=True)
    h, states = h0, []
    for t in range(4):
        h = cell(xs[t], h)
        states.append(h)
    da = np.random.randn(5, 10, 4)
    loss = sum((states[t] * da[:, :, t].T).sum() for t in range(4))  # seeds every a<t> with da[:, :, t]
    loss.backward()
    dx = np.stack([t.grad.data.T for t in xs], axis=-1)
    return {"dx[1][2]": dx[1][2], "da0[2][3]": h0.grad.data.T[2][3], "dWax[3][1]": cell.weight_ih.grad.data[3][1],
            "dWaa[1][2]": cell.weight_hh.grad.data[1][2], "dba[4]": cell.bias_ih.grad.data[4:5]}


def _lstm_course_grads(cell, dx, da0, extra=None):
    grads = lstm_gate_grads(cell)
    result = {"dxt[1][2]" if dx.ndim == 2 else "dx[1][2]": dx[1][2], "da_prev[2][3]" if extra else "da0[2][3]":
              da0[2][3]}
    if extra:
        result.update(extra)
    for name, row_col in (("f", (3, 1)), ("i", (1, 2)), ("c", (3, 1)), ("o", (1, 2))):
        result[f"dW{name}[{row_col[0]}][{row_col[1]}]"] = grads[name][0][row_col]
    for name in "fico":
        result[f"db{name}[4]"] = grads[name][1][4]
    return result


def lstm_cell_backward_test():
    xt, a_prev, c_prev, cell = _lstm_test_case()
    np.random.randn(2, 5), np.random.randn(2, 1)  # Wy, by
    x, a, c = (Tensor(v.T, requires_grad=True) for v in (xt, a_prev, c_prev))
    h_next, c_next = cell(x, (a, c))
    da_next, dc_next = np.random.randn(5, 10), np.random.randn(5, 10)
    ((h_next * da_next.T).sum() + (c_next * dc_next.T).sum()).backward()
    return _lstm_course_grads(cell, x.grad.data.T, a.grad.data.T, {"dc_prev[2][3]": c.grad.data.T[2][3]})


def lstm_backward_test(version):
    """A: backpropagation through time. K: every step differentiated on its own (incoming states detached)."""
    x, a0, c0, cell = _lstm_test_case(steps=7)
    xs = [Tensor(x[:, :, t].T, requires_grad=True) for t in range(7)]
    h0 = Tensor(a0.T, requires_grad=True)
    h, c, states = h0, Tensor(c0.T), []
    for t in range(7):
        if version == "K" and t > 0:
            h, c = h.detach(), c.detach()
        h, c = cell(xs[t], (h, c))
        states.append(h)
    da = np.random.randn(5, 10, 4)
    sum((states[t] * da[:, :, t].T).sum() for t in range(4)).backward()  # the notebook's da covers 4 steps
    dx = np.stack([xs[t].grad.data.T for t in range(4)], axis=-1)
    return _lstm_course_grads(cell, dx, h0.grad.data.T)


# ----------------------------------------------------------------------------------- run and report


def run():
    """Every test of the notebook; returns {(section, name, version): our value} and the largest difference."""
    ours = {}

    def add(section, values, version=""):
        for name, value in values.items():
            ours[(section, name, version)] = np.asarray(value, dtype=np.float64)

    add("rnn_cell_forward", rnn_cell_forward_test())
    forward_values, rnn_forward_ba = rnn_forward_test()
    add("rnn_forward", forward_values)
    add("lstm_cell_forward", lstm_cell_forward_test())
    add("lstm_forward", lstm_forward_test())
    add("rnn_cell_backward", rnn_cell_backward_test("K", rnn_forward_ba), "K")
    add("rnn_cell_backward", rnn_cell_backward_test("A", rnn_forward_ba), "A")
    add("rnn_backward", rnn_backward_test())
    add("lstm_cell_backward", lstm_cell_backward_test())
    add("lstm_backward", lstm_backward_test("K"), "K")
    add("lstm_backward", lstm_backward_test("A"), "A")
    differences = {key: float(np.max(np.abs(ours[key] - np.asarray(expected)))) for key, expected in COURSE.items()}
    return {"values": ours, "differences": differences, "max_difference": max(differences.values())}


def _short(value):
    flat = np.ravel(value)
    text = " ".join(f"{v:.8f}" for v in flat[:3])
    return text + (" ..." if flat.size > 3 else "")


def results_rows(results):
    rows = []
    for (section, name, version), expected in COURSE.items():
        label = f"{section} {name}" + (f" ({version})" if version else "")
        rows.append((label, _short(expected), _short(results["values"][(section, name, version)])))
    rows.append(("largest |ours - course|", "< 1e-8", f"{results['max_difference']:.2e}"))
    return rows


def main(argv=None):
    parser = common.make_parser(NAME, DESCRIPTION)
    parser.parse_args(argv)
    return common.run_and_report(run, results_rows, "RNN and LSTM step by step (C5 W1 A1); K = 2018 notebook, "
                                                    "A = later notebook")


if __name__ == "__main__":
    main()
