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
"""
import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from . import images

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


class StyleScorer:
    """Gram matrices of images on :data:`SCORE_LAYERS` of a VGG16 (the loss
    network's weights by default), for :meth:`progress`."""

    def __init__(self, network="auto", ctx=None, layers=SCORE_LAYERS):
        from . import store
        from .runtime import default_ctx
        self.ctx = ctx or default_ctx()
        net = network if isinstance(network, store.Network) else store.resolve(network)
        self.extractor = store.load_extractor(net, layers, ctx=self.ctx)
        self.layers = tuple(layers)

    def grams(self, img):
        import mxnet as mx
        from .losses import gram
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
