"""Convolutional Model: Step by Step (Course 4, week 1, assignment 1) with ``nn.functional`` and autograd.

The notebook writes zero_pad, conv_single_step, conv_forward, pool_forward, conv_backward and
pool_backward as NumPy loops and checks them on random test cases. Here every test case runs through the
library instead: ``F.pad``, ``F.conv2d``, ``F.max_pool2d`` / ``F.avg_pool2d`` forward, and the backward
values come from autograd, seeding ``backward`` with the course's dZ (= Z) or dA. The course's arrays are
NHWC with weights (f, f, n_C_prev, n_C); ours are NCHW with weights (n_C, n_C_prev, f, f), so the test
cases are transposed on the way in and the results on the way out. All in float64, so the notebooks'
printed values come out to every printed digit.

Both notebook versions are reproduced:

* v2a (2019+): pad 1 / stride 2 forward test, strided pooling tests, pad 2 / stride 2 backward test;
* v1 (2017): its conv_single_step adds b to every product before summing (``s = a_slice * W + b``), so
  its convolutions count the bias f·f·n_C_prev times; we pass that scaled bias to ``F.conv2d``.

    python -m demos.conv_step_by_step
"""
import numpy as np

import tinygrad_dl.nn.functional as F
from tinygrad_dl import Tensor

from .common import make_parser, run_and_report

NAME = "conv_step_by_step"
TOLERANCE = 1e-8  # every published value must be matched to this (absolute) difference

# The notebooks' printed values (COURSE.md 4.1; amanchadha v2a, Kulbear v1).
COURSE = {
    "zero_pad: x[1,1]": [[0.90085595, -0.68372786], [-0.12289023, -0.93576943], [-0.26788808, 0.53035547]],
    "zero_pad: x_pad[1,1]": np.zeros((7, 2)),
    "v2a conv_single_step: Z": -6.99908945068,
    "v2a conv_forward: Z's mean": 0.692360880758,
    "v2a conv_forward: Z[3,2,1]": [-1.28912231, 2.27650251, 6.61941931, 0.95527176, 8.25132576, 2.31329639,
                                   13.00689405, 2.34576051],
    "v2a conv_forward: cache_conv[0][1][2][3]": [-1.1191154, 1.9560789, -0.3264995, -1.34267579],
    "v2a pool_forward stride 1: max A": [
        [[[1.74481176, 0.90159072, 1.65980218], [1.74481176, 1.46210794, 1.65980218],
          [1.74481176, 1.6924546, 1.65980218]],
         [[1.14472371, 0.90159072, 2.10025514], [1.14472371, 0.90159072, 1.65980218],
          [1.14472371, 1.6924546, 1.65980218]],
         [[1.13162939, 1.51981682, 2.18557541], [1.13162939, 1.51981682, 2.18557541],
          [1.13162939, 1.6924546, 2.18557541]]],
        [[[1.19891788, 0.84616065, 0.82797464], [0.69803203, 0.84616065, 1.2245077],
          [0.69803203, 1.12141771, 1.2245077]],
         [[1.96710175, 0.84616065, 1.27375593], [1.96710175, 0.84616065, 1.23616403],
          [1.62765075, 1.12141771, 1.2245077]],
         [[1.96710175, 0.86888616, 1.27375593], [1.96710175, 0.86888616, 1.23616403],
          [1.62765075, 1.12141771, 0.79280687]]]],
    "v2a pool_forward stride 1: average A": [
        [[[-3.01046719e-02, -3.24021315e-03, -3.36298859e-01], [1.43310483e-01, 1.93146751e-01, -4.44905196e-01],
          [1.28934436e-01, 2.22428468e-01, 1.25067597e-01]],
         [[-3.81801899e-01, 1.59993515e-02, 1.70562706e-01], [4.73707165e-02, 2.59244658e-02, 9.20338402e-02],
          [3.97048605e-02, 1.57189094e-01, 3.45302489e-01]],
         [[-3.82680519e-01, 2.32579951e-01, 6.25997903e-01], [-2.47157416e-01, -3.48524998e-04, 3.50539717e-01],
          [-9.52551510e-02, 2.68511000e-01, 4.66056368e-01]]],
        [[[-1.73134159e-01, 3.23771981e-01, -3.43175716e-01], [3.80634669e-02, 7.26706274e-02, -2.30268958e-01],
          [2.03009393e-02, 1.41414785e-01, -1.23158476e-02]],
         [[4.44976963e-01, -2.61694592e-03, -3.10403073e-01], [5.08114737e-01, -2.34937338e-01, -2.39611830e-01],
          [1.18726772e-01, 1.72552294e-01, -2.21121966e-01]],
         [[4.29449255e-01, 8.44699612e-02, -2.72909051e-01], [6.76351685e-01, -1.20138225e-01, -2.44076712e-01],
          [1.50774518e-01, 2.89111751e-01, 1.23238536e-03]]]],
    "v2a pool_forward stride 2: max A": [
        [[[1.74481176, 0.90159072, 1.65980218], [1.74481176, 1.6924546, 1.65980218]],
         [[1.13162939, 1.51981682, 2.18557541], [1.13162939, 1.6924546, 2.18557541]]],
        [[[1.19891788, 0.84616065, 0.82797464], [0.69803203, 1.12141771, 1.2245077]],
         [[1.96710175, 0.86888616, 1.27375593], [1.62765075, 1.12141771, 0.79280687]]]],
    "v2a pool_forward stride 2: average A": [
        [[[-0.03010467, -0.00324021, -0.33629886], [0.12893444, 0.22242847, 0.1250676]],
         [[-0.38268052, 0.23257995, 0.6259979], [-0.09525515, 0.268511, 0.46605637]]],
        [[[-0.17313416, 0.32377198, -0.34317572], [0.02030094, 0.14141479, -0.01231585]],
         [[0.42944926, 0.08446996, -0.27290905], [0.15077452, 0.28911175, 0.00123239]]]],
    "v2a conv_backward: dA_mean": 1.45243777754,
    "v2a conv_backward: dW_mean": 1.72699145831,
    "v2a conv_backward: db_mean": 7.83923256462,
    "v1 conv_single_step: Z": -23.1602122025,
    "v1 conv_forward: Z's mean": 0.155859324889,
    "v1 conv_forward: cache_conv[0][1][2][3]": [-0.20075807, 0.18656139, 0.41005165],
    "v1 pool_forward f=4: max A": [[[[1.74481176, 1.6924546, 2.10025514]]], [[[1.19891788, 1.51981682, 2.18557541]]]],
    "v1 pool_forward f=4: average A": [[[[-0.09498456, 0.11180064, -0.14263511]]],
                                        [[[-0.09525108, 0.28325018, 0.33035185]]]],
    "v1 conv_backward: dA_mean": 9.60899067587,
    "v1 conv_backward: dW_mean": 10.5817412755,
    "v1 conv_backward: db_mean": 76.3710691956,
    "create_mask_from_window: mask": [[True, False, False], [False, False, False]],
    "distribute_value(2, (2, 2))": [[0.5, 0.5], [0.5, 0.5]],
    "pool_backward: mean of dA": 0.145713902729,
    "pool_backward max: dA_prev[1,1]": [[0.0, 0.0], [5.05844394, -1.68282702], [0.0, 0.0]],
    "pool_backward average: dA_prev[1,1]": [[0.08485462, 0.2787552], [1.26461098, -0.25749373],
                                           [1.17975636, -0.53624893]],
}


# ------------------------------------------------------------------------------- layout conversions


def nchw(a):
    """The course's (m, n_H, n_W, n_C) as our (m, n_C, n_H, n_W)."""
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


def nhwc(a):
    """Our (m, n_C, n_H, n_W) back as the course's (m, n_H, n_W, n_C)."""
    return a.transpose(0, 2, 3, 1)


def conv_weight(W):
    """The course's W (f, f, n_C_prev, n_C) as our weight (n_C, n_C_prev, f, f)."""
    return np.ascontiguousarray(W.transpose(3, 2, 0, 1))


def conv_weight_back(w):
    return w.transpose(2, 3, 1, 0)


# ------------------------------------------------------------------------------------- the cases


def zero_pad_case():
    np.random.seed(1)
    x = np.random.randn(4, 3, 3, 2)
    x_pad = nhwc(F.pad(Tensor(nchw(x)), (2, 2, 2, 2)).numpy())  # W then H, PyTorch's order
    return {"zero_pad: x.shape / x_pad.shape": f"{x.shape} / {x_pad.shape}", "zero_pad: x[1,1]": x[1, 1],
            "zero_pad: x_pad[1,1]": x_pad[1, 1]}


def _bias_times(version, f, n_c_prev):
    """How many times the course's conv_single_step counts b: once (v2a), or f·f·n_C_prev times (v1)."""
    return 1 if version == "v2a" else f * f * n_c_prev


def conv_single_step_case(version):
    """One window: a (1, n_C_prev, f, f) input convolved with one (1, n_C_prev, f, f) filter."""
    np.random.seed(1)
    a_slice_prev, W, b = np.random.randn(4, 4, 3), np.random.randn(4, 4, 3), np.random.randn(1, 1, 1)
    weight = conv_weight(W[..., None])
    bias = b.reshape(1) * _bias_times(version, 4, 3)
    Z = F.conv2d(Tensor(nchw(a_slice_prev[None])), Tensor(weight), Tensor(bias))
    return {f"{version} conv_single_step: Z": Z.item()}


def _conv_layer(A_prev, W, b, pad, stride, version):
    """Z = conv(A_prev, W) + b in our layout, with the leaves that need gradients."""
    f, n_c_prev = W.shape[0], W.shape[2]
    x = Tensor(nchw(A_prev), requires_grad=True)
    weight = Tensor(conv_weight(W), requires_grad=True)
    bias = Tensor(b.reshape(-1) * _bias_times(version, f, n_c_prev), requires_grad=True)
    return F.conv2d(x, weight, bias, stride=stride, padding=pad), (x, weight, bias)


def conv_forward_case(version):
    np.random.seed(1)
    if version == "v2a":
        A_prev, W, b = np.random.randn(10, 5, 7, 4), np.random.randn(3, 3, 4, 8), np.random.randn(1, 1, 1, 8)
        pad, stride = 1, 2
    else:
        A_prev, W, b = np.random.randn(10, 4, 4, 3), np.random.randn(2, 2, 3, 8), np.random.randn(1, 1, 1, 8)
        pad, stride = 2, 1
    Z, (x, _, _) = _conv_layer(A_prev, W, b, pad, stride, version)
    Z_course = nhwc(Z.numpy())
    results = {f"{version} conv_forward: Z's mean": float(np.mean(Z_course)),
               f"{version} conv_forward: cache_conv[0][1][2][3]": nhwc(x.numpy())[1][2][3]}  # A_prev, as cached
    if version == "v2a":
        results["v2a conv_forward: Z[3,2,1]"] = Z_course[3, 2, 1]
    return results


def pool_forward_case(version):
    np.random.seed(1)
    results = {}
    if version == "v2a":
        A_prev = np.random.randn(2, 5, 5, 3)
        cases = [("stride 1", 3, 1), ("stride 2", 3, 2)]
    else:
        A_prev = np.random.randn(2, 4, 4, 3)
        cases = [("f=4", 4, 1)]
    x = Tensor(nchw(A_prev))
    for label, f, stride in cases:
        results[f"{version} pool_forward {label}: max A"] = nhwc(F.max_pool2d(x, f, stride).numpy())
        results[f"{version} pool_forward {label}: average A"] = nhwc(F.avg_pool2d(x, f, stride).numpy())
    return results


def conv_backward_case(version):
    """The course runs conv_backward(Z, cache): the gradient seeded at Z is Z itself."""
    np.random.seed(1)
    A_prev, W, b = np.random.randn(10, 4, 4, 3), np.random.randn(2, 2, 3, 8), np.random.randn(1, 1, 1, 8)
    stride = 2 if version == "v2a" else 1
    Z, (x, weight, bias) = _conv_layer(A_prev, W, b, 2, stride, version)
    Z.backward(Z.numpy())  # dZ = Z
    dA, dW, db = nhwc(x.grad.numpy()), conv_weight_back(weight.grad.numpy()), bias.grad.numpy().reshape(1, 1, 1, -1)
    return {f"{version} conv_backward: dA_mean": float(np.mean(dA)),
            f"{version} conv_backward: dW_mean": float(np.mean(dW)),
            f"{version} conv_backward: db_mean": float(np.mean(db))}


def pool_backward_case():
    """Max pooling routes each window's gradient to the window's max; average pooling spreads it evenly."""
    results = {}
    np.random.seed(1)
    window = np.random.randn(2, 3)  # create_mask_from_window's test: one window holding the whole array
    x = Tensor(window[None, None], requires_grad=True)
    F.max_pool2d(x, (2, 3)).backward(np.ones((1, 1, 1, 1)))
    results["create_mask_from_window: mask"] = x.grad.numpy()[0, 0] == 1
    x = Tensor(np.zeros((1, 1, 2, 2)), requires_grad=True)
    F.avg_pool2d(x, 2).backward(np.full((1, 1, 1, 1), 2.0))  # distribute_value(2, (2, 2))
    results["distribute_value(2, (2, 2))"] = x.grad.numpy()[0, 0]
    np.random.seed(1)
    A_prev = np.random.randn(5, 5, 3, 2)
    dA = np.random.randn(5, 4, 2, 2)
    results["pool_backward: mean of dA"] = float(np.mean(dA))
    for mode, pool in (("max", F.max_pool2d), ("average", F.avg_pool2d)):
        x = Tensor(nchw(A_prev), requires_grad=True)
        pool(x, 2, 1).backward(nchw(dA))
        results[f"pool_backward {mode}: dA_prev[1,1]"] = nhwc(x.grad.numpy())[1, 1]
    return results


def run(quiet=True, out=None):
    """Every test case of both notebook versions; returns {metric: our value}."""
    results = {}
    results.update(zero_pad_case())
    for version in ("v2a", "v1"):
        results.update(conv_single_step_case(version))
        results.update(conv_forward_case(version))
        results.update(pool_forward_case(version))
        results.update(conv_backward_case(version))
    results.update(pool_backward_case())
    return results


def max_error(results):
    """{metric: max |ours - course|} over every published value."""
    errors = {}
    for name, course in COURSE.items():
        ours = np.asarray(results[name], dtype=float)
        errors[name] = float(np.max(np.abs(ours - np.asarray(course, dtype=float))))
    return errors


def _short(value):
    value = np.asarray(value)
    if value.ndim == 0:
        return float(value) if value.dtype.kind == "f" else value.item()
    flat = np.round(value.astype(float).ravel(), 8)
    text = " ".join(f"{v:.8g}" for v in flat[:4])
    return f"[{text}{' ...' if flat.size > 4 else ''}] {value.shape}"


def results_rows(results):
    errors = max_error(results)
    rows = []
    for name, ours in results.items():
        course = COURSE.get(name, "(shapes)" if "shape" in name else None)
        rows.append((name, _short(course) if course is not None and not isinstance(course, str) else course,
                     _short(ours) if not isinstance(ours, str) else ours))
    worst = max(errors.values())
    rows.append((f"largest |ours - course| over {len(errors)} published values", f"<= {TOLERANCE:g}", worst))
    return rows


def main(argv=None):
    parser = make_parser(NAME, "Course 4 week 1: the conv/pool step-by-step test cases through nn.functional and "
                               "autograd")
    parser.add_argument("--quick", action="store_true", help="accepted for symmetry: this demo takes a second")
    args = parser.parse_args(argv)
    return run_and_report(lambda: run(quiet=args.quiet, out=args.out), results_rows,
                          "Convolution step by step (C4 W1): NHWC test cases through F.conv2d / pooling + autograd")


if __name__ == "__main__":
    main()
