"""One frozen, keyword-only options object per mode: the single source of each option.

A field holds the option's default; its metadata (:func:`option`) its help text,
choices, command-line form, library check and whether a checkpoint stores it and a
resume must match it. The library functions take an options object and keyword
overrides (:meth:`Options.make`), the CLI builds its flags from the fields
(:meth:`Options.add_arguments`), the app reads its defaults from them. Adding an
option is one field here plus its use.

=====================  ==================================================
:class:`OptimizeOptions`  optimization mode, :func:`gluon_style.optimization.gatys.stylize_steps`
:class:`TrainOptions`     fast-mode training, :class:`gluon_style.fast.train.StyleTrainer`
:class:`MultiStyleOptions` its multi-style fine-tuning (``multistyle --steps N``)
:class:`FastOptions`      one-pass stylizing (``fast``; the controls and the painting)
:class:`VideoOptions`     :class:`gluon_style.fast.video.VideoJob`
=====================  ==================================================
"""
import dataclasses
import functools
import inspect
from dataclasses import dataclass, field, fields

from . import color, precision
from .nets import features
from .optimization import optimizer
from .cli.common import nonneg_float, nonneg_int, positive_float, positive_int, typed
from .cli.common import seed as seed_type
from .errors import Error, check_real, check_whole, did_you_mean

__all__ = ["option", "Options", "OptimizeOptions", "TrainOptions", "MultiStyleOptions",
           "FastOptions", "VideoOptions", "takes"]


def option(default, help, *, choices=None, check=None, resume=False, cli=True, **argparse):
    """A field: `default`, its `help` (``%(default)s`` allowed; a callable gets the
    defaults in force), `choices`, `check` (``check(value)`` raises :class:`Error`, the
    library's check), `resume` (stored in a checkpoint, must match to resume), `cli`
    (False: no flag) and the flag's other ``add_argument`` keywords (`flag`, `type`,
    `nargs`, `metavar`, `dest`...)."""
    return field(default=default, metadata=dict(help=help, choices=choices, check=check,
                                                resume=resume, cli=cli, argparse=argparse))


def _real(label, *, positive, high=None):
    return lambda v: v is None or check_real(label, v, positive=positive, high=high)


def _dask_address(v):
    if v is not None and (not isinstance(v, str) or not v.strip()):
        raise Error("dask: a scheduler address or local[:N], got %r" % (v,))


def _choice(label, choices):
    def check(v):
        if v not in choices:
            from .errors import unknown
            raise unknown(label, v, choices)
    return check


def _whole(label, low=1, high=None):
    return lambda v: v is None or check_whole(label, v, low, high)


@dataclass(frozen=True, kw_only=True)
class Options:
    """The base: validation, overrides, flags."""
    #: add " (default %(default)s)" to every flag's help that does not say its default
    HELP_DEFAULT = False

    def __post_init__(self):
        for f in fields(self):
            if f.metadata.get("check"):
                f.metadata["check"](getattr(self, f.name))

    @classmethod
    def make(cls, options=None, **overrides):
        """`options` (None: the defaults) with `overrides`; an unknown name is an
        :class:`Error` with the closest one."""
        names = [f.name for f in fields(cls)]
        for k in overrides:
            if k not in names:
                raise Error("unknown option %r of %s%s" % (k, cls.__name__, did_you_mean(k, names)))
        if options is None:
            return cls(**overrides)
        if not isinstance(options, cls):
            raise Error("options must be %s, got %s" % (cls.__name__, type(options).__name__))
        return dataclasses.replace(options, **overrides) if overrides else options

    def replace(self, **overrides):
        return self.make(self, **overrides)

    @classmethod
    def defaults(cls):
        return {f.name: f.default for f in fields(cls)}

    @classmethod
    def resume_keys(cls):
        """The options a checkpoint stores and a resume must match, in field order."""
        return tuple(f.name for f in fields(cls) if f.metadata.get("resume"))

    @classmethod
    def add_arguments(cls, parser, names=None, defaults=None, **argparse):
        """The flags of the fields (those in `names`, or all with a flag) on parser or
        group `parser`, with `defaults` (e.g. a preset's) over the fields' and further
        ``add_argument`` keywords `argparse`."""
        shown = dict(cls.defaults(), **(defaults or {}))
        for f in fields(cls):
            if (names is None and not f.metadata["cli"]) or (names is not None and
                                                             f.name not in names):
                continue
            kw = dict(f.metadata["argparse"], **argparse)
            flag = kw.pop("flag", "--" + f.name.replace("_", "-"))
            d = shown[f.name]
            if kw.get("nargs") in ("+", "*") and isinstance(d, (int, float)):
                d = [d]  # one number for what may be one per scale
            kw["default"] = kw.pop("cli_default", d)
            if flag.lstrip("-").replace("-", "_") != f.name:
                kw.setdefault("dest", f.name)
            if f.metadata["choices"] is not None:
                kw.setdefault("choices", tuple(f.metadata["choices"]))
            help_ = f.metadata["help"]
            kw["help"] = help_(shown) if callable(help_) else help_
            if cls.HELP_DEFAULT and kw["help"] and "(default" not in kw["help"]:
                kw["help"] += " (default %(default)s)"
            parser.add_argument(flag, **kw)


def takes(options_class, after):
    """Decorate ``fn(*args, options, *, own...)`` into ``fn(*args, options=None, own...,
    **overrides)`` (`after`: the number of leading arguments), with a signature that lists every
    option as a keyword with its default (so :func:`inspect.signature`, ``help()``
    and :func:`gluon_style.cli.common.default` see them)."""
    def wrap(fn):
        own = [p for p in inspect.signature(fn).parameters.values()
               if p.kind == inspect.Parameter.KEYWORD_ONLY]

        @functools.wraps(fn)
        def call(*args, options=None, **overrides):
            kw = {p.name: overrides.pop(p.name) for p in own if p.name in overrides}
            return fn(*args, options_class.make(options, **overrides), **kw)
        params = list(inspect.signature(fn).parameters.values())[:after] + own
        params.append(inspect.Parameter("options", inspect.Parameter.KEYWORD_ONLY, default=None))
        params += [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default)
                   for f in fields(options_class)]
        call.__signature__ = inspect.Signature(params)
        # and fn.__kwdefaults__, as for a function that spells its keywords out
        call.__kwdefaults__ = dict({p.name: p.default for p in params
                                    if p.kind == inspect.Parameter.KEYWORD_ONLY
                                    and p.default is not inspect.Parameter.empty})
        return call
    return wrap


#: what the optimization starts from (or an image)
INITS = ("palette", "content", "noise", "style")
#: MXNet's KVStore types fast-mode training takes (``--kvstore``)
KVSTORES = ("device", "local", "dist_sync", "dist_async")
#: how the loss terms are scaled before their weights apply: "target" divides each
#: style layer's Gram error by its target Gram matrix's mean square and the content
#: error by its target features' mean square (weights mean the same for every
#: painting, size and network); "notes" is the Gluon notes' 1/C^2 per style layer
NORMALIZATIONS = ("target", "notes")


def _lr_help(d):
    return "learning rate (default per optimizer: %s)" % ", ".join(
        "%s %g" % kv for kv in optimizer.DEFAULT_LR.items())


def _refine_fraction():
    from .optimization.gatys import REFINE_FRACTION
    return REFINE_FRACTION


@dataclass(frozen=True, kw_only=True)
class OptimizeOptions(Options):
    """Optimization mode (Gatys et al.): the keywords of
    :func:`gluon_style.optimization.gatys.stylize_steps`, whose docstring says what each does."""
    size: int = option(512, lambda d: "longer side of the result in pixels (default %d, or the "
                       "last of explicit --scales sizes)" % d["size"],
                       type=positive_int, cli_default=None)
    iterations: object = option(
        100, lambda d: "iterations at the first scale (each later scale runs %d%%%% of them), "
        "or one count per scale (default %%(default)s)" % round(100 * _refine_fraction()),
        type=positive_int, nargs="+")
    method: str = option(optimizer.DEFAULT_METHOD, "default %(default)s",
                         choices=optimizer.METHODS, flag="--optimizer")
    lr: float = option(None, _lr_help, check=_real("learning rate", positive=True),
                       type=positive_float)
    lr_decay: float = option(optimizer.LR_DECAY, "multiply the learning rate by this ... "
                             "(default %(default)s)", check=_real("lr decay", positive=True,
                                                                    high=1),
                             type=typed(float, "a number", lambda v: 0 < v <= 1,
                                        "must be above 0 and at most 1"))
    lr_decay_every: int = option(None, "... every this many iterations (default: 40%% of "
                                 "--iterations)", check=_whole("lr decay period"),
                                 type=positive_int)
    content_weight: float = option(1.0, "default %(default)s",
                                   check=_real("content weight", positive=False),
                                   type=nonneg_float)
    style_weight: float = option(3.0, "weight of each style layer's error (default %(default)s)",
                                 check=_real("style weight", positive=False), type=nonneg_float)
    tv_weight: float = option(0.5, "total-variation weight (default %(default)s)",
                              check=_real("tv weight", positive=False), type=nonneg_float)
    style_layers: object = option(None, lambda d: "VGG layers for style (default %s)" % " ".join(
        d["style_layers"] or features.DEFAULT_STYLE_LAYERS), nargs="+", metavar="NAME")
    content_layers: object = option(None, lambda d: "VGG layers for content (default %s)" % (
        ", ".join("%s on %s" % (" ".join(v), k.upper())
                  for k, v in (d["content_layers"] or features.DEFAULT_CONTENT_LAYERS).items())),
        nargs="+", metavar="NAME")
    init: object = option("palette", lambda d: "%s, or an image to continue from; palette = the "
                          "content in the style's colours (default %%(default)s)"
                          % ", ".join(INITS))
    network: object = option("auto", lambda d: "%s, or a .params file (default %%(default)s: "
                             "VGG19 from the model-zoo cache, else the offline VGG16)"
                             % ", ".join(_networks()))
    pooling: str = option("max", None, choices=features.POOLINGS)
    ctx: object = option(None, "cpu, gpu, gpu0 ... (default: GPU if any)", cli_default="auto")
    seed: int = option(None, None, check=_whole("seed", 0, 2 ** 32 - 1), type=seed_type)
    style_blend: object = option(None, "one weight per style image: their Gram matrices are "
                                 "mixed (default: equal)",
                                 type=nonneg_float, nargs="+", metavar="W")
    style_scale: float = option(1.0, "style size relative to --size: above 1 gives larger "
                                "strokes (default %(default)s)",
                                check=_real("style scale", positive=True), type=positive_float)
    style_layer_weights: object = option(
        None, lambda d: "one multiplier per style layer (default: %s for the default layers, "
        "else all 1)" % " ".join("%g" % w for w in features.DEFAULT_STYLE_LAYER_WEIGHTS),
        type=nonneg_float, nargs="+", metavar="W")
    preserve_colors: str = option("none", "keep the content's colors: luminance-only transfer "
                                  "or histogram matching of the style (default %(default)s)",
                                  choices=color.PRESERVE_COLORS)
    precision: str = option("auto", "numeric precision of the loss network's convolutions: "
                            "auto uses bfloat16 on a CPU with bfloat16 instructions where "
                            "MXNet runs it faster (Gram matrices and losses stay float32; "
                            "the result is float32's to within what a start nudged by "
                            "1e-4 changes), else float32 (default %(default)s)",
                            choices=precision.PRECISIONS)
    scales: object = option(2, "coarse to fine: N scales (SIZE/2^(N-1), ..., SIZE), or the "
                            "sizes themselves (e.g. 256 512 1024, which sets --size), each "
                            "starting from the last result (default %(default)s)",
                            type=positive_int, nargs="+")
    mask: object = option(None, "grayscale image(s) of the content's size: white where the "
                          "style goes, black where the content stays; one per --style gives "
                          "each region its own style", nargs="+", metavar="MASK")
    normalize: str = option("target", "target: each style layer's Gram error relative to the "
                            "painting's Gram matrix, the content error to the photo's features "
                            "(a weight means the same for every painting, size and network); "
                            "notes: the Gluon notes' 1/C^2 per style layer (default "
                            "%(default)s)", choices=NORMALIZATIONS)


def _networks():
    from .nets.store import NETWORKS
    return NETWORKS


@dataclass(frozen=True, kw_only=True)
class TrainOptions(Options):
    """Fast-mode training (Johnson et al.): :class:`gluon_style.fast.train.StyleTrainer`'s
    options; those marked ``resume`` are its checkpoint's ``config`` (with the style).

    Parameters
    ----------
    steps : int
        Total optimizer steps (batches) of the run.
    variant : {"full", "small"}
        See :mod:`gluon_style.nets.transformer`.
    output : {"linear", "sigmoid"}
        The transformer's output mapping (:data:`gluon_style.nets.transformer.OUTPUTS`):
        "linear" keeps a gradient for every pixel; "sigmoid", that of the first
        shipped styles, traps pixels pushed far below 0 at black.
    image_size : int
        Side of the square training crops.
    style_size : int or None
        Longer side the style image is resized to (None: `image_size`).
    batch_size, lr : int, float
        Adam's batch and learning rate.
    style_weight, content_weight, tv_weight : float
        See the module docstring for the normalization.
    style_layers, content_layer : sequence of str, str
        VGG16 layers (Johnson et al.: relu1_2 relu2_2 relu3_3 relu4_3 / relu2_2).
    style_layer_weights : sequence of float or None
        One multiplier per style layer (None: all 1), as in optimization mode;
        more weight on the shallow layers favours the painting's colors and
        fine strokes over its larger shapes.
    network : str
        Loss network; ``"auto"`` is the model-zoo VGG16 if cached, else the
        offline VGG16.
    checkpoint_dir, checkpoint_every : str, int
    seed : int
        Seeds the network's initialization, the photo order and the crops.
    ctx : str or list
        ``"auto"``, ``"cpu"``, ``"gpu0,gpu1"``...: each batch is split over them.
    micro_batch : int
        Images per forward/backward pass; a device's share of the batch is
        taken in passes of this many (the largest divisor of the share not
        above it) and their gradients summed: the same step, less memory.
        Measured on 2 CPU cores (batch 4, 256 px, full): 2.9 GB peak for
        passes of 4, 1.6 GB for 2 at the same speed, 1.0 GB for 1 (2% slower).
        On a GPU, the whole share (the batch size) uses it best.
    workers : int
        DataLoader worker processes.
    init_from : str or None
        Start from these transformer weights (a trained style's or a
        checkpoint's ``.params``, same variant) instead of a random
        initialization: fine-tuning, e.g. with another style weight.
    kvstore : {"device", "local", "dist_sync", "dist_async"}
        MXNet's KVStore for the gradients. ``device`` (Gluon's default) and
        ``local`` sum a step's gradients over the contexts of this process;
        ``dist_sync`` / ``dist_async`` train on a parameter server (the
        ``DMLC_*`` environment, see :mod:`gluon_style.launch`): `batch_size`
        is then the global batch, each worker taking ``batch_size /
        num_workers`` photos a step from its shard of the dataset.
    data_shards : int
        Read the photos as this many workers of a distributed run do (each
        shard its part of every batch), all in this process: the data order of
        such a run, reproduced or continued on one host. 1 (default): today's
        order. With a dist kvstore it is the number of workers.
    """
    HELP_DEFAULT = True
    steps: int = option(4000, "training steps (batches)", check=_whole("steps"), type=positive_int)
    variant: str = option("full", "transformer: full or small", resume=True, type=str)
    image_size: int = option(256, "side of the training crops", resume=True,
                             check=_whole("image_size"), type=positive_int)
    style_size: int = option(None, "longer side of the style image (default: image size)",
                             resume=True, check=_whole("style_size"), type=positive_int)
    batch_size: int = option(4, "photos per step", resume=True, check=_whole("batch_size"),
                             type=positive_int)
    lr: float = option(1e-3, "Adam learning rate", resume=True,
                       check=_real("lr", positive=True), type=positive_float)
    style_weight: float = option(1.5, "weight of the (normalized) style error", resume=True,
                                 check=_real("style_weight", positive=False), type=nonneg_float)
    content_weight: float = option(1.0, "weight of the (normalized) content error", resume=True,
                                   check=_real("content_weight", positive=False),
                                   type=nonneg_float)
    tv_weight: float = option(0.05, "total-variation weight (0.05: with the linear output, "
                              "0.5 left flat patches; README, training recipe)", resume=True,
                              check=_real("tv_weight", positive=False), type=nonneg_float)
    style_layers: tuple = option(features.JOHNSON_STYLE_LAYERS, "VGG16 layers for style",
                                 resume=True, nargs="+", metavar="NAME",
                                 cli_default=list(features.JOHNSON_STYLE_LAYERS))
    style_layer_weights: object = option(None, "one multiplier per style layer (default: all 1)",
                                         resume=True, type=nonneg_float, nargs="+", metavar="W")
    content_layer: str = option(features.JOHNSON_CONTENT_LAYERS[0],
                                "VGG16 layer for content (relu2_2 or relu3_3)", resume=True,
                                type=str)
    network: str = option("auto", "loss network: auto, vgg16, vgg16-hed or a .params file",
                          resume=True, type=str)
    checkpoint_dir: str = option("checkpoints", "where checkpoints go (one folder per name)",
                                 type=str)
    checkpoint_every: int = option(200, "steps between checkpoints",
                                   check=_whole("checkpoint_every"), type=positive_int)
    seed: int = option(0, "seeds initialization, photo order and crops", resume=True,
                       check=_whole("seed", 0, 2 ** 32 - 1), type=seed_type)
    ctx: str = option("auto", "cpu, gpu0, gpu0,gpu1 ... (each batch is split over them)",
                      type=str)
    micro_batch: int = option(2, "images per forward/backward pass, gradients summed over a "
                              "step's passes (less memory; on a GPU use the batch size)",
                              check=_whole("micro_batch"), type=positive_int)
    workers: int = option(2, "DataLoader worker threads", check=_whole("workers", 0),
                          type=nonneg_int)
    precision: str = option("float32", "the VGG loss network's convolutions: bfloat16 (on a "
                            "CPU with it, one device) is ~1.3x faster with AMX and followed "
                            "float32's loss curve over the steps measured; the transformer and "
                            "its gradients stay float32; auto: bfloat16 where it is faster "
                            "(default %(default)s)", choices=precision.PRECISIONS)
    init_from: str = option(None, "start from these transformer weights (.params): fine-tuning",
                            resume=True, type=str)
    output: str = option("linear", "output mapping: linear, or sigmoid (that of the first "
                         "shipped styles, whose saturation made black blots)", resume=True,
                         type=str)
    kvstore: str = option("device", "gradient store: device or local (this process), dist_sync "
                          "or dist_async (a parameter server: see python -m gluon_style.launch; "
                          "--batch-size is then the global batch, split over the workers)",
                          choices=KVSTORES, check=_choice("kvstore", KVSTORES))
    data_shards: int = option(1, "read the photos as N workers of a dist_sync run do, in this "
                              "process (its data order, e.g. to continue it on one host)",
                              check=_whole("data_shards"), type=positive_int)

    def __post_init__(self):
        super().__post_init__()
        for name in ("style_layers", "style_layer_weights"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))


@dataclass(frozen=True, kw_only=True)
class MultiStyleOptions(TrainOptions):
    """``multistyle --steps N``: the trainer's options and where its rows start."""
    init: str = option("predicted", "default %(default)s", choices=("predicted", "random"))

    #: the trainer's options the ``multistyle`` command offers
    FLAGS = ("init", "image_size", "batch_size", "lr", "style_weight", "seed", "checkpoint_dir")


@dataclass(frozen=True, kw_only=True)
class FastOptions(Options):
    """One pass (a trained style or any painting): the controls and how the painting
    is read (:meth:`gluon_style.fast.arbitrary.ArbitraryStyle.painter`)."""
    style_blend: object = option(None, "one weight per painting: their style vectors are "
                                 "mixed (default: equal)", type=nonneg_float, nargs="+",
                                 metavar="W")
    style_size: int = option(256, "longer side the painting is read at, whole, not cropped: "
                             "smaller reads coarser structures (default %(default)s)",
                             type=positive_int)
    style_scale: float = option(1.0, "strokes this many times larger: the network runs at the "
                                "size divided by this and the result is scaled up (default "
                                "%(default)s)", type=typed(float, "a number",
                                                           lambda v: 0 < v < 1e3, "must be > 0"))
    strength: float = option(1.0, "1 = the full style, 0 = the photo; with --style-image the "
                             "style vector is interpolated toward the photo's own (in video: "
                             "the pixels are blended, one vector for every frame), with a "
                             "trained style the pixels are blended with the photo's (default "
                             "%(default)s)", type=typed(float, "a number", lambda v: 0 <= v <= 1,
                                                        "must be in [0, 1]"))
    preserve_colors: str = option("none", "keep the photo's colours: its chroma under the "
                                  "painted luminance, or histogram matching (with --style-image "
                                  "on photos the painting is recolored to the photo's before it "
                                  "is read, otherwise the result is recolored) (default "
                                  "%(default)s)", choices=color.PRESERVE_COLORS)
    max_size: int = option(None, "shrink images whose longer side is larger (default: keep the "
                           "size)", type=positive_int)
    precision: str = option("auto", "numeric precision of the network: auto uses bfloat16 on a "
                            "CPU with bfloat16 instructions where MXNet runs it faster and the "
                            "network's picture holds within 2-3 levels (per-style networks; "
                            "the multi-style/arbitrary network stays float32), else float32 "
                            "(default %(default)s)", choices=precision.PRECISIONS)
    dask: str = option(None, "a folder on Dask workers (pip install 'gluon_style[dask]'): a "
                       "scheduler's address (tcp://host:8786), or local[:N] for N worker "
                       "processes here (default: one per core); the style loads once per "
                       "worker, existing outputs are skipped (a rerun resumes), a failed file "
                       "is reported and the others written (exit status 2)",
                       metavar="SCHEDULER_ADDRESS|local[:N]", check=_dask_address)


#: libx264's presets, fastest first
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow", "placebo")


@dataclass(frozen=True, kw_only=True)
class VideoOptions(Options):
    """:class:`gluon_style.fast.video.VideoJob`'s options."""
    temporal_weight: float = option(0.7, "stabilization: weight in [0, 1) of the previous output "
                                    "frame, warped by optical flow, where the flow is reliable; "
                                    "0 stylizes each frame alone (default %(default)s)",
                                    cli=False)
    batch_size: int = option(None, "frames per forward pass (default: by frame size, up to 8 "
                             "frames of 100,000 pixels in all, so 1 from 360p up)",
                             type=positive_int)
    max_size: int = option(None, "shrink frames whose longer side is larger (default: keep the "
                           "size)", type=positive_int)
    crf: int = option(16, "H.264 quality, 0-51, lower is better (default %(default)s; at the "
                      "default preset as good as 18 at x264's medium, by SSIM)",
                      type=typed(int, "a whole number", lambda v: 0 <= v <= 51, "must be in 0..51"))
    preset: str = option("superfast", "x264 preset: the slower ones take more CPU, beside the "
                         "network, for smaller files at one crf (default %(default)s)",
                         choices=X264_PRESETS, check=_choice("x264 preset", X264_PRESETS))
