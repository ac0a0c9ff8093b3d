"""The fast-mode image transformer of Johnson et al. (2016), a Gluon HybridBlock.

Architecture ("full"; instance norms as in Ulyanov et al.)::

    reflect-pad, conv 9x9, 32          IN, ReLU
    reflect-pad, conv 3x3 stride 2, 64 IN, ReLU
    reflect-pad, conv 3x3 stride 2, 128 IN, ReLU
    5 residual blocks, 128             x + IN(conv(ReLU(IN(conv(x)))))
    nearest-up x2, conv 3x3, 64        IN, ReLU
    nearest-up x2, conv 3x3, 32        IN, ReLU
    reflect-pad, conv 9x9, 3           output mapping to [0, 1], then normalized

Output mapping (:data:`OUTPUTS`), the last conv's value ``z`` to a pixel in
[0, 1]: ``"linear"`` (the default), ``0.5 + z / 4`` (the sigmoid's tangent at
0: the same image and gradients for small z) under training, clipped to [0, 1]
at inference, as pytorch/examples' ``fast_neural_style`` clamps only when
saving, so every pixel keeps a gradient of 1/4; ``"sigmoid"``, the
mapping of the first shipped styles (weight files without an output marker).
The sigmoid is what made their black blots: its gradient vanishes for a pixel
pushed far below 0, and the shipped networks keep 2-6% of a photo's pixels at
``z`` of -25 to -50 (gradient 1e-11 to 1e-22), so no loss term can bring those
pixels back once they are black (``benchmarks/bench_blots.py``).

Every conv pads by reflection; instance norms are affine. Input and output are
the package's tensors (NCHW float32, RGB, ``(rgb - MEAN) / STD``), any H, W >= 5;
the output has the input's H and W (odd sizes: the upsampled map is cropped).

Variants (:data:`VARIANTS`): "full" (32/64/128 channels, 5 residual blocks,
1.68 M parameters) and "small" (16/32/64, 3 blocks, 0.28 M). The small one is
2.9-3.6x faster at inference (1024x1024: 0.7 s instead of 2.5 s on 2 cores)
and its training step takes 3.2 s instead of 4.4 s (batch 4, 256 px; the VGG
loss then dominates), for less capacity and a smaller receptive field.
Trained on Starry Night with the same settings and seed, after 400 steps its
style error was 9% higher than the full network's (0.322 vs 0.296; content
0.568 vs 0.559) and its pictures coarser, with streaks in flat areas.

Speed. MXNet's own CPU operators (InstanceNorm, reductions, UpSampling) are
many times slower than its oneDNN kernels, so the same model is computed with
other operators, each rewrite exact up to float rounding, on the plain model's
parameters, with built-in operators only (``export`` loads with
``gluon.SymbolBlock.imports`` and no gluon_style):

* instance norm: statistics as matrix products (FullyConnected, batch_dot);
  under autograd the normalization is a batched product plus an outer product,
  so the backward pass is matrix products too;
* nearest-up x2 + reflect-pad + conv 3x3, at inference: its four output phases
  as one 2x2 conv whose taps sum the 3x3 ones, on the edge-padded low-res input
  (2.25x fewer FLOPs, no upsampled tensor), interleaved by a one-hot transposed
  conv (:func:`upsample_conv3`). Not under autograd, where MXNet 1.9's oneDNN
  Deconvolution crashes when its weight is computed;
* instance norm of one image (of at least :attr:`NormAux.min_pixels`) at inference:
  oneDNN's batch norm in training mode
  (the statistics are then the image's own), with the ReLU fused
  (``BatchNormWithReLU``); a batch norm needs its moving averages as graph inputs,
  so the network is traced with zeros and ones for them (:class:`NormAux`) and
  called in ``autograd.train_mode()``, without recording. Batches of several
  images and the exported graph use the matrix products above;
* reflection and edge pads at inference: slices and concatenations (oneDNN
  operators, any layout, bfloat16) rather than MXNet's ``pad`` (plain layout
  only, no bfloat16 kernel), :func:`reflect_pad`;
* the last conv (3 filters, off oneDNN's fast path): its four output phases
  as one stride-2 conv with 16 filters (12 real, 4 zero), then interleaved (a
  one-hot transposed conv at inference, :func:`interleave_phases`;
  ``depth_to_space`` under autograd); 2.6x faster than the plain conv padded to
  16 filters;
* the multi-style network (:mod:`gluon_style.nets.magenta`; 8 channels at full
  resolution, which oneDNN stores in 16-channel blocks), one image at inference: the
  map between its last upsampling and the conv to RGB kept as its four phases at half
  resolution (:func:`upsample_conv3_phases`, :func:`phase_norm_one_image`,
  :func:`conv9_to_rgb_phases`): no full-resolution tensor, pad or interleave there.

The network keeps one graph per mode (inference, or recording for autograd) and
rebuilds it when the mode changes. Parameters: conv ``weight`` ``(out, in, k,
k)`` and ``bias``, norm ``gamma``/``beta``, as in the reference model. Some have
no effect on the output: the biases of convs followed by a norm, and the betas
of the residual blocks' second norms (removed by every later norm). Their
gradients are rounding noise, which Adam would turn into a random walk and
which would cost the E[x^2] - mean^2 variance precision, so they are created
with ``grad_req="null"`` and stay zero; ``gluon.Trainer(net.collect_params())``
skips them by itself.
"""
import contextlib

import mxnet as mx
from mxnet import gluon

from ..errors import Error
from ..io.images import MEAN, STD

__all__ = ["VARIANTS", "OUTPUTS", "DEFAULT_OUTPUT", "TransformerNet", "transformer_net",
           "instance_norm", "save_weights", "load_weights", "weights_output", "read_weights",
           "reflect_pad", "upsample_conv3", "conv9_to_rgb", "interleave_phases",
           "normalized_rgb", "channel_affine", "map_output"]

#: name -> (channels of the three resolutions, number of residual blocks)
VARIANTS = {
    "full": ((32, 64, 128), 5),
    "small": ((16, 32, 64), 3),
}
#: output mappings (see the module notes); weight files record theirs (:func:`save_weights`)
OUTPUTS = ("linear", "sigmoid")
DEFAULT_OUTPUT = "linear"
#: the marker entry of a weight file: OUTPUTS.index(mapping); absent: "sigmoid" (older files)
OUTPUT_KEY = "output_mapping"
_MKLDNN = mx.runtime.Features().is_enabled("MKLDNN")
_PHASE_FILTERS = 16  # filters of the last conv's stride-2 form (see _Output)
MIN_SIDE = 5  # the 9x9 reflection pad needs 5 pixels; the downsampled 3x3 ones 2
#: dtype of shipped style files: float16 halves them (3.4 MB for "full"); the
#: network still computes in float32 (see :func:`save_weights`)
STORE_DTYPE = "float16"


def transformer_net(variant="full", **kwargs):
    """Build a :class:`TransformerNet` by variant name.

    Parameters
    ----------
    variant : str
        A key of :data:`VARIANTS`: ``"full"`` or ``"small"``.
    **kwargs
        Passed to the :class:`TransformerNet` constructor (``output``, ``prefix``).

    Returns
    -------
    TransformerNet
        Uninitialized; call ``initialize()`` or ``load_parameters()``.

    Raises
    ------
    Error
        If `variant` is not a known name.
    """
    if variant not in VARIANTS:
        raise Error("unknown transformer variant %r (valid: %s)"
                    % (variant, ", ".join(sorted(VARIANTS))))
    channels, n_res = VARIANTS[variant]
    return TransformerNet(channels=channels, n_residual=n_res, **kwargs)


def save_weights(net, path, *, dtype=STORE_DTYPE):
    """Save `net`'s parameters to `path` (``save_parameters`` format) as `dtype`,
    with an entry :data:`OUTPUT_KEY` naming its output mapping.

    Rounding the weights to float16 changed the shipped Starry Night's images
    (held-out photos, 512 px) by at most one 8-bit level, on ~1% of the
    pixels; checkpoints keep float32 so that resuming is exact.
    """
    arrays = {name: p._reduce().astype(dtype)
              for name, p in net._collect_params_with_prefix().items()}
    if getattr(net, "output", None) in OUTPUTS:  # a transformer (not, e.g., a table of rows)
        arrays[OUTPUT_KEY] = mx.nd.array([OUTPUTS.index(net.output)], dtype=dtype)
    mx.nd.save(path, arrays)


def _output_of(loaded):
    """The output mapping named by a loaded file's marker (popped), "sigmoid" without one."""
    if OUTPUT_KEY not in loaded:
        return "sigmoid"
    code = loaded.pop(OUTPUT_KEY).asnumpy().ravel()
    if code.size != 1 or code[0] not in range(len(OUTPUTS)):
        raise Error("unknown output mapping %s" % code.tolist())
    return OUTPUTS[int(code[0])]


def weights_output(path):
    """The output mapping `path`'s weights were trained with (see :func:`save_weights`)."""
    try:
        loaded = mx.nd.load(path)
    except mx.base.MXNetError as e:
        raise Error(str(e).splitlines()[0][:100]) from None
    return _output_of(loaded) if isinstance(loaded, dict) else "sigmoid"


def read_weights(path):
    """The named arrays of a ``.params`` file; :class:`Error` (our words, one line)
    when MXNet cannot read it or it holds no parameters."""
    try:
        arrays = mx.nd.load(path)
    except mx.base.MXNetError:
        raise Error("not an MXNet parameter file (truncated, damaged or another format)") from None
    if not isinstance(arrays, dict) or not arrays:
        raise Error("holds no parameters")
    return arrays


def load_weights(net, path, *, ctx=None):
    """Load parameters saved by :func:`save_weights` or ``save_parameters``, and
    set `net`'s output mapping to the one they were trained with (files without
    a marker: "sigmoid"). Returns that mapping.

    Whatever dtype the file holds, the parameters keep the network's (float32).
    A file that does not fit `net` raises :class:`Error` saying which parameter
    is missing, extra or of another shape.
    """
    problem = _misfit(net, read_weights(path))
    if problem:
        raise Error(problem)
    try:
        loaded = mx.nd.load(path)
        if not isinstance(loaded, dict):
            raise ValueError("%s holds a list of arrays, not named parameters" % path)
        output = _output_of(loaded)
        params = net._collect_params_with_prefix()
        for name in params:
            if name not in loaded:
                raise ValueError("Parameter '%s' is missing in file '%s'" % (name, path))
        for name in loaded:
            if name not in params:
                raise ValueError("Parameter '%s' loaded from file '%s' is not a parameter of "
                                 "the network" % (name, path))
            params[name]._load_init(loaded[name], ctx, cast_dtype=True, dtype_source="current")
    except (mx.base.MXNetError, AssertionError, ValueError, KeyError) as e:
        raise Error("cannot load its parameters (%s)" % (
            " ".join(str(e).split()[:12]) or type(e).__name__)) from None
    if hasattr(net, "output"):
        net.output = output
    return output


def _misfit(net, arrays):
    """How `arrays` (a ``.params`` file's) do not fit `net`, or None."""
    if not any("." in key for key in arrays):  # the legacy layout: load_parameters checks it
        return None
    params = net._collect_params_with_prefix()
    whose = next(("the %s network's" % v for v, spec in VARIANTS.items()
                  if spec == (net.channels, net.n_residual)), "the network's")
    for key, param in params.items():
        if key in arrays and arrays[key].shape != param.shape:
            return "parameter %s has shape %s; %s is %s" % (
                key, arrays[key].shape, whose, param.shape)
    missing = [k for k in params if k not in arrays]
    extra = [k for k in arrays if k not in params and k != OUTPUT_KEY]
    parts = ["lacks %d of %s %d parameters (%s)" % (
        len(missing), whose, len(params), " ".join(missing[:3]) + " ..." * (len(missing) > 3))
        ] if missing else []
    if extra:
        parts.append("has %d it does not have (%s)" % (
            len(extra), " ".join(extra[:3]) + " ..." * (len(extra) > 3)))
    return "; ".join(parts) or None


def instance_norm(F, x, gamma, beta, eps=1e-5, relu=False, inference=False, per_sample=False,
                  aux=None):
    """Affine instance normalization (optionally followed by ReLU).

    Same result as ``F.InstanceNorm(x, gamma, beta, eps=eps)``, forward and
    backward, but built from operators that are fast on the CPU: MXNet's
    InstanceNorm and its broadcast reductions are 5-10x slower than the
    matrix products used here.

    Parameters
    ----------
    F : module
        ``mxnet.ndarray`` or ``mxnet.symbol``.
    x : NDArray or Symbol
        ``(N, C, H, W)``.
    gamma, beta : NDArray or Symbol
        ``(C,)`` scale and shift, or ``(N, C)`` with `per_sample` (conditional
        instance norm: each image its own, as in Dumoulin et al. 2017).
    eps : float
        Added to the variance.
    relu : bool
        Apply ReLU to the result.
    per_sample : bool
        `gamma` and `beta` are ``(N, C)``, one row per image.
    inference : bool
        Apply the normalization with broadcasts: fastest forward, slow
        backward. The default uses matrix products, whose gradients (sums over
        H*W) are again matrix products.

    aux : tuple or None
        With `inference`, for a single image: the batch-norm formulation
        (:func:`batch_norm_one_image`, :class:`NormAux`).

    Returns
    -------
    NDArray or Symbol
        Shape of `x`.
    """
    if inference and aux is not None:
        return batch_norm_one_image(F, x, gamma, beta, aux, eps, relu)
    # Every other use of x reads this copy: oneDNN leaves conv outputs in its
    # own layout, and each MXNet operator reading one would convert it again.
    # (No reshape_like on full-size tensors: it defeats MXNet's memory reuse.)
    x = F.reshape(x, shape=(0, 0, 0, 0))
    rows = x.reshape((-3, -1))                                       # (N*C, H*W)
    rows3 = x.reshape((-3, 1, -1))                                   # (N*C, 1, H*W)
    per_nc = F.slice_axis(F.slice_axis(x, axis=2, begin=0, end=1), axis=3, begin=0, end=1)
    ones = F.ones_like(F.slice_axis(rows, axis=0, begin=0, end=1))   # (1, H*W)
    count = F.FullyConnected(ones, ones, no_bias=True, num_hidden=1)  # (1, 1): H*W
    total = F.FullyConnected(rows, ones, no_bias=True, num_hidden=1)  # (N*C, 1)
    if inference:  # 1.5x faster than the batched product below
        sumsq = F.FullyConnected(F.square(rows), ones, no_bias=True, num_hidden=1)
    else:  # under autograd the square would be kept for backward: +4% memory for 2% time
        sumsq = F.batch_dot(rows3, rows3, transpose_b=True).reshape((-1, 1))
    mean = F.broadcast_div(total, count)
    # E[x^2] - mean^2 in float32 is accurate for conv outputs (|mean| ~ std);
    # relu guards the rounding below zero.
    var = F.relu(F.broadcast_div(sumsq, count) - F.square(mean))
    if per_sample:
        g, b = gamma.reshape((-1, 1)), beta.reshape((-1, 1))                   # (N*C, 1)
    else:
        per_n = dict(lhs_axes=(0,), rhs_axes=(0,))
        g = F.broadcast_like(gamma.reshape((1, -1, 1, 1)), per_nc, **per_n).reshape((-1, 1))
        b = F.broadcast_like(beta.reshape((1, -1, 1, 1)), per_nc, **per_n).reshape((-1, 1))
    scale = g * F.rsqrt(var + eps)
    shift = b - mean * scale
    if inference:
        y = F.broadcast_add(F.broadcast_mul(x, F.reshape_like(scale, per_nc)),
                            F.reshape_like(shift, per_nc))
    else:  # scale * x + shift as a batched 1x1 product plus an outer product
        y = F.batch_dot(scale.reshape((-1, 1, 1)), rows3).reshape((-3, -1))
        y = y + F.dot(shift, ones)                                   # (N*C, H*W)
        y = F.reshape_like(y, per_nc, lhs_begin=0, lhs_end=1, rhs_begin=0, rhs_end=2)
        per_hw = F.slice_axis(F.slice_axis(x, axis=0, begin=0, end=1), axis=1, begin=0, end=1)
        y = F.reshape_like(y, per_hw, lhs_begin=2, lhs_end=3, rhs_begin=2, rhs_end=4)
    return F.relu(y) if relu else y  # y from broadcasts (plain layout): the native op


class NormAux:
    """The instance norms of one image as batch norms (module notes): the moving
    averages they need as graph inputs, one pair per channel count, and the calls.

    A network that uses it: its ``forward`` asks :meth:`wanted` (one image of
    :attr:`min_pixels` or more, no gradient, the block's ``batch_norms`` attribute
    not False: :meth:`off`), retraces when the answer changes, and runs through
    :meth:`call` (the extra inputs of :meth:`inputs`, in ``autograd.train_mode()``);
    its ``hybrid_forward`` hands them to its norms (:meth:`bound`); each norm finds
    its pair in its ``norm_aux`` attribute (None: the matrix-product formulation).
    """

    #: images smaller than this (pixels) keep the matrix products, unless the network's
    #: ``norm_min_pixels`` says otherwise: in the multi-style network (8-32 channels) a
    #: batch norm costs about 1 ms a call more, which only pays from ~256 x 256 up (at
    #: 1024 x 1024 its batch norms are 1.4x faster); batches of small images stay batches
    min_pixels = 1 << 17

    @staticmethod
    def channels(block):
        """The norms' channel counts in `block`, sorted (found once per block)."""
        if "_norm_channels_found" not in block.__dict__:
            found = set()
            block.apply(lambda b: found.add(b.norm_channels)
                        if getattr(b, "norm_channels", None) else None)
            block._norm_channels_found = sorted(found)
        return block._norm_channels_found

    @classmethod
    def wanted(cls, block, x, inference):
        """The formulation `block` traces for input `x`: "" (matrix products), "fused"
        (batch norms with oneDNN's fused ReLU) or "bn" (batch norms, then ReLU)."""
        least = getattr(block, "norm_min_pixels", None)
        if not (inference and getattr(block, "batch_norms", True)
                and isinstance(x, mx.nd.NDArray) and x.shape[0] == 1
                and x.shape[2] * x.shape[3] >= (cls.min_pixels if least is None else least)
                and cls.channels(block)):
            return ""
        return "fused" if x.context.device_type == "cpu" and _MKLDNN else "bn"

    @classmethod
    def inputs(cls, block, ctx):
        """The zeros and ones for `block`'s norms on `ctx` (made once per block)."""
        cache = block.__dict__.setdefault("_norm_aux_arrays", {})
        key = str(ctx)
        if key not in cache:
            cache[key] = [a for c in cls.channels(block)
                          for a in (mx.nd.zeros((c,), ctx=ctx), mx.nd.ones((c,), ctx=ctx))]
        return cache[key]

    @staticmethod
    @contextlib.contextmanager
    def off(block):
        """`block` traced with the matrix-product norms meanwhile: for a graph that
        runs elsewhere (an export, a quantization), where nothing calls it in training
        mode or gives it the moving averages. (The bfloat16 conversion keeps the batch
        norms: :class:`gluon_style.precision.TracedNet` calls it as :meth:`call` does.)"""
        old = block.__dict__.get("batch_norms")
        block.batch_norms = False
        try:
            yield block
        finally:
            if old is None:
                del block.batch_norms
            else:
                block.batch_norms = old

    @classmethod
    def call(cls, forward, block, bn, x, *args):
        """``forward(x, *args)``; with `bn` (:meth:`wanted`), with `block`'s moving
        averages after `args` and in training mode (the statistics: the image's own)."""
        if not bn:
            return forward(x, *args)
        with mx.autograd.train_mode():
            return forward(x, *args, *cls.inputs(block, x.context))

    @classmethod
    @contextlib.contextmanager
    def bound(cls, block, aux, fused=True):
        """Give `block`'s norms their pair of `aux` (symbols, as :meth:`inputs` orders
        them) for the block's trace, then take them back; nothing without `aux` (the
        block is traced inside another that bound them, or not at all)."""
        if not aux:
            yield
            return
        pairs = {c: (aux[2 * i], aux[2 * i + 1], fused)
                 for i, c in enumerate(cls.channels(block))}

        def give(pair_of):
            block.apply(lambda b: setattr(b, "norm_aux", pair_of(b.norm_channels))
                        if getattr(b, "norm_channels", None) else None)
        give(pairs.get)
        try:
            yield
        finally:
            give(lambda c: None)


def batch_norm_one_image(F, x, gamma, beta, aux, eps, relu):
    """Instance norm of ``(1, C, H, W)`` `x` as a batch norm in training mode (its
    statistics are the image's), `gamma`/`beta` ``(C,)`` or ``(1, C)``; `aux`: the
    moving averages' inputs and whether to fuse the ReLU (oneDNN only)."""
    mm, mv, fused = aux
    g, b = gamma.reshape((-1,)), beta.reshape((-1,))
    if relu and fused:
        return F.contrib.BatchNormWithReLU(x, g, b, mm, mv, eps=eps, fix_gamma=False,
                                           use_global_stats=False)
    y = F.BatchNorm(x, g, b, mm, mv, eps=eps, fix_gamma=False, use_global_stats=False)
    return F.Activation(y, act_type="relu") if relu else y


def reflect_pad(F, x, p, slices=True):
    """Reflection-pad the two spatial axes of NCHW `x` by `p` on every side.

    With `slices` (for inference), as slices and concatenations (oneDNN operators)
    rather than ``F.pad``: the same values, but ``pad`` is MXNet's own operator, which
    needs the plain layout (reorders around it after every oneDNN conv) and has no
    bfloat16 kernel (casts around it in a bfloat16 graph); the slices make float32
    inference 1.25-1.35x faster at 512-1024 px. Under autograd ``pad`` is the faster
    one (its backward is one operator): ``slices=False``.
    """
    if not slices:
        return F.pad(x, mode="reflect", pad_width=(0, 0, 0, 0, p, p, p, p))
    return _pad_by_slices(F, x, list(range(p, 0, -1)), list(range(-2, -2 - p, -1)))


def edge_pad(F, x, p):
    """Edge-pad (repeat the border of) the two spatial axes of NCHW `x` by `p`, as
    slices and concatenations (see :func:`reflect_pad`); for inference graphs."""
    return _pad_by_slices(F, x, [0] * p, [-1] * p)


def _pad_by_slices(F, x, before, after):
    """`x` with the rows (then the columns) of indices `before` put before it and those
    of `after` after it (negative indices count from the end)."""
    for axis in (2, 3):
        x = F.concat(*[_row(F, x, axis, i) for i in before], x,
                     *[_row(F, x, axis, i) for i in after], dim=axis)
    return x


def _row(F, x, axis, i):
    """Row (`axis` 2) or column (`axis` 3) `i` of NCHW `x`, kept as an axis of length 1
    (negative `i` counts from the end)."""
    lo, hi = [None] * 4, [None] * 4
    lo[axis], hi[axis] = i, (i + 1 if i != -1 else None)
    return F.slice(x, begin=tuple(lo), end=tuple(hi))


def _shifted(F, k, py, px):
    """Kernels `k` (``(out, in, kh, kw)``) one row and column larger, shifted by (py, px)
    in {0, 1}^2 (zeros on the other side)."""
    return F.pad(k, mode="constant", pad_width=(0, 0, 0, 0, py, 1 - py, px, 1 - px))



def upsample_conv3(F, x, weight, bias, cout, *, inference):
    """Nearest-upsample x2, reflect-pad 1, conv 3x3 (`weight` ``(cout, cin, 3, 3)``).

    At inference, without the upsampled tensor: reflect-padding the upsampled
    image equals upsampling the edge-padded one, and each of the four output phases
    (py, px) of the 3x3 conv sees a 2x2 window of the edge-padded low-res image,
    whose taps sum the 3x3 ones (:func:`_phase_kernels`; 2.25x fewer FLOPs). The
    four phases are one 2x2 conv with ``4 * cout`` filters, interleaved by
    :func:`interleave_phases` (``shifted``). That runs on oneDNN's fast conv
    kernels, faster than the equivalent stride-2 transposed conv with a 4x4 kernel
    (oneDNN's older deconvolution kernel; its gemm one below 16 filters) and than a
    3x3 conv of the phases with zero taps (``docs/precision.md``). Not under
    autograd, where MXNet 1.9's oneDNN Deconvolution crashes when its weight is
    computed.
    """
    if inference:
        z = F.Convolution(edge_pad(F, x, 1), _phase_kernels(F, weight),
                          F.concat(*[bias] * 4, dim=0), kernel=(2, 2), num_filter=4 * cout)
        return interleave_phases(F, z, cout, 4 * cout, shifted=True)
    return F.Convolution(reflect_pad(F, F.UpSampling(x, scale=2, sample_type="nearest"), 1,
                                     slices=False),
                         weight, bias, kernel=(3, 3), num_filter=cout)


def _phase_kernels(F, w):
    """The four output phases (py, px) of nearest-upsample + 3x3 conv as 2x2 kernels on
    the edge-padded low-res image, stacked ``(4 * cout, cin, 2, 2)`` phase-major; phase
    (py, px) of output ``(2m + py, 2n + px)`` is read at ``(m + py, n + px)`` of the
    ``(H + 1, W + 1)`` result (:func:`interleave_phases` with `shifted`). Along an axis,
    phase 0 weighs padded rows ``m, m + 1`` by ``w0, w1 + w2``, phase 1 rows ``m + 1,
    m + 2`` by ``w0 + w1, w2``."""
    def taps(k, axis, phase):
        t = [F.slice_axis(k, axis=axis, begin=i, end=i + 1) for i in range(3)]
        return F.concat(*([t[0], t[1] + t[2]] if phase == 0 else [t[0] + t[1], t[2]]),
                        dim=axis)
    return F.concat(*[taps(taps(w, 2, py), 3, px) for py in (0, 1) for px in (0, 1)], dim=0)


def conv9_to_rgb(F, x, weight, bias, *, slices=True):
    """Reflect-pad 4 and conv 9x9 to 3 channels, for `x` with even H and W.

    oneDNN has no fast kernel for 3 output filters (4x slower than 16), so the
    conv is computed per output phase (py, px) in {0, 1}^2: one stride-2 conv
    whose 10x10 kernels are the 9x9 one shifted by (py, px), 4 x 3 = 12 filters
    plus 4 zero ones (16: the fast path, 3.3x fewer FLOPs than padding the 3
    filters to 16), then the phases are interleaved: by :func:`interleave_phases`
    at inference, by ``depth_to_space`` under autograd. The kernels are built in
    the graph: no parameters of their own.
    """
    kern, b = _rgb_phase_kernels(F, weight, bias)
    z = F.Convolution(reflect_pad(F, x, 4, slices), kern, b, kernel=(10, 10), stride=(2, 2),
                      num_filter=_PHASE_FILTERS)
    if slices:
        return interleave_phases(F, z, 3, _PHASE_FILTERS)
    return F.depth_to_space(F.slice_axis(z, axis=1, begin=0, end=12), block_size=2)


def _rgb_phase_kernels(F, weight, bias):
    """The 10x10 stride-2 kernels (``(16, cin, 10, 10)``) and biases of
    :func:`conv9_to_rgb`: output phase (py, px) of the 9x9 conv is its kernel shifted by
    (py, px), filters ``3 * (2 py + px)`` on; the last 4 filters zero."""
    shifted = [_shifted(F, weight, py, px) for py in (0, 1) for px in (0, 1)]
    zero = F.zeros_like(F.slice_axis(shifted[0], axis=0, begin=0, end=1))
    kern = F.concat(*(shifted + [zero] * (_PHASE_FILTERS - 12)), dim=0)
    bzero = F.zeros_like(F.slice_axis(bias, axis=0, begin=0, end=1))
    return kern, F.concat(*([bias] * 4 + [bzero] * (_PHASE_FILTERS - 12)), dim=0)


# Phase form. A map X of even height and width, (N, C, 2M, 2W'), kept as its four
# phases P[py, px](m, n) = X(2m + py, 2n + px) stacked phase-major: (N, 4C, M, W'),
# channel (2 py + px) * C + c. A multi-style network's full-resolution maps have 8
# channels, which oneDNN stores in 16-channel blocks (twice their bytes), and their
# reflection pads are concatenations at full resolution; in phase form the same values
# take 32 channels at a quarter of the pixels, no padding waste.

def upsample_conv3_phases(F, x, weight, bias, cout):
    """:func:`upsample_conv3` (nearest-upsample x2, reflect-pad 1, conv 3x3) in phase
    form: its four output phases at `x`'s resolution, ``(N, 4 * cout, H, W)``. Each
    phase's 2x2 taps (:func:`_phase_kernels`) sit at (py, px) in a 3x3 kernel, so one
    conv of the edge-padded `x` gives every phase in place (no shifted rows to crop)."""
    groups = F.split(_phase_kernels(F, weight), num_outputs=4, axis=0)
    kern = F.concat(*[_shifted(F, g, py, px)
                      for g, (py, px) in zip(groups, [(0, 0), (0, 1), (1, 0), (1, 1)])], dim=0)
    return F.Convolution(edge_pad(F, x, 1), kern, F.concat(*[bias] * 4, dim=0),
                         kernel=(3, 3), num_filter=4 * cout)


def phase_norm_one_image(F, p, gamma, beta, aux, eps, relu, c):
    """Instance norm of the map whose phases are `p` (``(1, 4c, M, W)``), in phase form:
    each phase's statistics from a batch norm in training mode (`aux`: its moving
    averages' inputs for 4c channels, :func:`batch_norm_one_image`), pooled over the four
    phases (mean of the means; variance from the mean of var + mean^2), then the scale
    and shift of each channel as a depthwise 1x1 conv. Each step keeps oneDNN's layout
    of `p`; one batch norm of the phases reshaped to a batch of four computes the same
    in the plain layout, several times slower (``docs/precision.md``, "Phase form")."""
    mm, mv, _ = aux
    ones = F.ones_like(mm)
    _, mean, invstd = F.BatchNorm(p, ones, F.zeros_like(mm), mm, mv, eps=eps, fix_gamma=False,
                                  use_global_stats=False, output_mean_var=True)
    mean = mean.reshape((4, c))
    sq = F.mean(1.0 / F.square(invstd.reshape((4, c))) - eps + F.square(mean), axis=0)
    mean = F.mean(mean, axis=0)                                          # (c,)
    scale = gamma.reshape((-1,)) * F.rsqrt(F.relu(sq - F.square(mean)) + eps)
    shift = beta.reshape((-1,)) - mean * scale
    y = F.Convolution(p, F.concat(*[scale] * 4, dim=0).reshape((-1, 1, 1, 1)),
                      F.concat(*[shift] * 4, dim=0), kernel=(1, 1), num_filter=4 * c,
                      num_group=4 * c)
    return F.Activation(y, act_type="relu") if relu else y


def conv9_to_rgb_phases(F, p, weight, bias, cin):
    """:func:`conv9_to_rgb` (reflect-pad 4, conv 9x9 to 3 channels) of the map whose
    phases are `p` (``(N, 4 cin, M, W)``; `weight` ``(3, cin, 9, 9)``): the stride-2
    10x10 conv of the padded map reads, along each axis, tap ``2a + b`` from phase b
    at offset a, so it is a 5x5 conv of the phases (the same multiply-adds, no
    full-resolution input), padded by 2 as the map's reflection makes them
    (:func:`_phase_reflect_pad`), then interleaved (:func:`interleave_phases`)."""
    kern, b = _rgb_phase_kernels(F, weight, bias)  # (16, C, 10, 10): (a y, b y, a x, b x)
    kern = kern.reshape((0, 0, 5, 2, 5, 2)).transpose((0, 3, 5, 1, 2, 4)).reshape((0, -1, 5, 5))
    z = F.Convolution(_phase_reflect_pad(F, p, cin), kern, b, kernel=(5, 5),
                      num_filter=_PHASE_FILTERS)
    return interleave_phases(F, z, 3, _PHASE_FILTERS)


def _phase_reflect_pad(F, p, c):
    """Phases `p` (``(N, 4c, M, W)``) padded by 2 on each side as a reflection pad of 4
    of their map pads them. Along an axis, with b the phase along it: before row 0,
    phase 0 takes its rows 2, 1 (X(-4) = X(4), X(-2) = X(2)) and phase 1 its rows 1, 0
    (X(-3) = X(3), X(-1) = X(1)); after the last, phase 0 its rows -1, -2 and phase 1
    its rows -2, -3 (of an even-sided map X(2M - 1 + k) = X(2M - 1 - k)). Each padded
    row takes its channels from two whole rows by a 0/1 mask (exact), since oneDNN
    cannot slice a channel range that splits its 16-channel blocks."""
    before, after = ((2, 1), (1, 0)), ((-1, -2), (-2, -3))  # [phase][slot]
    for axis in (2, 3):
        # 1 on the channel groups g = 2 py + px of phase 0 along the axis (py = 0 on
        # axis 2, px = 0 on axis 3), 0 on the others
        ones, zeros = F.ones((1, c, 1, 1)), F.zeros((1, c, 1, 1))
        groups = [ones, ones, zeros, zeros] if axis == 2 else [ones, zeros, ones, zeros]
        phase0 = F.concat(*groups, dim=1)
        phase1 = 1 - phase0

        def slot(rows, k):
            return (F.broadcast_mul(_row(F, p, axis, rows[0][k]), phase0)
                    + F.broadcast_mul(_row(F, p, axis, rows[1][k]), phase1))
        p = F.concat(*[slot(before, k) for k in (0, 1)], p, *[slot(after, k) for k in (0, 1)],
                     dim=axis)
    return p


def interleave_phases(F, z, c, channels, shifted=False):
    """``depth_to_space(z[:, :4 * c], 2)`` for `z` of `channels` channels: its four
    output phases (py, px) of `c` channels each (any further channels unused)
    interleaved into an image of twice the height and width, as a stride-2 transposed
    conv whose 2x2 kernel copies each phase to its place (one-hot weights: the same
    values, exactly), 4-5x faster than MXNet's ``depth_to_space`` on the CPU. With
    `shifted`, phase (py, px) of output ``(2m + py, 2n + px)`` is read at ``(m + py,
    n + px)`` of a `z` one row and column larger (:func:`_phase_kernels`): the taps
    mirrored and one output row and column cropped on each side. For inference graphs
    (Deconvolution under autograd: see :func:`upsample_conv3`).
    """
    # eye's row p * c + ch (phase p = 2 py + px, channel ch; rows from 4c on are
    # zero) has its 1 at (py, px, ch): to the weight's (in, out ch, py, px) layout
    hot = F.eye(channels, 4 * c).reshape((channels, 2, 2, c)).transpose((0, 3, 1, 2))
    if shifted:
        hot = F.flip(F.flip(hot, axis=2), axis=3)
    return F.Deconvolution(z, hot, kernel=(2, 2), stride=(2, 2), pad=(int(shifted),) * 2,
                           num_filter=c, no_bias=True)


def normalized_rgb(F, rgb, inference=False):
    """RGB in [0, 1] (NCHW) to the package normalization ``(rgb - MEAN) / STD``
    (`inference`: as :func:`channel_affine`)."""
    if inference:
        return channel_affine(F, rgb, [1.0 / s for s in STD], [-m / s for m, s in zip(MEAN, STD)])
    rgb = F.split(rgb, num_outputs=3, axis=1)
    return F.concat(*[(c - m) / s for c, m, s in zip(rgb, MEAN, STD)], dim=1)


def channel_affine(F, x, scale, shift):
    """``x[:, c] * scale[c] + shift[c]`` for NCHW `x` of ``len(scale)`` channels, as a
    1x1 convolution with a diagonal kernel: one oneDNN pass, 7x faster than splitting
    the channels for scalar operators (for inference graphs)."""
    n = len(scale)  # constants built from eye (symbols have no constant tensors)
    rows = [F.slice_axis(F.eye(n), axis=0, begin=i, end=i + 1) for i in range(n)]
    w = F.concat(*[r * v for r, v in zip(rows, scale)], dim=0).reshape((n, n, 1, 1))
    b = F.sum(F.concat(*[r * v for r, v in zip(rows, shift)], dim=0), axis=0)
    return F.Convolution(x, w, b, kernel=(1, 1), num_filter=n)


def _conv_params(block, cin, cout, k, bias_grad="write"):
    he = mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2.0)
    block.weight = block.params.get("weight", shape=(cout, cin, k, k), init=he)
    block.bias = block.params.get("bias", shape=(cout,), init="zeros", grad_req=bias_grad)


def _norm_params(block, c, beta_grad="write"):
    block.gamma = block.params.get("gamma", shape=(c,), init="ones")
    block.beta = block.params.get("beta", shape=(c,), init="zeros", grad_req=beta_grad)


class _ConvNorm(gluon.HybridBlock):
    """Reflect-pad, conv (k, stride), instance norm, optional ReLU."""

    inference = False  # set by TransformerNet.forward before each trace
    norm_aux = None  # set by NormAux.bound during a trace

    def __init__(self, cin, cout, k, stride=1, relu=True, beta_grad="write", **kwargs):
        super().__init__(**kwargs)
        self._k, self._stride, self._cout, self._relu = k, stride, cout, relu
        self.norm_channels = cout
        with self.name_scope():
            _conv_params(self, cin, cout, k, bias_grad="null")
            _norm_params(self, cout, beta_grad)

    def hybrid_forward(self, F, x, weight, bias, gamma, beta):
        k, s = self._k, self._stride
        y = F.Convolution(reflect_pad(F, x, k // 2, self.inference), weight, bias, kernel=(k, k),
                          stride=(s, s), num_filter=self._cout, no_bias=False)
        return instance_norm(F, y, gamma, beta, relu=self._relu, inference=self.inference,
                             aux=self.norm_aux)


class _UpConvNorm(gluon.HybridBlock):
    """Nearest-upsample x2, reflect-pad 1, conv 3x3, instance norm, ReLU."""

    inference = False  # set by TransformerNet.forward before each trace
    norm_aux = None  # set by NormAux.bound during a trace

    def __init__(self, cin, cout, **kwargs):
        super().__init__(**kwargs)
        self._cout = self.norm_channels = cout
        with self.name_scope():
            _conv_params(self, cin, cout, 3, bias_grad="null")
            _norm_params(self, cout)

    def hybrid_forward(self, F, x, weight, bias, gamma, beta):
        y = upsample_conv3(F, x, weight, bias, self._cout, inference=self.inference)
        return instance_norm(F, y, gamma, beta, relu=True, inference=self.inference,
                             aux=self.norm_aux)


class _Residual(gluon.HybridBlock):
    """x + IN(conv(ReLU(IN(conv(x)))))."""

    def __init__(self, c, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.conv1 = _ConvNorm(c, c, 3, prefix="conv1_")
            # This beta adds a constant to the residual path that every later
            # norm removes: frozen like the conv biases (see the module notes).
            self.conv2 = _ConvNorm(c, c, 3, relu=False, beta_grad="null", prefix="conv2_")

    def hybrid_forward(self, F, x):
        return x + self.conv2(self.conv1(x))


class _Output(gluon.HybridBlock):
    """Reflect-pad 4, conv 9x9 to RGB, crop to `like`, map into the image range."""

    inference = False  # set by TransformerNet.forward before each trace
    output = DEFAULT_OUTPUT  # set by TransformerNet.output

    def __init__(self, cin, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            _conv_params(self, cin, 3, 9)

    def hybrid_forward(self, F, x, like, weight, bias):
        # x's sides are even (it was upsampled twice): see conv9_to_rgb.
        z = F.slice_like(conv9_to_rgb(F, x, weight, bias, slices=self.inference), like,
                         axes=(2, 3))
        return map_output(F, z, self.output, self.inference)


def map_output(F, z, output, inference, plain=False):
    """The last conv's values `z` (N, 3, H, W) as normalized images (module notes;
    `plain`: standard operators only, for export).

    "linear": ``0.5 + z / 4``, clipped to [0, 1] at inference only (under
    training the loss sees, and pulls back, values out of range); "sigmoid":
    ``sigmoid(z)``, whose tangent at 0 the linear mapping is.
    """
    if output == "sigmoid":
        z = F.Activation(z, act_type="sigmoid")
    elif output == "linear":
        z = 0.25 * z + 0.5
        z = F.clip(z, 0.0, 1.0) if inference else z
    else:
        raise Error("unknown output mapping %r (valid: %s)" % (output, ", ".join(OUTPUTS)))
    return normalized_rgb(F, z, inference and not plain)


class TransformerNet(gluon.HybridBlock):
    """Johnson et al. (2016) image transformer.

    Parameters
    ----------
    channels : tuple of 3 int
        Channels at full, 1/2 and 1/4 resolution (32, 64, 128 in the paper).
    n_residual : int
        Number of residual blocks at 1/4 resolution (5 in the paper).
    output : str
        Output mapping, one of :data:`OUTPUTS` (module notes); the attribute
        :attr:`output` can be changed later (:func:`load_weights` sets it).
    **kwargs
        ``prefix``/``params`` as for any Gluon block.

    Notes
    -----
    Input and output: NDArray float32 ``(N, 3, H, W)``, ImageNet-normalized RGB,
    ``H, W >= 5``; the output has the input's shape and denormalizes to values
    in ``[0, 255]`` (under autograd, with the linear mapping, it is not
    clipped). Bad shapes raise :class:`~gluon_style.errors.Error`.
    Hybridize for speed (``static_alloc=True, static_shape=True`` is fastest
    for a fixed size); :meth:`export` writes the inference graph.
    """

    inference = False
    _bn = ""  # traced with the norms as batch norms (NormAux.wanted)
    #: the batch norms pay at every size here (128 x 128: 43 instead of 60 ms; 512 x 512:
    #: 1.3-1.6x, 1024 x 1024: 1.8x faster), so FastStyle runs these networks image by image
    norm_min_pixels = 0

    def __init__(self, channels=(32, 64, 128), n_residual=5, output=DEFAULT_OUTPUT, **kwargs):
        super().__init__(**kwargs)
        c1, c2, c3 = channels
        self.channels, self.n_residual = tuple(channels), n_residual
        with self.name_scope():
            self.down1 = _ConvNorm(3, c1, 9, prefix="down1_")
            self.down2 = _ConvNorm(c1, c2, 3, stride=2, prefix="down2_")
            self.down3 = _ConvNorm(c2, c3, 3, stride=2, prefix="down3_")
            self.res = gluon.nn.HybridSequential(prefix="")
            self.res.add(*[_Residual(c3, prefix="res%d_" % i) for i in range(n_residual)])
            self.up1 = _UpConvNorm(c3, c2, prefix="up1_")
            self.up2 = _UpConvNorm(c2, c1, prefix="up2_")
            self.out = _Output(c1, prefix="out_")
        self.output = output

    @property
    def output(self):
        """The output mapping, one of :data:`OUTPUTS`."""
        return self.out.output

    @output.setter
    def output(self, value):
        if value not in OUTPUTS:
            raise Error("unknown output mapping %r (valid: %s)" % (value, ", ".join(OUTPUTS)))
        if value != self.out.output:
            self._clear_cached_op()
            self.out.output = value

    def forward(self, x):
        # The forward-only formulation when no gradient can be asked for; the
        # differentiable one otherwise, also inside another block's graph.
        inference = isinstance(x, mx.nd.NDArray) and not mx.autograd.is_recording()
        if isinstance(x, mx.nd.NDArray):
            self.check_input(x)
        bn = NormAux.wanted(self, x, inference)
        if inference != self.inference or bn != self._bn:
            self._clear_cached_op()
            self.apply(lambda block: setattr(block, "inference", inference))
            self._bn = bn
        return NormAux.call(super().forward, self, bn, x)

    @staticmethod
    def check_input(x):
        """Raise :class:`~gluon_style.errors.Error` unless the NDArray `x` is
        ``(N, 3, H, W)`` with ``H, W >= MIN_SIDE``."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise Error("transformer input must have shape (N, 3, H, W), got %s" % (x.shape,))
        if min(x.shape[2:]) < MIN_SIDE:
            raise Error("transformer input is %dx%d; both sides must be at least %d"
                        % (x.shape[3], x.shape[2], MIN_SIDE))

    def export(self, path, epoch=0, **kwargs):
        """Export the inference graph (symbol + params) for ``SymbolBlock.imports``.

        The network must be hybridized; it is run once on a small input if
        its cached graph is not the inference one.
        """
        if not (self._cached_graph and self.inference and not self._bn):
            ctx = next(iter(self.collect_params().values())).list_ctx()[0]
            self(mx.nd.zeros((2, 3, 16, 16), ctx=ctx))  # two images: no batch norms
        return super().export(path, epoch, **kwargs)

    def hybrid_forward(self, F, x, *aux):
        with NormAux.bound(self, aux, fused=self._bn == "fused"):
            y = self.res(self.down3(self.down2(self.down1(x))))
            return self.out(self.up2(self.up1(y)), x)
