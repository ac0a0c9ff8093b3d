"""Optimization-mode style transfer (Gatys et al.), as the Gluon notes lay it out.

:func:`stylize_steps` is the whole method as a generator; :func:`stylize` runs
it to the end. Their keyword arguments are the package's defaults for this mode
(the CLI reads them from here).
"""
import functools
import gc
import logging
import math
from collections import namedtuple

import mxnet as mx
import numpy as np

from .. import color, precision
from ..nets import features, store
from ..io import images
from . import optimizer
from ..errors import Error, check_whole
from .losses import PerceptualLoss, RegionLoss, check_weights, gram
from ..options import INITS, NORMALIZATIONS, OptimizeOptions, takes  # noqa: F401
from ..runtime import default_ctx

log = logging.getLogger("gluon_style")



def _mean_square(x):
    return float(mx.nd.mean(mx.nd.square(x)).asscalar()) + 1e-12


def _as_image(img, role):
    if isinstance(img, str) or hasattr(img, "__fspath__"):
        return images.load_image(img, role=role)
    if hasattr(img, "convert"):  # a PIL image
        return img.convert("RGB")
    raise Error("%s must be a path or a PIL image, got %s" % (role, type(img).__name__))


def _looks_like_path(s):
    import os
    return os.path.sep in s or "." in os.path.basename(s) or os.path.exists(s)


def _positive_int(name, value):
    if isinstance(value, bool):  # check_whole takes True for 1
        raise Error("%s must be a positive whole number, got %r" % (name, value))
    return check_whole(name, value)


class LossProblem:
    """The loss network and its targets for one content image and its style(s).

    ``problem(x)`` returns ``(total, content, style, tv)``; it is what the
    optimizer minimizes. Build it once per run: it holds the hybridized VGG and
    the style Gram matrices and content features it aims at. `style` is one
    tensor or a list; with several, the target Gram matrices are their mix
    weighted by `style_blend`.
    """

    def __init__(self, content, style, *, network, style_layers, content_layers, style_weight,
                 content_weight, tv_weight, pooling, ctx, style_blend=None,
                 style_layer_weights=None, regions=None, normalize="target",
                 precision="float32"):
        # Gluon blocks hold reference cycles: an earlier run's graphs and their
        # (image-sized) buffers wait for the cycle collector, which counts
        # objects, not bytes. Without this, runs in one process (coarse to fine,
        # the app, a loop over photos) piled up gigabytes.
        gc.collect()
        net = network if isinstance(network, store.Network) else store.resolve(network)
        style_layers = tuple(style_layers or features.DEFAULT_STYLE_LAYERS)
        if isinstance(content_layers, dict):  # one choice per architecture
            content_layers = content_layers[net.arch]
        content_layers = tuple(content_layers or features.DEFAULT_CONTENT_LAYERS[net.arch])
        for name in style_layers + content_layers:
            features.layer_index(net.arch, name)
        extractor = store.load_extractor(net, style_layers + content_layers, pooling=pooling,
                                         ctx=ctx, hybridize=False)
        self.network, self.style_layers, self.content_layers = net, style_layers, content_layers
        if style_layer_weights is None:
            style_layer_weights = (features.DEFAULT_STYLE_LAYER_WEIGHTS
                                   if style_layers == features.DEFAULT_STYLE_LAYERS
                                   else [1.0] * len(style_layers))
        layer_weights = check_weights("style layer weights", style_layer_weights,
                                      len(style_layers))
        if normalize not in NORMALIZATIONS:
            raise Error("unknown loss normalization %r (valid: %s)"
                        % (normalize, ", ".join(NORMALIZATIONS)))
        n = len(style_layers)
        styles = style if isinstance(style, (list, tuple)) else [style]
        extractor.taps.hybridize(static_alloc=True)
        content_feats = extractor.taps(content)
        self.contents, self.masks = list(content_feats[n:]), []
        if regions and len(regions) > 1:  # one style per region
            if style_blend is not None:
                raise Error("style blend mixes styles over one region; with one mask per "
                            "style each region has its own style")
            grams = [[gram(mx.nd, f) for f in extractor.taps(s)[:n]] for s in styles]
        else:
            blend = check_weights("style blend", style_blend or [1.0] * len(styles), len(styles))
            if not sum(blend) > 0:
                raise Error("style blend weights must not all be zero")
            mix = [0] * n
            for w, s in zip(blend, styles):
                for i, f in enumerate(extractor.taps(s)[:n]):
                    mix[i] = mix[i] + (w / sum(blend)) * gram(mx.nd, f)
            grams = [mix]
        self.grams = [g for region in grams for g in region]
        if normalize == "notes":  # the Gluon notes' weighting: style_weight / C^2 per style layer
            style_scales = [1.0 / features.conv_channels(net.arch, name) ** 2
                            for name in style_layers] * len(grams)
            content_scales = [1.0] * len(self.contents)
        else:  # each error relative to its target's mean square (see the module docstring)
            style_scales = [1.0 / _mean_square(g) for g in self.grams]
            content_scales = [1.0 / _mean_square(c) for c in self.contents]
        terms = dict(style_weights=[layer_weights[i % n] * style_weight * s
                                    for i, s in enumerate(style_scales)],
                     content_weights=[content_weight * s for s in content_scales],
                     tv_weight=tv_weight)
        if regions:  # the style is measured inside each region (guided Gram matrices)
            areas = [float(r.mean().asscalar()) for r in regions]
            if not all(a > 0 for a in areas):
                raise Error("mask %d of %d is all black: its style would go nowhere"
                            % ([a > 0 for a in areas].index(False) + 1, len(areas)))
            self.masks = [mx.nd.contrib.BilinearResize2D(r, height=f.shape[2], width=f.shape[3])
                          for r in regions for f in content_feats[:n]]
            self.loss = RegionLoss(extractor.taps, style_layers, content_layers,
                                   region_weights=[a / sum(areas) for a in areas], **terms)
        else:
            self.loss = PerceptualLoss(  # one image: the faster Gram product
                extractor.taps, style_layers, content_layers, **terms,
                style_channels=[features.conv_channels(net.arch, name) for name in style_layers])
        self.loss.hybridize(static_alloc=True, static_shape=True)
        self.precision = precision
        if precision == "bfloat16":  # its convolutions (resolved by the caller)
            from ..precision import loss_to_bfloat16
            self.loss = loss_to_bfloat16(self.loss, content, *self.grams, *self.masks,
                                         *self.contents, ctx=ctx)
        elif precision != "float32":
            raise Error("loss network precision: float32 or bfloat16, not %r" % (precision,))

    def __call__(self, x):
        return self.loss(x, *self.grams, *self.masks, *self.contents)


@takes(OptimizeOptions, after=2)
def stylize_steps(content, style, options):
    """Stylize `content` after `style`: an iterator of :class:`optimizer.Step`, one per iteration.

    The images are loaded and the loss network built when this is called (so bad
    input fails here); the iterations run as the iterator is consumed.

    Parameters
    ----------
    content : str or PIL.Image.Image
        An image path or image.
    style : str, PIL.Image.Image or a list of them
        The style image(s).
    size : int
        Longer side of the result, in pixels; the style images are resized to
        ``size * style_scale`` on their longer side.
    iterations : int or sequence of int
        Iterations at the first (coarsest) scale; each later scale runs
        :data:`REFINE_FRACTION` of them (rounded up), since it starts from the
        upsampled result and only refines it. A sequence gives one count per
        scale.
    method : {"gd", "adam", "lbfgs"}
        See :mod:`gluon_style.optimization.optimizer`.
    lr : float or None
        Learning rate; None takes the method's default
        (:data:`gluon_style.optimization.optimizer.DEFAULT_LR`).
    lr_decay, lr_decay_every : float, int or None
        The learning rate is multiplied by `lr_decay` every `lr_decay_every`
        iterations (gd and adam). None: every 40% of `iterations` -- the Gluon
        notes' 200 of 500, scaled to the run's length.
    content_weight, style_weight, tv_weight : float
        Weights of the terms. With ``normalize="target"`` each style layer's
        Gram error is divided by its target Gram matrix's mean square and the
        content error by its target features' mean square, so the weights mean
        the same for every painting, size and network; with ``"notes"`` each
        style layer of C channels is weighted ``style_weight / C**2`` (the Gluon
        notes: 1e4, 1, 10, see :data:`NOTES`).
    style_layers, content_layers : sequence of str, dict or None
        VGG layer names; None takes
        :data:`gluon_style.nets.features.DEFAULT_STYLE_LAYERS` and
        :data:`~gluon_style.nets.features.DEFAULT_CONTENT_LAYERS`. Content layers may
        be a dict of names per architecture (``{"vgg19": ..., "vgg16": ...}``).
    init : {"palette", "content", "noise", "style"}, str or PIL.Image.Image
        What the optimization starts from: ``"palette"``, the content recoloured
        to the (first) style image's colour mean and covariance (the content
        itself when `preserve_colors` keeps the content's colours); the content;
        noise; the style; or an image (e.g. an interrupted run's output), resized
        to the content's size and continued from.
    network : str
        ``"auto"``, a name from :data:`gluon_style.nets.store.NETWORKS` or a
        ``.params`` file.
    pooling : {"max", "avg"}
    ctx : mx.Context or None
        None: the first GPU when there is one, else the CPU.
    seed : int or None
        Seeds MXNet's and NumPy's generators (noise init).
    style_blend : sequence of float or None
        One weight per style image: the style target is the weighted mix of
        their Gram matrices (None: equal weights).
    style_scale : float
        Size of the style images relative to the result: above 1 gives larger
        brush strokes (the texture is taken at a coarser scale), below 1 finer.
    style_layer_weights : sequence of float or None
        Multiplies each style layer's weight (None:
        :data:`gluon_style.nets.features.DEFAULT_STYLE_LAYER_WEIGHTS` for the default
        layers, else all 1).
    preserve_colors : {"none", "luminance", "histogram"}
        Keep the content's colors (Gatys et al. 2016): ``"luminance"``
        stylizes the luminance only (the style's luminance matched to the
        content's mean and deviation) and puts the content's chroma back (YIQ);
        ``"histogram"`` first matches the style images' color distribution to the
        content's.
    mask : str, PIL.Image.Image, a list of them, or None
        Confines the stylization: a grayscale image of the content's size,
        white where the style goes, black where the content stays as it is
        (gray blends). The style is matched inside the mask (guided Gram
        matrices, Gatys et al. 2017) and after every iteration the image is
        put back to the content outside it (best with gd or adam). One mask per
        style image gives each region its own style.
    scales : int or sequence of int
        Coarse to fine: optimize at ``size / 2**(scales-1)``, upsample the
        result as the next scale's start, ..., up to `size`; or the sizes
        themselves (increasing, ending at `size`). Step numbers run on across
        scales. The default, 2, paints the layout at half size first: strokes
        as large as the painting's, which one scale at full size does not reach
        in the same time.
    normalize : {"target", "notes"}
        How the terms are scaled before their weights apply (see
        `content_weight`).

    options : OptimizeOptions or None
        All of the above at once (:class:`gluon_style.options.OptimizeOptions`);
        keywords override it.

    Returns
    -------
    Run
        An iterator of :class:`RunStep`; ``step.picture()`` is the PIL result to
        save or show (with the content's colors put back in luminance mode),
        ``step.image`` the optimized NDArray.
    """
    o = options
    size = _positive_int("size", o.size)
    sizes = scale_sizes(size, o.scales)
    counts = scale_iterations(o.iterations, len(sizes))
    if len(sizes) > 1:
        if not isinstance(o.network, store.Network):  # resolve (and check) the weights once
            o = o.replace(network=store.resolve(o.network))
        try:
            return ScaledRun(content, style, sizes, counts, o)
        except features.TooNarrow as e:  # at the first scale, the smallest
            raise _too_narrow_over_scales(e, o.scales) from None
    _check_init(o.init)
    ctx = o.ctx or default_ctx()
    if o.seed is not None:
        mx.random.seed(int(o.seed))
        np.random.seed(int(o.seed))
    inputs = load_inputs(content, style, o, size, ctx)
    content_x = images.to_tensor(inputs.content, ctx=ctx)
    chosen, why = precision.resolve(o.precision, kind="vgg", ctx=ctx)
    precision.report(o.precision, chosen, why, "the loss network")
    problem = LossProblem(content_x, [images.to_tensor(s, ctx=ctx) for s in inputs.styles],
                          network=o.network, style_layers=o.style_layers,
                          content_layers=o.content_layers, style_weight=o.style_weight,
                          content_weight=o.content_weight, tv_weight=o.tv_weight,
                          pooling=o.pooling, ctx=ctx, style_blend=o.style_blend,
                          style_layer_weights=o.style_layer_weights, regions=inputs.regions,
                          normalize=o.normalize, precision=chosen)
    log.info("loss network: %s; style layers %s; content layers %s", problem.network.description,
             " ".join(problem.style_layers), " ".join(problem.content_layers))
    x = start_image(o.init, inputs, content_x, o.preserve_colors, ctx)
    steps = optimizer.optimize(problem, x, iterations=counts[0], method=o.method, lr=o.lr,
                               lr_decay=o.lr_decay, lr_decay_every=o.lr_decay_every,
                               project=projection(ctx, inputs.keep, content_x))
    return Run(steps, counts[0], inputs.finish)


def _check_init(init):
    if isinstance(init, str) and init not in INITS and not _looks_like_path(init):
        raise Error("unknown init %r (valid: %s, or an image to continue from)"
                    % (init, ", ".join(INITS)))


#: a run's pictures at its size: the content (grey in luminance mode) and the styles
#: as the loss sees them, the masks' regions and their union `keep` (None: no mask), and
#: `finish`, which turns an optimized picture into the result (None: as it is)
Inputs = namedtuple("Inputs", "content styles regions keep finish")


def load_inputs(content, style, o, size, ctx):
    """The :class:`Inputs` of one scale of `size` for options `o`: loaded, checked
    against the layers' reach, resized and recoloured (`o.preserve_colors`)."""
    original = _as_image(content, "content image")
    layers = _all_layers(o.style_layers, o.content_layers)
    features.check_reach(original, content, "content image", size, layers)
    content_img = images.resize_max_side(original, size)
    mask = o.mask
    masks = [] if mask is None else list(mask) if isinstance(mask, (list, tuple)) else [mask]
    regions = [_mask_tensor(m, original.size, content_img.size, ctx) for m in masks]
    keep = mx.nd.clip(mx.nd.add_n(*regions), 0, 1) if regions else None
    styles = style if isinstance(style, (list, tuple)) else [style]
    if not styles:
        raise Error("no style image given")
    if len(masks) > 1 and len(masks) != len(styles):
        raise Error("%d masks for %d style images: give one mask, or one per style"
                    % (len(masks), len(styles)))
    style_size = max(images.MIN_SIDE, round(size * o.style_scale))
    style_imgs = []
    for s in styles:
        img = _as_image(s, "style image")
        features.check_reach(img, s, "style image", size, layers, o.style_scale)
        style_imgs.append(images.resize_max_side(img, style_size))
    if o.preserve_colors not in color.PRESERVE_COLORS:
        raise Error("unknown preserve-colors mode %r (valid: %s)"
                    % (o.preserve_colors, ", ".join(color.PRESERVE_COLORS)))
    finish = None
    if o.preserve_colors == "histogram":
        style_imgs = [color.match_histogram(s, content_img) for s in style_imgs]
    elif o.preserve_colors == "luminance":
        finish = functools.partial(color.luminance_only, content=content_img)
        style_imgs = [color.match_luminance(s, content_img) for s in style_imgs]
        content_img = color.to_luminance(content_img)
    return Inputs(content_img, style_imgs, regions, keep, finish)


def start_image(init, inputs, content_x, preserve_colors, ctx):
    """What the optimization starts from (see `init` of :func:`stylize_steps`)."""
    content_img, style_img = inputs.content, inputs.styles[0]
    if init == "content" or (init == "palette" and preserve_colors != "none"):
        return content_x.copy()
    if init == "palette":  # the photo in the painting's colours: the first strokes are paint
        return images.to_tensor(color.match_histogram(content_img, style_img), ctx=ctx)
    if init == "style":
        return images.to_tensor(images.resize_to(style_img, *content_img.size), ctx=ctx)
    if init == "noise":
        noise = np.random.uniform(0, 255, (content_img.size[1], content_img.size[0], 3))
        return mx.nd.array(images.normalize_np(noise)[None], ctx=ctx)
    # continue from an earlier result
    start = images.resize_to(_as_image(init, "init image"), *content_img.size)
    if preserve_colors == "luminance":
        start = color.to_luminance(start)
    return images.to_tensor(start, ctx=ctx)


def projection(ctx, keep, content_x):
    """The projection after each update: valid pixels, and the content outside the
    masks (`keep`, None: no mask)."""
    lo, hi = images.pixel_bounds(ctx)

    def project(image):
        # the loss is measured on valid pixels only: unclipped, the optimized image drifts
        # out of range and the saved (clipped) picture is not the one that was optimized
        image[:] = mx.nd.broadcast_minimum(mx.nd.broadcast_maximum(image, lo), hi)
        if keep is not None:
            image[:] = keep * image + (1 - keep) * content_x
    return project


def _all_layers(style_layers, content_layers):
    """Every layer the loss may read (content layers of every architecture)."""
    contents = content_layers or features.DEFAULT_CONTENT_LAYERS
    if isinstance(contents, dict):
        contents = [name for names in contents.values() for name in names]
    return list(style_layers or features.DEFAULT_STYLE_LAYERS) + list(contents)


def _too_narrow_over_scales(e, scales):
    """`e` of a coarse-to-fine run's first scale, said in terms of the whole run."""
    if isinstance(scales, (list, tuple)):
        return features.TooNarrow(e.problem, e.needed,
                                  "the first scale size must be at least %d")
    size = e.needed
    while scale_sizes(size, scales)[0] < e.needed:
        size += 1
    return features.TooNarrow(e.problem, size, "it needs a size of at least %%d with %d scales, or "
                     "fewer scales" % scales)


#: share of the first scale's iterations that each later scale runs: on held-out
#: 512 px pairs, 40 and 100 refining iterations gave the same picture and scores
#: within 0.01 (see the README's optimization section)
REFINE_FRACTION = 0.5


def scale_sizes(size, scales):
    """The sizes of a coarse-to-fine run, smallest first, ending at `size`.

    `scales` is a count N (``size / 2**(N-1)``, ..., ``size / 2``, `size`) or
    the sizes themselves, increasing and ending at `size`.
    """
    if isinstance(scales, (list, tuple)):
        sizes = [_positive_int("scale size", s) for s in scales]
        if not sizes or any(b <= a for a, b in zip(sizes, sizes[1:])):
            raise Error("scale sizes must increase, got %s" % " ".join(map(str, sizes)))
        if sizes[-1] != size:
            raise Error("scale sizes end at %d but the size is %d" % (sizes[-1], size))
        if sizes[0] < images.MIN_SIDE:
            raise Error("scale size %d is below the smallest size, %d"
                        % (sizes[0], images.MIN_SIDE))
        return sizes
    scales = _positive_int("scales", scales)
    # the smallest scale keeps VGG's minimum side (16 px) on a 2:1 image
    return sorted({min(size, max(2 * images.MIN_SIDE, round(size / 2 ** (scales - 1 - i))))
                   for i in range(scales)})


def scale_iterations(iterations, n):
    """Iterations at each of `n` scales: one count per scale, or the first
    scale's count with :data:`REFINE_FRACTION` of it (rounded up) at the others."""
    if isinstance(iterations, (list, tuple)) and len(iterations) != 1:
        if len(iterations) != n:
            raise Error("%d iterations given for %d scales" % (len(iterations), n))
        return [_positive_int("iterations", v) for v in iterations]
    first = _positive_int("iterations", iterations[0] if isinstance(iterations, (list, tuple))
                          else iterations)
    return [first] + [math.ceil(first * REFINE_FRACTION)] * (n - 1)


def _mask_tensor(mask, original, size, ctx):
    """The mask as a (1, 1, H, W) array in [0, 1] at `size`; `original` is the
    content's own size, which the mask must have."""
    from PIL import Image
    mask_img = mask if hasattr(mask, "convert") else images.load_image(mask, role="mask")
    if mask_img.size != original:
        raise Error("mask%s is %dx%d but the content image is %dx%d"
                    % ("" if hasattr(mask, "convert") else " %s" % mask, mask_img.size[0],
                       mask_img.size[1], original[0], original[1]))
    gray = np.asarray(mask_img.convert("L").resize(size, Image.BILINEAR), np.float32) / 255.0
    return mx.nd.array(gray[None, None], ctx=ctx)


class ScaledRun:
    """Coarse-to-fine :func:`stylize_steps`: each scale starts from the last result."""

    def __init__(self, content, style, sizes, iterations, options):
        self.sizes, self._content, self._style, self._options = sizes, content, style, options
        self.iterations, self.total = iterations, sum(iterations)
        self._offset, self._scale = 0, 0
        self._run = self._at_scale(0, options.init)
        self._last = None

    def _at_scale(self, i, init):
        return stylize_steps(self._content, self._style, options=self._options.replace(
            size=self.sizes[i], iterations=self.iterations[i], init=init, scales=1))

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            try:
                step = next(self._run)
            except optimizer.NonFiniteLoss as e:  # in the numbering of the whole run
                raise e.after(self._offset) from None
            except StopIteration:
                if self._scale + 1 == len(self.sizes) or self._last is None:
                    raise
                self._scale += 1
                self._offset = self._last.step
                self._run = self._at_scale(self._scale, self._run.picture(self._last.image))
                continue
            self._last = RunStep.of(step._replace(step=step.step + self._offset), self._run)
            return self._last

    @property
    def size(self):
        """The size of the scale running now."""
        return self.sizes[self._scale]

    def picture(self, image):
        return self._run.picture(image)


class RunStep(optimizer.Step):
    """A :class:`optimizer.Step` of a run: ``step.picture()`` is the PIL picture to save
    (the content's colours put back in luminance mode); ``step.image`` the NDArray."""

    @classmethod
    def of(cls, step, run):
        out = cls(*step)
        out._run = run
        return out

    def picture(self):
        return self._run.picture(self.image)


class Run:
    """What :func:`stylize_steps` returns: an iterator of :class:`optimizer.Step`."""

    def __init__(self, steps, total, finish=None):
        self._steps, self._finish = steps, finish
        self.total = total  # iterations in all

    def __iter__(self):
        return self

    def __next__(self):
        return RunStep.of(next(self._steps), self)

    def picture(self, image):
        """The PIL picture of an optimized image (colors restored if asked for)."""
        picture = images.to_image(image)
        return self._finish(picture) if self._finish else picture


#: The Gluon notes' settings, the design's origin: normalized gradient descent
#: (lr x0.1 every 40% of the run), style layers conv1_1 ... conv5_1 weighted
#: 1e4/C^2, content conv4_4 (conv4_2 on VGG16) weighted 1, TV 10, 500 iterations at
#: one scale from the content. ``stylize(c, s, **PRESETS["notes"])``; ``--preset notes`` on the CLI.
NOTES = dict(method="gd", normalize="notes", style_weight=1e4, content_weight=1.0,
             tv_weight=10.0, style_layers=features.NOTES_STYLE_LAYERS,
             content_layers=features.NOTES_CONTENT_LAYERS, iterations=500, scales=1,
             init="content")
#: named settings: keyword arguments of :func:`stylize_steps` ("default": none, its
#: own defaults)
PRESETS = {"default": {}, "notes": NOTES}


def stylize(content, style, **options):
    """Run :func:`stylize_steps` to the end and return the result as a PIL image.

    Takes the same arguments. For progress, saving along the way or the loss
    history, iterate over :func:`stylize_steps` instead.
    """
    run = stylize_steps(content, style, **options)
    step = None
    for step in run:
        pass
    return step.picture()
