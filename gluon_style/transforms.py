"""Style transfer as a Gluon data transform, and style augmentation.

Two per-image transforms for ``gluon.data`` pipelines, both
:class:`mxnet.gluon.Block` s that take and return the ``(H, W, 3)`` uint8
NDArrays that ``gluon.data.vision`` datasets yield, so they go first in a
``transforms.Compose`` (before ``ToTensor``):

* :class:`Stylize`: one style (or a fixed blend) of the multi-style network
  (:mod:`gluon_style.fast.multistyle`), applied with probability `p` and blended
  with the photo by `strength` (fast mode's control: 0 is the photo, 1 the
  network's painting);
* :class:`StyleAugment`: style augmentation (Jackson, Atapour-Abarghouei,
  Bonner, Breckon and Obara 2019, "Style Augmentation: Data Augmentation via
  Style Randomization", CVPR Workshops): each image gets a random style. The
  paper samples the style vector of Ghiasi et al.'s arbitrary-style network
  from a normal distribution fitted to paintings' vectors and interpolates it
  with the image's own; here the vector is a random convex blend of the
  multi-style network's trained styles (weights drawn from a Dirichlet, so it
  stays among styles the network paints well) and the strength, drawn from a
  range, blends the pixels.

The random draws are reproducible: an image's draw depends only on the seed,
the epoch (:meth:`StyleAugment.set_epoch`) and the image's pixels (a hash of
them), not on the order, the process or the worker it runs in, so a
``DataLoader`` with ``num_workers > 0`` gives exactly what the main process
gives. (Two identical images get the same draw; pass your own keys to
:meth:`StyleAugment.draw` to draw per sample instead.) An image gets another
style each epoch once the epoch is set; MXNet 1.9's ``DataLoader`` copies the
dataset into its workers when it is created, so set the epoch before creating
the epoch's loader (or use ``thread_pool=True``).

Both transforms pickle without their network: it is loaded lazily, once per
process (each ``DataLoader`` worker loads its own on first use).

:class:`StylizeBatch` is the batched variant, a ``HybridBlock`` for ``(N, 3,
H, W)`` float batches already on a device; its input convention is one of
:data:`INPUTS` and is checked. With the draws of its transform it gives the
per-image transform's images (up to the final rounding to uint8).

Defaults are the module constants below.
"""
import hashlib
import os
from collections import namedtuple

import numpy as np
from mxnet import gluon

from .errors import Error, check_real

__all__ = ["Stylize", "StyleAugment", "StylizeBatch", "StyleDraw", "image_key", "input_range",
           "STRENGTH", "P", "SEED", "AUGMENT_P", "AUGMENT_STRENGTH", "DIRICHLET_ALPHA", "INPUTS",
           "INPUT", "RANGE_SLACK"]

#: :class:`Stylize`: the style's strength (1 = the network's painting, 0 = the photo)
STRENGTH = 1.0
#: :class:`Stylize`: the probability that an image is stylized
P = 1.0
#: the seed of the per-image draws (None: fresh randomness on every call, not reproducible)
SEED = 0
#: :class:`StyleAugment`: the probability that an image is augmented
AUGMENT_P = 0.5
#: :class:`StyleAugment`: the strength is drawn uniformly from this range
AUGMENT_STRENGTH = (0.5, 1.0)
#: :class:`StyleAugment`: the Dirichlet concentration of the blend weights (1: uniform
#: over all blends; small: mostly one style; large: an even mix of all). With the nine
#: shipped styles, 1 mixes them all (mean top weight 0.32) and the samples look alike: 8
#: draws of one 128 px photo at strength 1 differ by 14.8 levels of 255 on average, at 0.3
#: by 20.9 (top weight 0.51), at 0.1 by 28.2 (0.72, mostly one style)
DIRICHLET_ALPHA = 0.3
#: input conventions of :class:`StylizeBatch`: RGB on the 0..255 scale ("pixels"), in 0..1
#: (what ``transforms.ToTensor`` gives: "unit"), or ``(rgb/255 - MEAN) / STD`` with the
#: package's ImageNet MEAN and STD ("normalized": ``ToTensor`` then
#: ``Normalize(images.MEAN, images.STD)``, the package's tensors)
INPUTS = ("normalized", "unit", "pixels")
INPUT = "normalized"
#: how far outside its convention's range a batch may go before it is refused, as a
#: fraction of the range (about 2.5 levels of 255: resampling overshoot)
RANGE_SLACK = 0.01

StyleDraw = namedtuple("StyleDraw", "applied weights strength")
StyleDraw.__doc__ = """One image's draw: whether it is stylized, the blend weights over the
network's styles ((S,) float64, summing to 1) and the strength in [0, 1]."""


def image_key(image):
    """The key of an image's draw: a 64-bit hash of its shape and uint8 pixels (HWC).

    Parameters
    ----------
    image : numpy.ndarray or mxnet.nd.NDArray
        ``(H, W, 3)`` uint8.

    Returns
    -------
    int
    """
    a = np.ascontiguousarray(image.asnumpy() if hasattr(image, "asnumpy") else image)
    h = hashlib.blake2b(repr(a.shape).encode() + a.tobytes(), digest_size=8)
    return int.from_bytes(h.digest(), "little")


def check_input_convention(name):
    """`name` if it is one of :data:`INPUTS`, else :class:`Error`."""
    if name not in INPUTS:
        raise Error("unknown input convention %r (valid: %s)" % (name, ", ".join(INPUTS)))
    return name


def check_p(p):
    return check_real("p", p, positive=False, high=1.0)


def _resolve_table(network):
    """(table path, style names) of the multi-style network holding style `network`
    (default: the first one found), from the manifests; nothing is loaded."""
    from . import fast
    from .fast.multistyle import VARIANT
    if network is None:
        found = [n for n, e in sorted(fast.list_styles().items()) if e.get("variant") == VARIANT]
        if not found:
            raise Error("no multi-style network found (in %s)"
                        % (", ".join(fast.params_dirs()) or "no params folder"))
        network = found[0]
    path, variant, _ = fast._resolve(network)
    if variant != VARIANT:
        raise Error("style %r is not a style of a multi-style network" % network)
    return os.path.abspath(path), fast.multistyle_names(path)


class _StyleTransform(gluon.Block):
    """What :class:`Stylize` and :class:`StyleAugment` share: the network, loaded
    lazily once per process, and the per-image call."""

    def __init__(self, network=None, *, table=None, names=None, transformer=None, seed=SEED,
                 ctx=None):
        super().__init__()
        if table is None:
            table, names = _resolve_table(network)
        elif names is None:
            from .fast import multistyle_names
            names = multistyle_names(table)
        self.table, self.names = table, list(names)
        self.transformer, self.ctx = transformer, ctx
        if seed is not None:
            seed = int(seed)
            if seed < 0:
                raise Error("seed must be >= 0 or None, got %d" % seed)
        self.seed = seed
        self.epoch = 0
        self._cache = {}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = {}  # the network is never pickled: each process loads its own
        return state

    # ---------------------------------------------------------- the network
    def network(self, ctx=None):
        """The :class:`~gluon_style.fast.multistyle.MultiStyleNet`, loaded on first use in this
        process (and kept: one load per process and device)."""
        import mxnet as mx
        ctx = ctx or self.ctx or mx.cpu()
        if self._cache.get("pid") != os.getpid():  # a forked worker: load its own
            self._cache = {"pid": os.getpid()}
        key = ("net", str(ctx))
        if key not in self._cache:
            from .fast.multistyle import load_net
            net = load_net(self.table, transformer=self.transformer, ctx=ctx)
            if net.n_styles != len(self.names):
                raise Error("style table %s has %d rows for %d styles"
                            % (self.table, net.n_styles, len(self.names)))
            self._cache[key] = net
        return self._cache[key]

    def batch_block(self, input=INPUT, *, ctx=None, check=True):
        """A :class:`StylizeBatch` drawing as this transform does (see there)."""
        return StylizeBatch(self, input=input, ctx=ctx, check=check)

    def _block(self):
        if self._cache.get("pid") != os.getpid() or "block" not in self._cache:
            block = StylizeBatch(self, input="pixels", check=False)
            self._cache["block"] = block  # network() has reset the cache for this process
        return self._cache["block"]

    # ---------------------------------------------------------- draws
    def set_epoch(self, epoch):
        """Draw epoch `epoch`'s styles (a whole number >= 0; 0 at first); returns self."""
        from .errors import check_whole
        self.epoch = check_whole("epoch", epoch, low=0)
        return self

    def _rng(self, key):
        if self.seed is None:
            return np.random.default_rng()
        return np.random.default_rng([self.seed, self.epoch, int(key) % (1 << 64)])

    def draw(self, key):
        """The draw (:data:`StyleDraw`) of the image with key `key` (an int >= 0,
        e.g. :func:`image_key` or a sample's index)."""
        raise NotImplementedError

    def draw_batch(self, keys):
        """The draws of `keys` as ``(weights (N, S), strength (N,))`` float32 arrays; an
        image that is not stylized has strength 0 (:class:`StylizeBatch` returns it
        as it is)."""
        draws = [self.draw(k) for k in keys]
        weights = np.stack([d.weights for d in draws]).astype(np.float32)
        strength = np.array([d.strength if d.applied else 0.0 for d in draws], np.float32)
        return weights, strength

    # ---------------------------------------------------------- the transform
    def forward(self, image):
        """`image` (``(H, W, 3)`` uint8 NDArray or numpy array) stylized, of the same
        type and shape; an image left alone is returned as it is (the same object)."""
        import mxnet as mx
        is_nd = isinstance(image, mx.nd.NDArray)
        shape = tuple(image.shape) if hasattr(image, "shape") else None
        dtype = np.dtype(image.dtype) if hasattr(image, "dtype") else None
        if shape is None or len(shape) != 3 or shape[2] != 3 or dtype != np.uint8:
            raise Error("%s takes an (H, W, 3) uint8 image (what gluon.data.vision datasets "
                        "yield), got %s" % (type(self).__name__, "shape %s %s" % (shape, dtype)
                                            if shape is not None else type(image).__name__))
        arr = image.asnumpy() if is_nd else np.asarray(image)
        d = self.draw(image_key(arr))
        if not d.applied or d.strength == 0.0:
            return image
        block = self._block()
        ctx = self.ctx or mx.cpu()
        x = mx.nd.array(arr.transpose(2, 0, 1)[None], ctx=ctx, dtype=np.float32)
        out = block(x, mx.nd.array(d.weights[None], ctx=ctx, dtype=np.float32),
                    mx.nd.array([d.strength], ctx=ctx, dtype=np.float32))
        u8 = np.clip(np.rint(out[0].asnumpy()), 0, 255).astype(np.uint8).transpose(1, 2, 0)
        return mx.nd.array(u8, ctx=image.context, dtype=np.uint8) if is_nd else u8

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % kv for kv in self._settings().items()))

    def _settings(self):
        return {"seed": self.seed, "epoch": self.epoch}


class Stylize(_StyleTransform):
    """A data transform painting images with one style of the multi-style network.

    ``Stylize(style="wave")(img)``: `img` an ``(H, W, 3)`` uint8 NDArray (or numpy
    array), as ``gluon.data.vision`` datasets yield; returns the same type and
    shape. Put it first in ``transforms.Compose([Stylize(...), transforms.ToTensor(),
    ...])``. It pickles without its network, which each process loads once on
    first use, so it works in a ``DataLoader`` with ``num_workers > 0``.

    Parameters
    ----------
    style : str or dict
        A style of the multi-style network (see ``python -m gluon_style.transfer
        styles``) or a blend of its styles: ``{"wave": 0.5, "udnie": 0.5}`` or
        ``"wave:0.5,udnie:0.5"`` (normalized to sum to 1).
    strength : float
        In [0, 1]: ``strength * painted + (1 - strength) * photo`` (fast mode's control,
        :func:`gluon_style.fast.apply_controls`). Default :data:`STRENGTH`.
    p : float
        The probability that an image is stylized (0: never, the identity; 1:
        always). Default :data:`P`.
    seed : int or None
        Whether an image is stylized (when ``0 < p < 1``) depends only on the seed and
        its pixels (see :func:`image_key`). Default :data:`SEED`.
    ctx : mxnet.Context, optional
        Where the network runs (default: the CPU, where data loading runs).
    table, names, transformer : str, optional
        A multi-style table file and its style names by row, and the shared
        transformer's weights, instead of the styles found in the params folders
        and Magenta's weights from the cache (see :mod:`gluon_style.fast.multistyle`).

    References
    ----------
    Dumoulin, Shlens and Kudlur (2017), "A Learned Representation for Artistic Style";
    Ghiasi et al. (2017), "Exploring the structure of a real-time, arbitrary neural
    artistic stylization network".
    """

    def __init__(self, style, *, strength=STRENGTH, p=P, seed=SEED, ctx=None, table=None,
                 names=None, transformer=None):
        from .fast.arbitrary import check_strength
        from .fast.multistyle import parse_style_weights, weight_vector
        spec = parse_style_weights(style) if isinstance(style, str) else dict(style or {})
        if not spec:
            raise Error("Stylize needs a style (a name or a blend of names)")
        super().__init__(next(iter(spec)) if table is None else None, table=table, names=names,
                         transformer=transformer, seed=seed, ctx=ctx)
        self.style = spec
        self.weights = weight_vector(spec, self.names)
        self.strength = check_strength(strength)
        self.p = check_p(p)

    def draw(self, key):
        applied = self.p == 1.0 or (self.p > 0.0 and self._rng(key).random() < self.p)
        return StyleDraw(applied, self.weights, self.strength)

    def _settings(self):
        return {"style": self.style, "strength": self.strength, "p": self.p, "seed": self.seed,
                "epoch": self.epoch}


class StyleAugment(_StyleTransform):
    """Style augmentation: each image painted with a random blend of the network's styles.

    Jackson et al. (2019), "Style Augmentation: Data Augmentation via Style
    Randomization" (CVPR Workshops): randomizing texture, contrast and colour while
    keeping shape makes a network trained on the augmented images more robust to
    domain shift. Per image, from a generator seeded by `seed` and the image's key
    (:func:`image_key`): with probability `p`, blend weights ``w ~ Dirichlet(alpha,
    ..., alpha)`` over `styles` and a strength ``s ~ U(strength)``; the image is
    painted with the style vector ``w @ table`` and blended ``s * painted + (1 - s) *
    photo``. Takes and returns ``(H, W, 3)`` uint8 images like :class:`Stylize`,
    and pickles like it.

    Parameters
    ----------
    network : str, optional
        Any style of the multi-style network to use (default: the first one found).
    styles : sequence of str, optional
        The styles drawn from (default: all of the network's).
    alpha : float
        The Dirichlet concentration, > 0. Default :data:`DIRICHLET_ALPHA`.
    strength : (float, float)
        The range the strength is drawn from, within [0, 1]. Default
        :data:`AUGMENT_STRENGTH`.
    p : float
        The probability that an image is augmented. Default :data:`AUGMENT_P`.
    seed : int or None
        Default :data:`SEED`; None draws afresh on every call (not reproducible).
    ctx, table, names, transformer :
        As :class:`Stylize`.

    Notes
    -----
    The paper draws the style vector from a normal distribution fitted to 79,433
    paintings' vectors and interpolates it with the image's own vector; a convex
    blend of trained styles stays where the network was trained, and the strength
    here blends pixels (the image's own vector would need the style predictor).
    """

    def __init__(self, network=None, *, styles=None, alpha=DIRICHLET_ALPHA,
                 strength=AUGMENT_STRENGTH, p=AUGMENT_P, seed=SEED, ctx=None, table=None,
                 names=None, transformer=None):
        from .fast.arbitrary import check_strength
        super().__init__(network, table=table, names=names, transformer=transformer, seed=seed,
                         ctx=ctx)
        styles = list(self.names if styles is None else styles)
        unknown = [s for s in styles if s not in self.names]
        if unknown or not styles:
            raise Error("unknown style %r for style augmentation (the network has: %s)"
                        % (unknown[0] if unknown else None, ", ".join(self.names)))
        self.styles = styles
        self._rows = [self.names.index(s) for s in styles]
        self.alpha = check_real("alpha", alpha, positive=True)
        try:
            lo, hi = (check_strength(s) for s in strength)
        except (TypeError, ValueError):
            raise Error("strength must be a range (low, high) within [0, 1], got %r"
                        % (strength,)) from None
        if lo > hi:
            raise Error("strength range (%g, %g): low is above high" % (lo, hi))
        self.strength = (lo, hi)
        self.p = check_p(p)

    def draw(self, key):
        rng = self._rng(key)
        applied = rng.random() < self.p
        w = np.zeros(len(self.names))
        w[self._rows] = rng.dirichlet(np.full(len(self._rows), self.alpha))
        return StyleDraw(bool(applied), w, float(rng.uniform(*self.strength)))

    def _settings(self):
        return {"styles": self.styles, "alpha": self.alpha, "strength": self.strength,
                "p": self.p, "seed": self.seed, "epoch": self.epoch}


def _convert(F, x, scales, shifts):
    """``x * scale + shift`` per channel of (N, 3, H, W)."""
    c = F.split(x, num_outputs=3, axis=1)
    return F.concat(*[ci * s + b for ci, s, b in zip(c, scales, shifts)], dim=1)


def _to_normalized(F, x, convention):
    from .io.images import MEAN, STD
    if convention == "normalized":
        return x
    k = 255.0 if convention == "pixels" else 1.0
    return _convert(F, x, [1.0 / (k * s) for s in STD], [-m / s for m, s in zip(MEAN, STD)])


def _from_normalized(F, x, convention):
    from .io.images import MEAN, STD
    if convention == "normalized":
        return x
    k = 255.0 if convention == "pixels" else 1.0
    return _convert(F, x, [k * s for s in STD], [k * m for m in MEAN])


def input_range(convention):
    """The (low, high) values of pixels 0 and 255 in `convention`, per channel."""
    from .io.images import MEAN, STD
    check_input_convention(convention)
    if convention == "pixels":
        return np.zeros(3), np.full(3, 255.0)
    if convention == "unit":
        return np.zeros(3), np.ones(3)
    mean, std = np.array(MEAN), np.array(STD)
    return -mean / std, (1 - mean) / std


class StylizeBatch(gluon.HybridBlock):
    """The batched :class:`Stylize` / :class:`StyleAugment`: ``(N, 3, H, W)`` batches on a device.

    ``block(x)`` draws each image's style as the transform does (from the image's
    pixels: one copy of the batch to the host) and returns the stylized batch in
    `x`'s convention; ``block(x, weights, strength)`` takes the draws instead
    (``(N, S)`` and ``(N,)``, e.g. from :meth:`Stylize.draw_batch` with your own
    keys), and is what is traced when the block is hybridized (two extra inputs).
    An image with strength 0 comes back exactly as it went in.

    Parameters
    ----------
    transform : Stylize or StyleAugment
        The style, its controls and the draws; its network is loaded on `ctx`.
    input : {"normalized", "unit", "pixels"}
        `x`'s convention (:data:`INPUTS`): the package's ImageNet-normalized tensors
        (``ToTensor`` + ``Normalize(images.MEAN, images.STD)``), RGB in [0, 1]
        (``ToTensor``), or RGB in [0, 255]. The output has the same convention.
    ctx : mxnet.Context, optional
        Where the network's weights live (default: the transform's ctx, else the CPU).
    check : bool
        Check each NDArray batch: shape ``(N, 3, H, W)`` float and values within the
        convention's range (:func:`input_range`, with :data:`RANGE_SLACK`): a
        [0, 255] batch given as "unit" is refused (one small reduction per batch).
    """

    def __init__(self, transform, *, input=INPUT, ctx=None, check=True, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(transform, _StyleTransform):
            raise Error("StylizeBatch takes a Stylize or StyleAugment transform, got %s"
                        % type(transform).__name__)
        self.__dict__["_transform"] = transform  # not a child: its network is, below
        self.input = check_input_convention(input)
        self.check = bool(check)
        with self.name_scope():
            self.net = transform.network(ctx)

    @property
    def transform(self):
        return self._transform

    def check_batch(self, x):
        """Raise :class:`Error` unless NDArray `x` is an (N, 3, H, W) float batch within
        the input convention's range."""
        import mxnet as mx
        if not isinstance(x, mx.nd.NDArray):
            return
        if x.ndim != 4 or x.shape[1] != 3 or np.dtype(x.dtype).kind != "f":
            raise Error("StylizeBatch takes an (N, 3, H, W) float batch, got shape %s %s"
                        % (x.shape, np.dtype(x.dtype).name))
        lo, hi = input_range(self.input)
        slack = RANGE_SLACK * (hi - lo)
        got_lo = mx.nd.min(x, axis=(0, 2, 3)).asnumpy()
        got_hi = mx.nd.max(x, axis=(0, 2, 3)).asnumpy()
        if not (np.isfinite(got_lo).all() and np.isfinite(got_hi).all()) or \
                (got_lo < lo - slack).any() or (got_hi > hi + slack).any():
            raise Error("StylizeBatch(input=%r) takes values in [%s, %s] per channel, got [%s, %s]"
                        "; give the batch's convention (one of %s)" % (
                            self.input, _fmt(lo), _fmt(hi), _fmt(got_lo), _fmt(got_hi),
                            ", ".join(INPUTS)))

    def keys(self, x):
        """The :func:`image_key` of each image of batch `x` (in this block's convention),
        as the per-image transform sees it (uint8 HWC)."""
        import mxnet as mx
        lo, hi = input_range(self.input)
        a = x.asnumpy() if isinstance(x, mx.nd.NDArray) else np.asarray(x)
        if self.input == "normalized":
            from .io.images import to_uint8
            u8 = to_uint8(a)
        else:
            u8 = np.clip(np.rint(np.moveaxis(a, 1, -1) * (255.0 / hi)), 0, 255).astype(np.uint8)
        return [image_key(im) for im in u8]

    def forward(self, x, weights=None, strength=None):
        import mxnet as mx
        if self.check:
            self.check_batch(x)
        if (weights is None) != (strength is None):
            raise Error("StylizeBatch: give both weights and strength, or neither")
        if weights is None:
            w, s = self._transform.draw_batch(self.keys(x))
            if not s.any():
                return x
            weights = mx.nd.array(w, ctx=x.context)
            strength = mx.nd.array(s, ctx=x.context)
        return super().forward(x, weights, strength)

    def hybrid_forward(self, F, x, weights, strength):
        s = F.reshape(strength, shape=(-1, 1, 1, 1))
        painted = _from_normalized(F, self.net(_to_normalized(F, x, self.input), weights),
                                   self.input)
        return F.broadcast_mul(s, painted) + F.broadcast_mul(1 - s, x)


def _fmt(v):
    return " ".join("%.3g" % float(a) for a in v)
