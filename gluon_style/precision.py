"""Numeric precision of the networks: float32 or bfloat16, chosen at run time.

``--precision auto`` (the default: :data:`gluon_style.options.FastOptions.precision`
for fast mode, :data:`~gluon_style.options.OptimizeOptions.precision` for the
optimization's loss network) runs a network in bfloat16 only where all of these hold:

* the device is a CPU whose flags (``/proc/cpuinfo``) include ``avx512_bf16`` or
  ``amx_bf16`` (:func:`cpu_flags`);
* the installed MXNet's oneDNN runs bfloat16 convolutions faster than float32 ones
  on it (:func:`bf16_speedup`: a short probe, cached per MXNet version, CPU, threads
  and AMX state under ``$MXNET_HOME/gluon_style``). With MXNet 1.9.1 (oneDNN 2.4) that
  takes AMX, which the package turns on at import where the CPU has it
  (:func:`gluon_style.runtime.enable_amx`): 2.4x float32's speed with it, about 0.55x
  with AVX512-BF16 alone on that Intel CPU, faster than float32 on an AMD EPYC (Zen 4)
  without AMX (see ``docs/precision.md``);
* the network's bfloat16 result holds (:data:`HOLDS`): the per-style (Johnson)
  transformer within :data:`TOLERANCE` of float32, with its convolutions in bfloat16
  except the first two (from RGB, and the first downsampling one), the last (to RGB) and
  the last upsampling one, its norm statistics in float32 (:func:`to_bfloat16`); the
  optimization's VGG with its convolutions in bfloat16 and its Gram matrices and losses in
  float32
  (:func:`loss_to_bfloat16`, :data:`LOSS_TOLERANCE`). Magenta's small multi-style /
  arbitrary network (8-32 channels, conditional norms) does not: bfloat16 moves it by
  5-8 levels for a few per cent of speed, so it stays float32 whatever is asked.

``--precision bfloat16`` asks for it where it holds even if the probe finds it slower
(an error on a CPU without the feature, or a GPU); ``float32`` never converts.
"""
import json
import logging
import os
import platform
import time

from .errors import Error

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "float32", "bfloat16")

#: kinds of network whose bfloat16 output holds: the per-style (Johnson) transformer
#: within :data:`TOLERANCE` of float32; the optimization's loss network ("vgg") to within
#: what float32 itself does from a start nudged by 1e-4 (:data:`LOSS_TOLERANCE`)
HOLDS = ("johnson", "vgg")

#: what "holds" means, in 8-bit levels against the float32 output of the same network:
#: (max, mean); the figures on photos are in docs/precision.md.
TOLERANCE = (3, 0.25)

#: an optimization run with its loss network in bfloat16 ends within this share of
#: float32's final loss. Its pixels are another path to a minimum as good: after 100
#: L-BFGS steps they differ from float32's as much as float32's own from a start moved
#: by 1e-4 (mean 9 vs 8 levels at 384 px), and look the same (docs/precision.md)
LOSS_TOLERANCE = 0.02

#: bfloat16 is used by ``auto`` only when the probe finds it at least this much faster
MIN_SPEEDUP = 1.1

BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def _cpuinfo(field, path="/proc/cpuinfo"):
    """The value of the first `field` line of `path` (None where there is none)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_flags(path="/proc/cpuinfo"):
    """The CPU's feature flags (a frozenset; empty where they cannot be read)."""
    return frozenset((_cpuinfo("flags", path) or "").split())


def has_bf16(flags=None):
    """Whether the CPU has bfloat16 instructions (AVX512-BF16 or AMX-BF16)."""
    flags = cpu_flags() if flags is None else flags
    return any(f in flags for f in BF16_FLAGS)


def _probe_file():
    from .nets.store import cache_root
    return os.path.join(cache_root(), "gluon_style", "precision.json")


def _measure_speedup(reps=5):
    """float32 time / bfloat16 time of a stack of three 64-channel 3x3 convolutions
    at 96x96 (min of `reps` after a warm-up), as MXNet runs them here."""
    import mxnet as mx
    from mxnet import gluon
    net = gluon.nn.HybridSequential()
    for _ in range(3):
        net.add(gluon.nn.Conv2D(64, 3, padding=1, in_channels=64, activation="relu"))
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    net.hybridize(static_alloc=True)
    x = mx.nd.random.uniform(shape=(1, 64, 96, 96))
    bnet = _convert(net, [x], ctx=mx.cpu())
    bnet.hybridize(static_alloc=True)

    def best(block):
        block(x).wait_to_read()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            block(x).wait_to_read()
            times.append(time.perf_counter() - t0)
        return min(times)
    fp32, bf16 = [], []
    for _ in range(2):  # interleaved, so a busy neighbour slows both alike
        fp32.append(best(net))
        bf16.append(best(bnet))
    return min(fp32) / min(bf16)


def bf16_speedup(*, measure=_measure_speedup):
    """How much faster bfloat16 convolutions run than float32 ones with this MXNet on
    this CPU (> 1: faster), measured once and cached under ``$MXNET_HOME/gluon_style``
    by MXNet version and CPU; None on a CPU without bfloat16 instructions."""
    if not has_bf16():
        return None
    import mxnet as mx
    from .runtime import AMX, settle_cpu_isa
    settle_cpu_isa()
    cpu = _cpuinfo("model name") or platform.processor() or "unknown"
    key = "%s | %s | %s | %s" % (mx.__version__, cpu, os.environ.get("OMP_NUM_THREADS", ""),
                                 ("amx, late" if AMX["late"] else "amx") if AMX["on"]
                                 else "no amx")
    path = _probe_file()
    try:
        with open(path) as f:
            cache = json.load(f)
    except (OSError, ValueError):
        cache = {}
    if key in cache:
        return cache[key]
    try:
        speedup = float(measure())
    except Exception as e:  # noqa: BLE001 - a build that cannot run bfloat16 is not faster
        log.debug("bfloat16 probe failed: %s", e)
        speedup = 0.0
    cache[key] = speedup
    try:
        from .io.fileio import atomic_write
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with atomic_write(path, "w", role="precision probe cache") as f:
            json.dump(cache, f, indent=1)
    except (OSError, Error) as e:  # a read-only home only costs the probe next time
        log.debug("precision probe not cached: %s", e)
    return speedup


def resolve(precision="auto", *, kind, ctx=None, flags=None, speedup=bf16_speedup):
    """``(precision, why)``: what network `kind` (``"johnson"``, ``"magenta"`` or
    ``"vgg"``, the optimization's loss network) runs in
    on `ctx` when `precision` is asked for, and a short reason for the log.

    ``"bfloat16"`` on a GPU or a CPU without the feature is an :class:`Error`.
    `flags` (the CPU's, default :func:`cpu_flags`) and `speedup` (a function, default
    :func:`bf16_speedup`) are parameters so that the choice can be tested anywhere.
    """
    if precision not in PRECISIONS:
        raise Error("unknown precision %r (use %s)" % (precision, ", ".join(PRECISIONS)))
    if precision == "float32":
        return "float32", "asked for"
    gpu = ctx is not None and getattr(ctx, "device_type", "cpu") == "gpu"
    flags = cpu_flags() if flags is None else flags
    if precision == "bfloat16":
        if gpu:
            raise Error("--precision bfloat16 runs on the CPU only; on a GPU use float32")
        if not has_bf16(flags):
            raise Error("--precision bfloat16 needs a CPU with AVX512-BF16 or AMX-BF16 "
                        "instructions; this one has neither (use auto or float32)")
    if kind not in HOLDS:
        return "float32", ("bfloat16 changes this network's picture by more than %d levels"
                           % TOLERANCE[0])
    if precision == "bfloat16":
        return "bfloat16", "asked for"
    if gpu:
        return "float32", "GPU"
    if not has_bf16(flags):
        return "float32", "no bfloat16 instructions on this CPU"
    gain = speedup()
    if gain is None or gain < MIN_SPEEDUP:
        return "float32", ("bfloat16 convolutions are %.2fx float32's speed with this MXNet"
                           % (gain or 0.0))
    return "bfloat16", "%.2fx faster than float32 here" % gain


def report(asked, chosen, why, what="the network"):
    """Log the choice: a warning when an explicit `asked` was not `chosen`, else info."""
    if asked not in ("auto", chosen):
        log.warning("precision %s: %s runs in %s (%s)", asked, what, chosen, why)
    else:
        log.info("%s runs in %s (%s)", what, chosen, why)


def convolution_names(block, op="Convolution"):
    """The names of the `op` nodes of a hybridized block that has run, in graph order."""
    sym = block._cached_graph[1]
    nodes = json.loads(sym.tojson())["nodes"]
    return [n["name"] for n in nodes if n["op"] == op]


#: operators MXNet's mixed-precision lists keep in float32 that run in bfloat16 here:
#: the slices of the reflection pads (:func:`~gluon_style.nets.transformer.reflect_pad`)
NEUTRAL_OPS = ("slice",)


def _convert(block, inputs, *, ctx=None, ops=("Convolution",), neutral=(), float32=(),
             excluded=None):
    """MXNet's bfloat16 conversion of the hybridized `block`, traced on `inputs`: `ops`
    in bfloat16; MXNet's float32 list less `neutral` (those then follow their input's
    type) and less `ops`, plus `float32`; `excluded(block)` names nodes kept float32."""
    import warnings

    import mxnet as mx
    from mxnet.contrib import amp
    from mxnet.contrib.amp.lists import symbol_bf16
    with warnings.catch_warnings():  # amp warns of the inputs' dtype
        warnings.simplefilter("ignore")
        out = block(*inputs)
        (out[0] if isinstance(out, (list, tuple)) else out).wait_to_read()  # the trace
        return amp.convert_hybrid_block(
            block, target_dtype="bfloat16", ctx=ctx or mx.cpu(), target_dtype_ops=list(ops),
            fp32_ops=[op for op in symbol_bf16.FP32_FUNCS
                      if op not in neutral and op not in ops] + list(float32),
            excluded_sym_names=excluded(block) if excluded else [],
            cast_optional_params=True)


def _trace_input(block, x):
    """An input that `block` runs in the formulation it picks for `x` (:class:`NormAux`):
    a 32x32 one where that is the same (the graph does not depend on the size, and a
    small trace keeps no full-size buffers), else `x`."""
    import mxnet as mx
    from .nets.transformer import NormAux
    small = mx.nd.zeros(x.shape[:2] + (32, 32), ctx=x.context)
    same = NormAux.wanted(block, small, True) == NormAux.wanted(block, x, True)
    return small if same else x


def _folded(block, trace, ctx=None):
    """`block` traced on `trace`, folded (a hybridized SymbolBlock)."""
    from .nets.folding import fold_constants
    block(trace).wait_to_read()
    folded, _ = fold_constants(block, ctx=ctx or trace.context)
    folded.hybridize(static_alloc=True)
    return folded


def fold(block, x, ctx=None):
    """The hybridized Johnson transformer `block` traced in the formulation it picks for
    the float32 input `x` (:class:`NormAux`), its parameter-only sub-graphs computed
    once (:func:`gluon_style.nets.folding.fold_constants`: the kernels of the
    upsampling and last convolutions): a :class:`TracedNet`, the same outputs as
    `block` without building those kernels at every call."""
    from .nets.transformer import NormAux
    return TracedNet(_folded(block, _trace_input(block, x), ctx), block,
                     NormAux.wanted(block, x, True))


def to_bfloat16(block, x, ctx=None):
    """A copy of the hybridized Johnson transformer `block` with its convolutions in
    bfloat16, traced on the float32 input `x` (its formulation, :class:`NormAux`, is
    the one `block` picks for `x`) and folded (:func:`fold`): a :class:`TracedNet`,
    float32 in and out.

    In bfloat16: every convolution but the first two (the 9x9 from RGB and the first
    downsampling one, which reads the full-resolution features) and the last (to
    RGB), so the first upsampling block's (its 2x2 phase conv and their interleave)
    too, the instance norms between them (as oneDNN batch norms, statistics in
    float32), the ReLUs, sums and the pads' slices; in float32: those three
    convolutions (and after the last, the interleave of its phases and the 1x1 affine
    to the package's normalization), the second upsampling block's, the output mapping.
    Each of them in bfloat16 adds levels at the most changed pixels (the first
    downsampling conv: max 5 instead of 2 on a dark photo, docs/precision.md). That
    keeps the output within :data:`TOLERANCE`.
    """
    from .nets.transformer import NormAux
    bn, trace = NormAux.wanted(block, x, True), _trace_input(block, x)
    aux = NormAux.inputs(block, trace.context) if bn else []
    kept = tuple(b.prefix for b in (block.down1, block.down2, block.up2, block.out))

    def in_float32(traced):
        """The (transposed) convs of the first two blocks, the second upsampling block
        and the output block (the last conv, the interleave of its phases, the 1x1
        affine to the package's normalization)."""
        return [n for op in ("Convolution", "Deconvolution")
                for n in convolution_names(traced, op) if n.startswith(kept)]
    out = _convert(_folded(block, trace, ctx), [trace, *aux], ctx=ctx,
                   ops=("Convolution", "Deconvolution"), neutral=NEUTRAL_OPS,
                   excluded=in_float32)
    out.hybridize(static_alloc=True)
    return TracedNet(out, block, bn)


def loss_to_bfloat16(loss, *inputs, ctx=None):
    """The optimization's hybridized loss block `loss` with its VGG convolutions in
    bfloat16, traced on `inputs` (the image, then the targets), for autograd: the
    gradient flows back to the float32 image. The Gram matrices (``FullyConnected``;
    the masked ones of several regions, after a float32 product with the mask), the
    losses and everything else stay float32."""
    out = _convert(loss, inputs, ctx=ctx, float32=("FullyConnected",))
    # the SymbolBlock's parameters are new ones, which would ask for weight gradients
    # (six times the convolutions' forward cost): the VGG stays frozen
    out.collect_params().setattr("grad_req", "null")
    out.hybridize(static_alloc=True, static_shape=True)
    return out


class LossOnFirstCall:
    """A loss block converted by :func:`loss_to_bfloat16` at its first call (traced on
    that call's inputs, outside autograd's recording), then called in its place."""

    def __init__(self, loss, ctx=None):
        self.loss, self.ctx, self._converted = loss, ctx, None

    def __call__(self, *inputs):
        if self._converted is None:
            import mxnet as mx
            with mx.autograd.pause():
                self._converted = loss_to_bfloat16(self.loss, *inputs, ctx=self.ctx)
        return self._converted(*inputs)


class TracedNet:
    """A traced copy (:attr:`block`, a SymbolBlock: folded, :func:`fold`, or converted,
    :func:`to_bfloat16`) of a transformer `net` and how to call it: the formulation it
    was traced in (`bn`, :meth:`NormAux.wanted`) decides the extra inputs and the mode;
    an input that `net` would run in another formulation (a batch for a one-image
    graph, or the reverse) is an error. It holds the values `net`'s parameters had."""

    def __init__(self, block, net, bn):
        self.block, self.net, self.bn = block, net, bn

    def __call__(self, x):
        from .nets.transformer import NormAux
        if NormAux.wanted(self.net, x, True) != self.bn:
            raise ValueError("this graph was traced for %s; trace again for "
                             "input %s (Precise does)" % (
                                 "one image" if self.bn else "batches", x.shape))
        return NormAux.call(self.block, self.net, self.bn, x)


class Precise:
    """`net` (a Johnson transformer) for inference in `precision`: at the first call of
    each formulation (one image, or a batch: :meth:`NormAux.wanted`) traced and folded
    (:func:`fold`; float32) or converted (:func:`to_bfloat16`), that copy called after.
    The copies hold `net`'s parameters as they were then: make a new Precise after
    changing them."""

    def __init__(self, net, precision, ctx=None):
        self.net, self.precision, self.ctx = net, precision, ctx
        self._traced = {}

    def __call__(self, x):
        from .nets.transformer import NormAux
        self.net.check_input(x)
        key = NormAux.wanted(self.net, x, True)
        if key not in self._traced:
            trace = fold if self.precision == "float32" else to_bfloat16
            self._traced[key] = trace(self.net, x, ctx=self.ctx)
        return self._traced[key](x)
