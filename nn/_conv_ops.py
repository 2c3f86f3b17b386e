"""The ``Function`` subclasses behind convolution and pooling, and the NumPy kernels they run.

Every op works on NCHW arrays (a 1-D convolution is run as a 2-D one of height 1) and is one graph node.
The geometry of the sliding windows (kernel, stride, dilation, padding, output size) is worked out once by
the caller (``window_geometry``) and handed to the op as a keyword argument.

The kernels are im2col-style: the windows of the (padded) input are a strided view made by
``sliding_window_view`` (no copy, no Python loop over pixels), copied once into a column matrix, and
reduced by one BLAS matrix product per group. The way back ("col2im", ``_fold``) adds the window-shaped
gradients into the input by looping over the kernel offsets only (kh * kw slices, each a whole-array add),
never with ``np.add.at``.

Second derivatives (``create_graph=True``): the ops come in families closed under differentiation, so a
backward handed Tensors simply calls the family's other ``Function``s, which are recorded like any op:

* ``Convolution(x, w)`` (bilinear): dx = ``ConvInputGrad(grad, w)`` (a transposed convolution) and
  dw = ``ConvWeightGrad(x, grad)``; the backward of each of those is again made of the three.
* pooling is linear in its input once the windows' winners are fixed: ``MaxPool2d`` routes its gradient
  with ``RouteToWinners``, whose adjoint is ``PickWinners``; ``AvgPool2d``'s adjoint is ``AvgPoolAdjoint``.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinygrad_dl import Function, Tensor

# ----------------------------------------------------------------------------------------------------
# Geometry


class WindowGeometry:
    """Where the windows of a conv/pool call sit. Shapes are NCHW (1-D inputs lifted to height 1).

    input_shape (N, C, H, W); kernel (kh, kw); stride, dilation (pairs); padding (top, bottom, left, right);
    output_hw (Ho, Wo); groups; weight_shape (conv only, 4-D); original_input_shape and
    original_weight_shape (3-D for a 1-D convolution).
    """

    __slots__ = ("input_shape", "kernel", "stride", "dilation", "padding", "output_hw", "groups", "weight_shape",
                 "original_input_shape", "original_weight_shape")

    def __init__(self, input_shape, kernel, stride, dilation, padding, output_hw, groups=1, weight_shape=None,
                 original_input_shape=None, original_weight_shape=None):
        self.input_shape, self.kernel, self.stride, self.dilation = input_shape, kernel, stride, dilation
        self.padding, self.output_hw, self.groups, self.weight_shape = padding, output_hw, groups, weight_shape
        self.original_input_shape = original_input_shape or input_shape
        self.original_weight_shape = original_weight_shape or weight_shape

    @property
    def padded_hw(self):
        top, bottom, left, right = self.padding
        return self.input_shape[2] + top + bottom, self.input_shape[3] + left + right

    @property
    def tiles(self):
        """True when the windows tile the input exactly side by side (stride == kernel, no dilation)."""
        return self.stride == self.kernel and self.dilation == (1, 1)

    def __repr__(self):
        top, bottom, left, right = self.padding
        text = f"kernel={self.kernel}, stride={self.stride}"
        if any(self.padding):
            text += f", padding={(top, bottom, left, right) if (top, left) != (bottom, right) else (top, left)}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text


def pair(op, name, value, minimum):
    """An int or a pair of ints as a pair, each at least ``minimum`` (a clear error otherwise)."""
    values = (value, value) if isinstance(value, (int, np.integer)) else tuple(value) if isinstance(
        value, (tuple, list)) else None
    if (values is None or len(values) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in values)):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return int(values[0]), int(values[1])


def same_padding(size, kernel, stride, dilation):
    """TensorFlow's SAME: output ceil(size / stride); the padding that needs, with the odd one at the end."""
    extent = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + extent - size, 0)
    return total // 2, total - total // 2


def window_geometry(op, input_shape, kernel, stride, padding, dilation, groups=1, weight_shape=None,
                    limit_padding=False):
    """Check the window arguments against a 4-D input shape and return a ``WindowGeometry``.

    padding: an int, a pair (each side of H and of W), "valid" (none) or "same" (TensorFlow's SAME for any
    stride: the output has ceil(size / stride) entries; an odd total puts the extra row/column at the
    bottom/right). ``limit_padding``: pooling's limit of an int padding to half the kernel (PyTorch's rule),
    so every window holds at least one real element.
    """
    kernel = pair(op, "kernel_size", kernel, 1)
    stride = pair(op, "stride", stride, 1)
    dilation = pair(op, "dilation", dilation, 1)
    height, width = input_shape[2], input_shape[3]
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            pads = same_padding(height, kernel[0], stride[0], dilation[0]) + same_padding(
                width, kernel[1], stride[1], dilation[1])
        else:
            raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    else:
        pad_h, pad_w = pair(op, "padding", padding, 0)
        pads = (pad_h, pad_h, pad_w, pad_w)
        if limit_padding and (pad_h > kernel[0] // 2 or pad_w > kernel[1] // 2):
            raise ValueError(f"{op}: padding {padding!r} must be at most half the kernel size {kernel} (every "
                             "window must contain at least one element of the input)")
    top, bottom, left, right = pads
    extent = ((kernel[0] - 1) * dilation[0] + 1, (kernel[1] - 1) * dilation[1] + 1)
    padded = (height + top + bottom, width + left + right)
    if extent[0] > padded[0] or extent[1] > padded[1]:
        dilated = f" (dilated to {extent[0]}x{extent[1]})" if dilation != (1, 1) else ""
        raise ValueError(f"{op}: the kernel {kernel[0]}x{kernel[1]}{dilated} is larger than the padded input "
                         f"{padded[0]}x{padded[1]} (input of shape {tuple(input_shape)}, padding "
                         f"{padding!r})")
    output_hw = ((padded[0] - extent[0]) // stride[0] + 1, (padded[1] - extent[1]) // stride[1] + 1)
    return WindowGeometry(tuple(input_shape), kernel, stride, dilation, pads, output_hw, groups, weight_shape)


# ----------------------------------------------------------------------------------------------------
# NumPy kernels (arrays in, arrays out)


def _pad(x, geometry, value=0.0):
    """x with ``geometry.padding`` added around H and W (x itself when there is none)."""
    top, bottom, left, right = geometry.padding
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    shape = (n, c, h + top + bottom, w + left + right)
    out = np.zeros(shape, dtype=x.dtype) if value == 0 else np.full(shape, value, dtype=x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def _windows(padded, geometry):
    """The read-only view (N, C, Ho, Wo, kh, kw) of every window: view[n, c, i, j, a, b] =
    padded[n, c, i*sh + a*dh, j*sw + b*dw]. No copy."""
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel, geometry.stride, geometry.dilation
    ho, wo = geometry.output_hw
    view = sliding_window_view(padded, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))
    return view[:, :, :(ho - 1) * sh + 1:sh, :(wo - 1) * sw + 1:sw, ::dh, ::dw]


def _fold(patches, geometry):
    """The adjoint of ``_windows``: add patches[n, c, a, b, i, j] into x[n, c, i*sh + a*dh, j*sw + b*dw]
    (a zero (N, C, Hp, Wp) array), then cut the padding off. Returns an (N, C, H, W) array.

    The loop runs over the kernel offsets (a, b) only; each step adds one whole strided slice. When the
    windows tile the input (stride == kernel) every patch is written in place by one copy instead.
    """
    padded, tiles = _fold_target(patches.dtype, geometry)
    if tiles is not None:
        tiles[...] = patches.transpose(0, 1, 4, 2, 5, 3)
    else:
        for (a, b), target in _offset_slices(padded, geometry):
            target += patches[:, :, a, b]
    return _crop(padded, geometry)


def _fold_target(dtype, geometry):
    """The (N, C, Hp, Wp) array a fold adds into and, when the windows tile it, its (N, C, Ho, kh, Wo, kw)
    view (a reshape of a slice: no copy), every element of which a tiling fold writes exactly once.

    Like a convolution's output, the array is stored channel-major ((C, N, Hp, Wp) in memory): the
    gradients that flow on from it keep that order, which a convolution's backward reads without a copy.
    """
    n, c = geometry.input_shape[:2]
    (kh, kw), (ho, wo) = geometry.kernel, geometry.output_hw
    hp, wp = geometry.padded_hw
    if not geometry.tiles:
        return np.zeros((c, n, hp, wp), dtype=dtype).transpose(1, 0, 2, 3), None
    covered = (ho * kh, wo * kw) == (hp, wp)
    padded = (np.empty if covered else np.zeros)((c, n, hp, wp), dtype=dtype).transpose(1, 0, 2, 3)
    tiles = padded[:, :, :ho * kh, :wo * kw].reshape(n, c, ho, kh, wo, kw)
    assert tiles.base is padded.base  # a view: writing the tiles writes the array
    return padded, tiles


def _offset_slices(padded, geometry):
    """((a, b), the strided (N, C, Ho, Wo) view of ``padded`` that kernel offset (a, b) reads) for every offset."""
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel, geometry.stride, geometry.dilation
    ho, wo = geometry.output_hw
    for a in range(kh):
        rows = slice(a * dh, a * dh + (ho - 1) * sh + 1, sh)
        for b in range(kw):
            yield (a, b), padded[:, :, rows, b * dw:b * dw + (wo - 1) * sw + 1:sw]


def _crop(padded, geometry):
    top, bottom, left, right = geometry.padding
    if not (top or bottom or left or right):
        return padded
    h, w = geometry.input_shape[2:]
    return padded[:, :, top:top + h, left:left + w]


def _lift(array, shape4):
    """A 1-D convolution's (N, C, L) arrays as (N, C, 1, L); 4-D arrays unchanged."""
    return array if array.ndim == 4 else array.reshape(shape4)


def _columns(x, geometry):
    """im2col: (groups, C/groups * kh * kw, N * Ho * Wo), rows ordered like the weight's (C, kh, kw) axes."""
    x = _lift(x, geometry.input_shape)
    n, c = x.shape[:2]
    (kh, kw), (ho, wo) = geometry.kernel, geometry.output_hw
    windows = _windows(_pad(x, geometry), geometry)  # (N, C, Ho, Wo, kh, kw) view
    cols = np.empty((c, kh, kw, n, ho, wo), dtype=x.dtype)
    cols[...] = windows.transpose(1, 4, 5, 0, 2, 3)  # the one copy of the forward pass
    return cols.reshape(geometry.groups, -1, n * ho * wo)


def _grad_rows(grad, geometry):
    """An output-shaped (N, C_out, Ho, Wo) gradient as (groups, C_out/groups, N * Ho * Wo)."""
    c_out = geometry.weight_shape[0]
    grad = _lift(grad, (grad.shape[0], c_out) + geometry.output_hw)
    return grad.transpose(1, 0, 2, 3).reshape(geometry.groups, c_out // geometry.groups, -1)


def conv_forward_kernel(x, weight, geometry, bias=None):
    """(output (N, C_out, Ho, Wo) [3-D for 1-D convolutions], the columns of x for the weight gradient).

    The output is a transposed view of the (C_out, N, Ho, Wo) product: elementwise ops keep that memory
    order, which is the order the next convolution's columns and this one's backward read fastest.
    """
    cols = _columns(x, geometry)
    c_out = geometry.weight_shape[0]
    out = _matmul(weight.reshape(geometry.groups, c_out // geometry.groups, -1), cols)  # (G, C_out/G, N*Ho*Wo)
    out = out.reshape(c_out, -1)
    if bias is not None:
        if bias.dtype == out.dtype:
            out += bias[:, None]  # a fresh array: add in place
        else:
            out = out + bias[:, None]
    n = geometry.input_shape[0]
    out = out.reshape(c_out, n, *geometry.output_hw).transpose(1, 0, 2, 3)
    if len(geometry.original_input_shape) == 3:
        out = out.reshape(n, c_out, geometry.output_hw[1])
    return out, cols


def conv_input_grad_kernel(grad, weight, geometry, grad_rows=None):
    """dL/dx of a convolution: the columns' gradient W^T @ grad folded back into the input's shape."""
    if grad_rows is None:
        grad_rows = _grad_rows(grad, geometry)
    c_out = geometry.weight_shape[0]
    n, c = geometry.input_shape[:2]
    (kh, kw), (ho, wo) = geometry.kernel, geometry.output_hw
    weight_rows = weight.reshape(geometry.groups, c_out // geometry.groups, -1)
    grad_cols = _matmul(weight_rows.transpose(0, 2, 1), grad_rows)  # (G, C/G * kh * kw, N * Ho * Wo)
    patches = grad_cols.reshape(c, kh, kw, n, ho, wo).transpose(3, 0, 1, 2, 4, 5)
    return _fold(patches, geometry).reshape(geometry.original_input_shape)


def conv_weight_grad_kernel(x, grad, geometry, cols=None, grad_rows=None):
    """dL/dweight of a convolution: grad @ columns^T, per group (``cols`` reuses the forward's columns)."""
    if cols is None:
        cols = _columns(x, geometry)
    if grad_rows is None:
        grad_rows = _grad_rows(grad, geometry)
    grad_w = _matmul(grad_rows, cols.transpose(0, 2, 1))  # (G, C_out/G, C/G * kh * kw)
    return grad_w.reshape(geometry.original_weight_shape)


def _matmul(a, b):
    """Per-group products of (G, m, k) and (G, k, n); one plain 2-D product when G is 1 (a little faster)."""
    if a.shape[0] == 1:
        return (a[0] @ b[0])[None]
    return a @ b


# Up to this many offsets per window, max pooling loops over the offsets with whole-array ufuncs on strided
# views (no copy); larger windows are copied as rows of kh * kw values and reduced with argmax (fewer,
# bigger operations).
_FEW_OFFSETS = 9


def max_pool_kernel(x, geometry):
    """(the max of every window, the index of its winner in the window's row-major kh * kw offsets).

    Padding is -inf, so it never wins. Ties: the first maximum in row-major window order (the top-most,
    then left-most) wins, so exactly one element of each window receives the gradient.
    """
    kh, kw = geometry.kernel
    padded = _pad(x, geometry, -np.inf)
    if kh * kw > _FEW_OFFSETS:
        n, c = x.shape[:2]
        rows = _windows(padded, geometry).reshape(n, c, *geometry.output_hw, kh * kw)  # a copy
        winners = rows.argmax(axis=-1)  # argmax returns the first maximum
        return np.take_along_axis(rows, winners[..., None], axis=-1)[..., 0], winners
    offsets = [view for _, view in _offset_slices(padded, geometry)]  # strided views, no copy
    best = offsets[0].copy(order="K")  # keeps a convolution output's channel-major memory order
    winners = np.zeros(best.shape, dtype=np.uint8)
    better = np.empty(best.shape, dtype=bool)
    offset = np.empty(best.shape, dtype=np.uint8)
    for t in range(1, len(offsets)):
        np.greater(offsets[t], best, out=better)  # strictly greater: an equal later value does not take over
        np.maximum(best, offsets[t], out=best)
        # winners = where(better, t, winners), branch-free (a masked copy is several times slower here):
        # t is larger than every index stored so far
        np.multiply(better, np.uint8(t), out=offset)
        np.maximum(winners, offset, out=winners)
    return best, winners


def route_to_winners_kernel(grad, winners, geometry):
    """Each window's gradient to its winner (the adjoint of ``pick_winners_kernel``)."""
    (kh, kw), (n, c) = geometry.kernel, geometry.input_shape[:2]
    if kh * kw > _FEW_OFFSETS:
        ho, wo = geometry.output_hw
        rows = np.zeros((n, c, ho, wo, kh * kw), dtype=grad.dtype)
        np.put_along_axis(rows, winners[..., None], grad[..., None], axis=-1)
        return _fold(rows.reshape(n, c, ho, wo, kh, kw).transpose(0, 1, 4, 5, 2, 3), geometry)
    padded, tiles = _fold_target(grad.dtype, geometry)
    for (a, b), target in _offset_slices(padded, geometry):
        routed = grad * (winners == a * kw + b)
        if tiles is not None:
            tiles[:, :, :, a, :, b] = routed  # windows do not overlap: each element is written once
        else:
            target += routed
    return _crop(padded, geometry)


def pick_winners_kernel(values, winners, geometry):
    """values (input-shaped) read at each window's winner: an output-shaped array."""
    (kh, kw), (n, c) = geometry.kernel, values.shape[:2]
    windows = _windows(_pad(values, geometry), geometry)
    if kh * kw > _FEW_OFFSETS:
        rows = windows.reshape(n, c, *geometry.output_hw, kh * kw)
        return np.take_along_axis(rows, winners[..., None], axis=-1)[..., 0]
    out = np.zeros(winners.shape, dtype=values.dtype)
    for a in range(kh):
        for b in range(kw):
            out += windows[..., a, b] * (winners == a * kw + b)
    return out


def avg_pool_kernel(x, geometry, divisor):
    """The sum of every window divided by ``divisor`` (a number, or an (Ho, Wo) array of counts)."""
    return _windows(_pad(x, geometry), geometry).sum(axis=(4, 5)) / divisor


def avg_pool_adjoint_kernel(grad, geometry, divisor):
    """Each window's gradient spread evenly over the window (the adjoint of ``avg_pool_kernel``)."""
    n, c = geometry.input_shape[:2]
    (kh, kw), (ho, wo) = geometry.kernel, geometry.output_hw
    share = grad / divisor
    return _fold(np.broadcast_to(share[:, :, None, None], (n, c, kh, kw, ho, wo)), geometry)


# ----------------------------------------------------------------------------------------------------
# Functions. Each backward runs the kernels on arrays, or the family's Functions on Tensors (create_graph).


def _recorded(*values):
    return any(isinstance(v, Tensor) for v in values)


def _show_arguments(ctx, geometry):
    """Plain attributes that graph pictures print under the op's name."""
    ctx.kernel, ctx.stride = geometry.kernel, geometry.stride
    if any(geometry.padding):
        ctx.padding = geometry.padding


def convolve(x, weight, geometry):
    """conv(x, weight) without bias, on arrays or (recorded) on Tensors."""
    if _recorded(x, weight):
        return Convolution.apply(x, weight, None, geometry=geometry)
    return conv_forward_kernel(x, weight, geometry)[0]


def conv_input_grad(grad, weight, geometry):
    if _recorded(grad, weight):
        return ConvInputGrad.apply(grad, weight, geometry=geometry)
    return conv_input_grad_kernel(grad, weight, geometry)


def conv_weight_grad(x, grad, geometry):
    if _recorded(x, grad):
        return ConvWeightGrad.apply(x, grad, geometry=geometry)
    return conv_weight_grad_kernel(x, grad, geometry)


class Convolution(Function):
    """``conv(x, weight) + bias`` (cross-correlation, as in every framework) for NCHW x, weight
    (C_out, C_in/groups, kh, kw) and bias (C_out,) or None; also 1-D: x (N, C, L), weight (C_out, C/groups, k)."""

    @staticmethod
    def forward(ctx, x, weight, bias, geometry):
        ctx.geometry = geometry
        _show_arguments(ctx, geometry)
        out, cols = conv_forward_kernel(x, weight, geometry, bias)
        # the weight gradient reuses the columns; saved with the inputs, the engine frees them after backward
        ctx.save_for_backward(x, weight, cols if ctx.needs_input_grad[1] else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight, cols = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        geometry = ctx.geometry
        if _recorded(grad, x, weight):  # create_graph: the family's Functions, recorded as ops
            grad_x = ConvInputGrad.apply(grad, weight, geometry=geometry) if need_x else None
            grad_w = ConvWeightGrad.apply(x, grad, geometry=geometry) if need_w else None
        else:
            rows = _grad_rows(grad, geometry)  # shared by both products
            grad_x = conv_input_grad_kernel(grad, weight, geometry, rows) if need_x else None
            grad_w = conv_weight_grad_kernel(x, grad, geometry, cols, rows) if need_w else None
        grad_b = grad.sum(axis=(0,) + tuple(range(2, grad.ndim))) if need_b else None
        return grad_x, grad_w, grad_b


class _ConvolutionGradient(Function):
    """A gradient of a convolution as an op of its own (so that create_graph can differentiate
    ``Convolution``'s backward): ``numpy_kernel`` on its two inputs, both saved for its backward."""

    numpy_kernel = None  # staticmethod: (first, second, geometry) -> array

    @staticmethod
    def forward(ctx, first, second, geometry):
        ctx.geometry = geometry
        ctx.save_for_backward(first, second)
        return type(ctx).numpy_kernel(first, second, geometry)


class ConvInputGrad(_ConvolutionGradient):
    """The input gradient of a convolution (a transposed convolution of ``grad`` with ``weight``)."""

    numpy_kernel = staticmethod(conv_input_grad_kernel)

    @staticmethod
    def backward(ctx, upstream):
        grad, weight = ctx.saved_tensors
        need_grad, need_w = ctx.needs_input_grad
        # the op is sum over windows of weight * grad, linear in each: its adjoints are the forward
        # convolution (for grad) and the weight gradient (for weight)
        return (convolve(upstream, weight, ctx.geometry) if need_grad else None,
                conv_weight_grad(upstream, grad, ctx.geometry) if need_w else None)


class ConvWeightGrad(_ConvolutionGradient):
    """The weight gradient of a convolution (correlation of the input ``x`` with ``grad``)."""

    numpy_kernel = staticmethod(conv_weight_grad_kernel)

    @staticmethod
    def backward(ctx, upstream):
        x, grad = ctx.saved_tensors
        need_x, need_grad = ctx.needs_input_grad
        return (conv_input_grad(grad, upstream, ctx.geometry) if need_x else None,
                convolve(x, upstream, ctx.geometry) if need_grad else None)


def _linear_op(op, value, **constants):
    """The linear pooling op ``op`` on ``value``: recorded as the op on a Tensor (create_graph), its kernel on an
    array (no graph node: the plain backward pass)."""
    if isinstance(value, Tensor):
        return op.apply(value, **constants)
    return op.numpy_kernel(value, **constants)


class _LinearPoolingOp(Function):
    """An op linear in its one input, with constants (``winners`` or ``divisor``, and ``geometry``) passed as
    keywords and kept on ctx under their names (graph pictures show them there). Its backward is its adjoint:
    the op named by ``adjoint``, run with the same constants. Subclasses name ``numpy_kernel``, ``adjoint`` and
    the ``constants``."""

    # staticmethod: (input array, **constants) -> output array. (Not ``kernel``: ctx.kernel is the window size
    # graph pictures show.)
    numpy_kernel = None
    adjoint = None  # the _LinearPoolingOp class whose forward is this op's backward (set once both exist)
    constants = ()  # the keyword names of the constants

    @staticmethod
    def forward(ctx, value, **constants):
        for name, constant in constants.items():
            setattr(ctx, name, constant)
        return type(ctx).numpy_kernel(value, **constants)

    @staticmethod
    def backward(ctx, upstream):
        return _linear_op(ctx.adjoint, upstream, **{name: getattr(ctx, name) for name in ctx.constants})


class MaxPool2d(Function):
    """The max of every window; the gradient goes to the window's winner (first maximum on ties)."""

    @staticmethod
    def forward(ctx, x, geometry):
        ctx.geometry = geometry
        _show_arguments(ctx, geometry)
        out, ctx.winners = max_pool_kernel(x, geometry)
        return out

    @staticmethod
    def backward(ctx, grad):
        return _linear_op(RouteToWinners, grad, winners=ctx.winners, geometry=ctx.geometry)


class RouteToWinners(_LinearPoolingOp):
    """Max pooling's backward as an op of its own (linear: the winners are constants)."""

    numpy_kernel = staticmethod(route_to_winners_kernel)
    constants = ("winners", "geometry")


class PickWinners(_LinearPoolingOp):
    """Read an input-shaped array at the winners of max pooling (the adjoint of ``RouteToWinners``)."""

    numpy_kernel = staticmethod(pick_winners_kernel)
    constants = ("winners", "geometry")


class AvgPool2d(_LinearPoolingOp):
    """The mean of every window (``divisor``: kh * kw, or the count of real elements per window)."""

    numpy_kernel = staticmethod(avg_pool_kernel)
    constants = ("geometry", "divisor")

    @staticmethod
    def forward(ctx, x, geometry, divisor):
        out = _LinearPoolingOp.forward(ctx, x, geometry=geometry, divisor=divisor)
        _show_arguments(ctx, geometry)
        return out


class AvgPoolAdjoint(_LinearPoolingOp):
    """Average pooling's backward as an op of its own: each window's value spread evenly over it."""

    numpy_kernel = staticmethod(avg_pool_adjoint_kernel)
    constants = ("geometry", "divisor")


# the two pairs of mutual adjoints
RouteToWinners.adjoint, PickWinners.adjoint = PickWinners, RouteToWinners
AvgPool2d.adjoint, AvgPoolAdjoint.adjoint = AvgPoolAdjoint, AvgPool2d


class AdaptiveAvgPool2d(Function):
    """Average pooling into a fixed (Ho, Wo): out = rows @ x @ cols.T with averaging matrices ``rows`` (Ho, H)
    and ``cols`` (Wo, W) (PyTorch's bins: start floor(i * H / Ho), end ceil((i + 1) * H / Ho)).
    Global average pooling, (1, 1), is a plain mean."""

    @staticmethod
    def forward(ctx, x, rows, cols):
        ctx.rows, ctx.cols, ctx.input_hw = rows, cols, x.shape[2:]
        if rows is None:
            return x.mean(axis=(2, 3), keepdims=True)
        return rows @ x @ cols.T

    @staticmethod
    def backward(ctx, grad):
        if ctx.rows is None:
            height, width = ctx.input_hw
            ones = np.ones((1, 1, height, width), dtype=grad.dtype)
            return grad * (ones / (height * width))
        return ctx.rows.T @ grad @ ctx.cols


def averaging_matrix(size, out_size, dtype):
    """(out_size, size) matrix whose row i averages PyTorch's adaptive bin i of an axis of ``size``."""
    starts = (np.arange(out_size) * size) // out_size
    ends = -((-(np.arange(out_size) + 1) * size) // out_size)
    positions = np.arange(size)
    inside = (positions >= starts[:, None]) & (positions < ends[:, None])
    return (inside / (ends - starts)[:, None]).astype(dtype)
