"""How much a result looks like its painting and still like its photo: three scores.

The scores judge a result from outside the optimization that made it:

* :func:`style_progress`: how far the result's Gram matrices moved from the
  photo's toward the painting's, on VGG16 layers the optimization does not tap
  (Johnson et al.'s relu1_2, relu2_2, relu3_3, relu4_3): per layer
  ``1 - |G(result) - G(painting)| / |G(photo) - G(painting)|`` (Frobenius
  norms), averaged. 0: the photo's style; 1: the painting's. The painting is
  read at the result's size, so the texture is compared at the scale the
  optimization saw.
* :func:`color_progress` and :func:`color_distance`: network free; the Fréchet
  distance between Gaussian fits of the pixels' RGB (0..1) -- mean and
  covariance -- and how far the result moved from the photo's toward the
  painting's, as above.
* :func:`structure`: network free; the correlation of the blurred gradient
  magnitudes of the result and the photo (grayscale, both at the result's
  size). 1: every edge where the photo has one; near 0: the scene is gone.

Two defect measures of fast-mode networks (``benchmarks/bench_blots.py``):

* :func:`black_holes`: the share of pixels painted pure black (every channel
  below 10/255) where the photo is not dark (its brightest channel at least
  51/255): the blots of the first shipped styles.
* :func:`flat_share`: the share of the result left without strokes (every
  channel's local standard deviation below 0.02 over 2% of the longer side):
  a blot of any colour, black or not (a painting: under 1%).
* :func:`edge_halo`: how much more the result's local brightness rises toward
  the photo's strong edges than the photo's own does (a bright rim along a
  skyline: > 0; 0 for the photo itself).
"""
import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from .io import images

#: VGG16 layers the scores are measured on (none of them an optimization default)
SCORE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


def _rgb(img, size=None):
    img = img if hasattr(img, "convert") else images.load_image(img, role="image")
    img = img.convert("RGB")
    if size is not None and img.size != size:
        img = img.resize(size, Image.BICUBIC)
    return img


def _same_scale(painting, size):
    """The painting with its longer side that of `size` (aspect kept)."""
    return images.resize_max_side(_rgb(painting), max(size))


def _fit(img):
    px = np.asarray(img, np.float64).reshape(-1, 3) / 255.0
    return px.mean(0), np.cov(px, rowvar=False)


def _sqrtm_psd(m):
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def color_distance(a, b):
    """Fréchet distance between the RGB Gaussians of images `a` and `b`."""
    (ma, ca), (mb, cb) = _fit(_rgb(a)), _fit(_rgb(b))
    sa = _sqrtm_psd(ca)
    cross = _sqrtm_psd(sa @ cb @ sa)
    return float(np.sqrt(max(0.0, ((ma - mb) ** 2).sum() + np.trace(ca + cb - 2 * cross))))


def _progress(start, end):
    return 1.0 - end / start if start > 0 else 0.0


def color_progress(result, photo, painting):
    """How far the colours moved from the photo's toward the painting's (0 .. 1)."""
    r = _rgb(result)
    return _progress(color_distance(_rgb(photo, r.size), painting),
                     color_distance(r, painting))


def _edges(img, blur):
    gray = gaussian_filter(np.asarray(img.convert("L"), np.float64) / 255.0, blur)
    gy, gx = np.gradient(gray)
    return gaussian_filter(np.hypot(gx, gy), blur)


def structure(result, photo):
    """Correlation of the gradient magnitudes of `result` and `photo`, both blurred
    before and after at 1.5% of the longer side (the brush texture is finer than
    that: what is left is the layout of the scene)."""
    r = _rgb(result)
    blur = max(1.0, 0.015 * max(r.size))
    a, b = _edges(r, blur).ravel(), _edges(_rgb(photo, r.size), blur).ravel()
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def black_holes(result, photo, *, level=10 / 255, dark=0.2):
    """Share of the pixels with every channel below `level` where the photo's
    brightest channel is at least `dark` (both in 0..1; the photo at the
    result's size)."""
    r = np.asarray(_rgb(result), np.float64) / 255.0
    p = np.asarray(_rgb(photo, _rgb(result).size), np.float64) / 255.0
    return float(((r < level).all(2) & (p.max(2) >= dark)).mean())


def flat_share(result, *, width=0.02, level=0.02):
    """Share of the pixels around which every channel of `result` varies by less
    than `level` (standard deviation, 0..1) over a square of `width` of the
    longer side."""
    from scipy.ndimage import uniform_filter
    r = _rgb(result)
    a = np.asarray(r, np.float64) / 255.0
    k = max(3, int(round(width * max(r.size))))
    mean = uniform_filter(a, (k, k, 1))
    var = uniform_filter(a * a, (k, k, 1)) - mean * mean
    return float((np.sqrt(np.clip(var, 0, None)).max(2) < level).mean())


def _luminance(img):
    return np.asarray(img.convert("RGB"), np.float64) @ np.array([0.299, 0.587, 0.114]) / 255.0


def edge_halo(result, photo, *, width=0.015):
    """Bright rims beside the photo's strong edges, the result's beyond the photo's.

    Strong edges: the top 5% of the photo's gradient magnitude, and at least
    0.3 of its 99.5th percentile (grain is no edge). Over the pixels
    near them (up to 6 `width` away, `width` a share of the longer side) that
    are not themselves edges or texture, the correlation of the local
    brightness (luminance blurred at `width`/3, minus its blur at 8 `width`:
    the scene's slow gradients do not count) with ``exp(-distance / width)``;
    the photo's own correlation is subtracted. > 0: the result brightens
    toward edges (a halo); < 0: it darkens there.
    """
    from scipy.ndimage import distance_transform_edt, gaussian_gradient_magnitude
    r = _rgb(result)
    lr, lp = _luminance(r), _luminance(_rgb(photo, r.size))
    w = max(2.0, width * max(r.size))
    grad = gaussian_gradient_magnitude(lp, 1.0)
    strong = max(np.percentile(grad, 95), 0.3 * np.percentile(grad, 99.5))  # not noise
    dist = distance_transform_edt(grad < strong)
    near = (dist >= 2) & (dist <= 6 * w) & (grad < np.percentile(grad, 70))
    if near.sum() < 10:
        return 0.0
    closeness = np.exp(-dist[near] / w)
    corr = []
    for lum in (lr, lp):
        local = gaussian_filter(lum, w / 3) - gaussian_filter(lum, 8 * w)
        v = local[near]
        corr.append(float(np.corrcoef(v, closeness)[0, 1]) if v.std() > 0 else 0.0)
    return corr[0] - corr[1]


class StyleScorer:
    """Gram matrices of images on :data:`SCORE_LAYERS` of a VGG16 (the loss
    network's weights by default), for :meth:`progress`."""

    def __init__(self, network="auto", ctx=None, layers=SCORE_LAYERS):
        from .nets import store
        from .runtime import default_ctx
        self.ctx = ctx or default_ctx()
        net = network if isinstance(network, store.Network) else store.resolve(network)
        self.extractor = store.load_extractor(net, layers, ctx=self.ctx)
        self.layers = tuple(layers)

    def grams(self, img):
        import mxnet as mx
        from .optimization.losses import gram
        x = images.to_tensor(_rgb(img), ctx=self.ctx)
        return [gram(mx.nd, f).asnumpy()[0].astype(np.float64) for f in self.extractor.taps(x)]

    def progress(self, result, photo, painting):
        """Per-layer style progress (list, one value per layer) of `result`."""
        r = _rgb(result)
        gr, gc = self.grams(r), self.grams(_rgb(photo, r.size))
        gp = self.grams(_same_scale(painting, r.size))
        return [_progress(np.linalg.norm(c - p), np.linalg.norm(x - p))
                for x, c, p in zip(gr, gc, gp)]


def scores(result, photo, painting, scorer):
    """All scores of one result as a dict: style, color, color_distance, structure."""
    style = scorer.progress(result, photo, painting)
    return dict(style=float(np.mean(style)), style_layers=style,
                color=color_progress(result, photo, painting),
                color_distance=color_distance(result, painting),
                structure=structure(result, photo))
