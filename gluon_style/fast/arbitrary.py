"""Arbitrary-style mode: any painting, one forward pass, at full resolution.

Magenta's networks (Ghiasi et al. 2017, "Exploring the structure of a
real-time, arbitrary neural artistic stylization network"; see
:mod:`gluon_style.nets.magenta`): the painting is read once into a style vector
(:meth:`ArbitraryStyle.style_vector`, reusable by a pipeline), and the photo is
painted with it in one pass of a network that runs at the photo's own size.

Controls, all with their defaults here (the CLI and the app read them):

* ``style_size``: the longer side the painting is read at (Magenta trained
  on 256 px crops). Smaller reads coarser structures, larger finer ones;
* ``style_scale``: the network runs at the output size divided by this and
  the result is scaled up (Lanczos), so its strokes are this many times
  larger. The network's strokes have a fixed size in pixels, so on large
  photos they shrink relative to the picture: 2 at 2048 px reads like 1 at
  1024 px;
* ``strength``: the style vector interpolated from the photo's own (0) to
  the painting's (1), as in the paper;
* blends: several paintings' vectors mixed by weight;
* ``preserve_colors``: "luminance" keeps the photo's chroma under the
  painted luminance, "histogram" recolors the painting to the photo's colour
  statistics before it is read (Gatys et al. 2016).
"""
import numpy as np

from .. import color
from ..io import images
from ..errors import Error
from ..options import FastOptions

#: longer side of the painting when the style is read (px)
STYLE_SIZE = FastOptions.style_size
#: output size / size the network runs at
STYLE_SCALE = FastOptions.style_scale
#: 1 = the painting's style vector, 0 = the photo's own
STRENGTH = FastOptions.strength
PRESERVE_COLORS = FastOptions.preserve_colors
PRECISION = FastOptions.precision


def check_strength(strength):
    strength = float(strength)
    if not 0.0 <= strength <= 1.0:
        raise Error("strength must be between 0 and 1, got %g" % strength)
    return strength


def check_preserve_colors(preserve_colors):
    if preserve_colors not in color.PRESERVE_COLORS:
        raise Error("unknown preserve_colors %r (valid: %s)"
                    % (preserve_colors, ", ".join(color.PRESERVE_COLORS)))
    return preserve_colors


def blend_weights(weights, n):
    """`weights` (None: equal) for `n` paintings, normalized to sum to 1."""
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, np.float64).ravel()
    if len(w) != n:
        raise Error("%d blend weights for %d style images" % (len(w), n))
    if not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise Error("blend weights must be >= 0 and not all 0, got %s"
                    % " ".join("%g" % v for v in w))
    return w / w.sum()


def _side_multiple(img, size, multiple):
    """`img` with its longer side `size`, both sides rounded to `multiple`."""
    w, h = img.size
    s = size / max(w, h)
    new = (max(multiple, int(round(w * s / multiple)) * multiple),
           max(multiple, int(round(h * s / multiple)) * multiple))
    return images.resize_to(img, *new)


class ArbitraryStyle:
    """Magenta's two networks, loaded from the converted weights, on `ctx`.

    >>> st = ArbitraryStyle()
    >>> vec = st.style_vector(images.load_image("painting.jpg"))
    >>> st.stylize(images.load_image("photo.jpg"), vec).save("out.png")

    Parameters
    ----------
    ctx : mx.Context, optional
        Default: the GPU when MXNet sees one, else the CPU.
    predictor, transformer : str, optional
        ``.params`` files (default: converted from the installed wheel, once).
    """

    def __init__(self, ctx=None, *, predictor=None, transformer=None):
        from ..nets import magenta
        from ..runtime import default_ctx
        self.ctx = ctx or default_ctx()
        self.nets = {}
        for name, path in (("predictor", predictor), ("transformer", transformer)):
            net = magenta.load_parameters(magenta.NETWORKS[name][0](), name, path, ctx=self.ctx)
            net.collect_params().setattr("grad_req", "null")
            net.hybridize(static_alloc=True, **magenta.hybridize_options(name, self.ctx))
            self.nets[name] = net
        self.predictor, self.transformer = self.nets["predictor"], self.nets["transformer"]

    def style_vector(self, painting, *, style_size=STYLE_SIZE):
        """The style vector (``(STYLE_DIM,)`` float32) of a PIL image, read with its
        longer side `style_size` (sides rounded to multiples of 32; aspect kept,
        nothing cropped)."""
        from ..nets.magenta import PREDICTOR_MULTIPLE
        if style_size < PREDICTOR_MULTIPLE:
            raise Error("style size must be at least %d, got %d" % (PREDICTOR_MULTIPLE, style_size))
        img = _side_multiple(images.to_rgb(painting), style_size, PREDICTOR_MULTIPLE)
        return self.predictor(images.to_tensor(img, ctx=self.ctx)).asnumpy()[0]

    def blend(self, paintings, weights=None, *, style_size=STYLE_SIZE):
        """The weighted mean of the paintings' style vectors (equal weights by default)."""
        w = blend_weights(weights, len(paintings))
        vecs = [self.style_vector(p, style_size=style_size) for p in paintings]
        return np.einsum("i,ij->j", w, np.stack(vecs)).astype(np.float32)

    def target_vector(self, photo, paintings, weights=None, *, strength=STRENGTH,
                      style_size=STYLE_SIZE, preserve_colors=PRESERVE_COLORS):
        """The vector a photo is painted with: the blend of `paintings` (recolored to
        the photo's colours with ``preserve_colors="histogram"``), moved toward the
        photo's own vector by ``1 - strength``."""
        strength = check_strength(strength)
        check_preserve_colors(preserve_colors)
        if preserve_colors == "histogram":
            paintings = [color.match_histogram(p, photo) for p in paintings]
        return self._toward_photo(self.blend(paintings, weights, style_size=style_size), photo,
                                  strength, style_size)

    def _toward_photo(self, vec, photo, strength, style_size):
        """`vec` moved toward the photo's own vector by ``1 - strength``."""
        if strength < 1.0:
            own = self.style_vector(photo, style_size=style_size)
            vec = (strength * vec + (1.0 - strength) * own).astype(np.float32)
        return vec

    def paint(self, photos, vector, *, style_scale=STYLE_SCALE):
        """Paint a PIL image (or a list of same-size ones) with a style vector;
        same size out. The network runs at the size divided by `style_scale`."""
        import mxnet as mx
        batch = photos if isinstance(photos, list) else [photos]
        size = batch[0].size
        if not style_scale > 0:
            raise Error("style scale must be > 0, got %g" % style_scale)
        run = [p if style_scale == 1 else images.resize_to(
            p, max(5, round(size[0] / style_scale)), max(5, round(size[1] / style_scale)))
            for p in batch]
        x = images.to_tensor(run, ctx=self.ctx)
        vec = mx.nd.array(np.tile(np.asarray(vector, np.float32)[None], (len(run), 1)),
                          ctx=self.ctx)
        out = images.to_images(self.transformer(x, vec))
        if style_scale != 1:
            out = [images.resize_to(o, *size) for o in out]
        return out if isinstance(photos, list) else out[0]

    def painter(self, paintings, weights=None, *, strength=STRENGTH, style_size=STYLE_SIZE,
                style_scale=STYLE_SCALE, preserve_colors=PRESERVE_COLORS, precision=PRECISION):
        """A callable painting a PIL image (or a list of same-size ones) in the
        style of `paintings` (PIL images, blended by `weights`) or of a style
        vector given instead, with the controls of :meth:`target_vector` and
        :meth:`paint`; what :func:`gluon_style.fast.stylize_files` takes. This
        network runs in float32 whatever `precision` asks (checked all the same:
        :func:`gluon_style.precision.resolve`)."""
        from ..precision import report, resolve
        if not style_scale > 0:
            raise Error("style scale must be > 0, got %g" % style_scale)
        report(precision, *resolve(precision, kind="magenta", ctx=self.ctx),
               "the arbitrary-style network")
        return _Painter(self, paintings, weights, strength=check_strength(strength),
                        style_size=style_size, style_scale=style_scale,
                        preserve_colors=check_preserve_colors(preserve_colors))

    def stylize(self, photo, paintings, weights=None, **options):
        """`photo` (PIL) painted by :meth:`painter` (`paintings`, `weights`, **options)."""
        return self.painter(paintings, weights, **options)(photo)

    def conditioned(self, vector, name="painting", **controls):
        """A :class:`~gluon_style.fast.FastStyle` painting with `vector`: what video
        and the fast-mode file loop take (`controls`: its `strength` and
        `preserve_colors`, applied to the pixels, and `precision`)."""
        from . import FastStyle
        return FastStyle(Conditioned(self.transformer, vector, ctx=self.ctx), variant="magenta",
                         name=name, ctx=self.ctx, **controls)


class _Painter:
    """See :meth:`ArbitraryStyle.painter`. The paintings are read once unless
    they are recoloured to each photo (histogram matching); with strength < 1
    each photo's own vector is then mixed in."""

    def __init__(self, st, paintings, weights, *, strength, style_size, style_scale,
                 preserve_colors):
        self.st, self.weights, self.strength, self.style_size = st, weights, strength, style_size
        self.style_scale, self.preserve_colors = style_scale, preserve_colors
        if isinstance(paintings, np.ndarray):
            self.vector, self.paintings = paintings, None
        else:
            self.paintings = (list(paintings) if isinstance(paintings, (list, tuple))
                              else [paintings])
            blend_weights(weights, len(self.paintings))  # checked before any work
            self.vector = self.blended = None
            if preserve_colors != "histogram":
                self.blended = st.blend(self.paintings, weights, style_size=style_size)
                if strength == 1.0:
                    self.vector = self.blended
        self.ctx = st.ctx

    def _vector(self, photo):
        if self.vector is not None:
            return self.vector
        if self.blended is not None:
            return self.st._toward_photo(self.blended, photo, self.strength, self.style_size)
        return self.st.target_vector(photo, self.paintings, self.weights, strength=self.strength,
                                     style_size=self.style_size,
                                     preserve_colors=self.preserve_colors)

    def __call__(self, photos):
        batch = photos if isinstance(photos, list) else [photos]
        if self.vector is not None:
            out = self.st.paint(batch, self.vector, style_scale=self.style_scale)
        else:
            out = [self.st.paint(p, self._vector(p), style_scale=self.style_scale) for p in batch]
        if self.preserve_colors == "luminance":
            out = [color.luminance_only(o, p) for o, p in zip(out, batch)]
        return out if isinstance(photos, list) else out[0]


def Conditioned(transformer, vector, ctx=None):
    """A one-input HybridBlock: `transformer` with the style vector fixed.

    For inference each formulation (one image, or a batch: :class:`NormAux`) is traced
    once and folded (:func:`gluon_style.nets.folding.fold_constants`): the kernels the
    graph builds from the weights and the norms' scales and shifts from the fixed vector
    are computed once, not at every call (the same pixels; the folded copy holds the
    weights as they were at its first call). Under autograd the live graph runs.
    """
    import mxnet as mx
    from mxnet import gluon

    from ..nets.transformer import NormAux

    class _Conditioned(gluon.HybridBlock):
        def __init__(self):
            super().__init__()
            with self.name_scope():
                self.style = self.params.get_constant(
                    "style", mx.nd.array(np.asarray(vector, np.float32)[None]))
            self.net = transformer
            self.folded = {}  # formulation -> precision.TracedNet

        def forward(self, x):
            # traced once per formulation: the forward-only one (faster) unless a
            # gradient can be asked for; for one image, its norms as batch norms
            inference = isinstance(x, mx.nd.NDArray) and not mx.autograd.is_recording()
            bn = NormAux.wanted(self, x, inference)
            if not inference:
                return self.live(x, inference, bn)
            if bn not in self.folded:
                self.folded[bn] = self.fold(x, bn)
            return self.folded[bn](x)

        def live(self, x, inference, bn):
            if (inference, bn) != self._mode:
                self._clear_cached_op()
                self._mode = inference, bn
            self.net.set_inference(inference, bn)
            return NormAux.call(super().forward, self, bn, x)

        def fold(self, x, bn):
            """The inference graph of formulation `bn` on `x`'s device, traced (as
            symbols: nothing runs) and folded."""
            from ..nets.folding import fold_constants
            from ..precision import TracedNet
            self._clear_cached_op()
            self._mode = True, bn
            self.net.set_inference(True, bn)
            # Gluon's own trace (MXNet 1.9), without the pass a first call would run
            self._get_graph(x, *(NormAux.inputs(self, x.context) if bn else []))
            folded, _ = fold_constants(self, ctx=x.context)
            folded.hybridize(static_alloc=True)
            self._clear_cached_op()
            self._mode = None
            return TracedNet(folded, self, bn)

        def hybrid_forward(self, F, x, *aux, style):
            bn = self._mode[1]
            with NormAux.bound(self, aux, fused=bn == "fused"):
                # one image (bn): the vector as it is, so what it alone decides folds
                return self.net(x, style if bn else F.broadcast_like(
                    style, x, lhs_axes=(0,), rhs_axes=(0,)))

    block = _Conditioned()
    block._mode = None
    block.params.initialize(ctx=ctx)  # the constant; the transformer is loaded
    block.hybridize(static_alloc=True)
    return block
