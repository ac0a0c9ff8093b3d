"""Color preservation for style transfer (pure NumPy/PIL, no MXNet).

Implements the two methods of Gatys, Bethge, Hertzmann & Shechtman, "Preserving
Color in Neural Artistic Style Transfer" (arXiv:1606.05897, 2016). *Color
histogram matching* (:func:`match_histogram`) recolors the style image before
transfer with a linear map ``x' = A (x - mu_s) + mu_c`` of its RGB pixels so
that its mean and covariance equal the content image's (``A Sigma_s A^T =
Sigma_c``). *Luminance-only transfer* stylizes luminance alone: the style
luminance is matched to the content's mean and standard deviation
(:func:`match_luminance`), style transfer runs on luminance images
(:func:`to_luminance`), and afterwards :func:`luminance_only` puts the content's
chroma back under the stylized luminance (YIQ as in the paper, or full-range
YCbCr). Every image argument is a ``PIL.Image.Image``; anything else raises
:class:`gluon_style.errors.Error`.
"""
import numpy as np
from PIL import Image

from .errors import Error
from .io.images import to_rgb

__all__ = ["PRESERVE_COLORS", "HISTOGRAM_METHODS", "COLOR_SPACES",
           "match_histogram", "luminance_only", "to_luminance", "match_luminance",
           "rgb_to", "rgb_from"]

#: Values a caller may offer for a "preserve colors" option.
PRESERVE_COLORS = ("none", "luminance", "histogram")
#: Methods of :func:`match_histogram`.
HISTOGRAM_METHODS = ("chol", "pca", "sym")
#: Luminance/chroma spaces of :func:`luminance_only`.
COLOR_SPACES = ("yiq", "ycbcr")

# Rows map RGB in [0, 1] to (Y, I, Q): the standard NTSC (FCC) matrix.
_YIQ = np.array([[0.299, 0.587, 0.114],
                 [0.595716, -0.274453, -0.321263],
                 [0.211456, -0.522591, 0.311135]])
# Full-range (JPEG/JFIF, BT.601) YCbCr for RGB in [0, 1]; chroma offset 0.5
# (i.e. 128/255), so Cb, Cr are in [0, 1] like Y.
_YCBCR = np.array([[0.299, 0.587, 0.114],
                   [-0.168735892, -0.331264108, 0.5],
                   [0.5, -0.418687589, -0.081312411]])
_SPACES = {
    "yiq": (_YIQ, np.zeros(3)),
    "ycbcr": (_YCBCR, np.array([0.0, 0.5, 0.5])),
}
# Exact (to float precision) inverses, so round trips lose only rounding.
_INVERSES = {name: np.linalg.inv(m) for name, (m, _) in _SPACES.items()}
_BICUBIC = getattr(Image, "Resampling", Image).BICUBIC


def _check_image(img, name):
    if not isinstance(img, Image.Image):
        raise Error("%s must be a PIL image, got %s" % (name, type(img).__name__))
    if img.width < 1 or img.height < 1:
        raise Error("%s is empty (%dx%d)" % (name, img.width, img.height))
    return to_rgb(img)


def _as_float(img, name):
    """A PIL image as float64 RGB in [0, 1], shape (H, W, 3)."""
    return np.asarray(_check_image(img, name), dtype=np.float64) / 255.0


def _to_pil(arr):
    """Float RGB (or gray) in [0, 1] to a uint8 PIL image, clipped and rounded."""
    return Image.fromarray(np.round(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8))


def _check_space(space):
    if space not in _SPACES:
        raise Error("unknown color space %r; choose one of: %s"
                    % (space, ", ".join(COLOR_SPACES)))


def rgb_to(arr, space="yiq"):
    """Convert float RGB pixels to a luminance/chroma space.

    Parameters
    ----------
    arr : ndarray, shape (..., 3)
        RGB values in [0, 1].
    space : {"yiq", "ycbcr"}
        ``"yiq"``: standard NTSC YIQ (I, Q are signed, about ±0.6 and ±0.52).
        ``"ycbcr"``: full-range JPEG/BT.601 YCbCr scaled to [0, 1]
        (Cb, Cr centred on 0.5). Y is the same BT.601 luma in both.

    Returns
    -------
    ndarray, shape (..., 3)
        ``(Y, I, Q)`` or ``(Y, Cb, Cr)``, float64.
    """
    _check_space(space)
    m, off = _SPACES[space]
    return np.asarray(arr, dtype=np.float64) @ m.T + off


def rgb_from(arr, space="yiq"):
    """Exact inverse of :func:`rgb_to` (no clipping).

    Parameters
    ----------
    arr : ndarray, shape (..., 3)
        ``(Y, I, Q)`` or ``(Y, Cb, Cr)`` values as returned by :func:`rgb_to`.
    space : {"yiq", "ycbcr"}

    Returns
    -------
    ndarray, shape (..., 3)
        RGB, float64; may leave [0, 1] for out-of-gamut inputs.
    """
    _check_space(space)
    _, off = _SPACES[space]
    return (np.asarray(arr, dtype=np.float64) - off) @ _INVERSES[space].T


def _mean_cov(pixels, eps):
    mu = pixels.mean(axis=0)
    d = pixels - mu
    cov = d.T @ d / max(len(pixels), 1) + eps * np.eye(3)
    return mu, cov


def _sqrtm(cov, inverse=False):
    """Symmetric (inverse) square root of an SPD matrix via eigh."""
    w, u = np.linalg.eigh(cov)
    w = np.maximum(w, np.finfo(np.float64).tiny)
    return (u * (w ** (-0.5 if inverse else 0.5))) @ u.T


def _transform(cov_s, cov_c, method):
    """Matrix A with ``A cov_s A^T = cov_c``."""
    if method == "chol":
        ls = np.linalg.cholesky(cov_s)
        lc = np.linalg.cholesky(cov_c)
        return lc @ np.linalg.inv(ls)
    if method == "pca":
        return _sqrtm(cov_c) @ _sqrtm(cov_s, inverse=True)
    # "sym": Monge-Kantorovich map, the unique symmetric positive definite A.
    s_half, s_ihalf = _sqrtm(cov_s), _sqrtm(cov_s, inverse=True)
    middle = s_half @ cov_c @ s_half
    return s_ihalf @ _sqrtm((middle + middle.T) / 2) @ s_ihalf


def match_histogram(style, content, method="pca", *, eps=1e-5):
    """Recolor the style image to the content image's color statistics.

    Color histogram matching of Gatys et al. (2016), section 2: each RGB pixel
    ``x`` of `style` (in [0, 1]) becomes ``A (x - mu_s) + mu_c`` where
    ``mu`` are the channel means and ``A Sigma_s A^T = Sigma_c`` for the 3x3
    RGB covariances, so the result has the content's mean and covariance
    (up to clipping). Use the result as the style image of a transfer.

    Parameters
    ----------
    style : PIL.Image.Image
        The image to recolor (any mode; converted to RGB).
    content : PIL.Image.Image
        The image whose colors to take; its size does not matter.
    method : {"pca", "chol", "sym"}
        How ``A`` is chosen among the matrices satisfying the constraint:

        * ``"pca"`` (default): ``A = Sigma_c^{1/2} Sigma_s^{-1/2}`` with the
          symmetric square roots from the eigendecomposition
          ``Sigma = U D U^T`` (``Sigma^{1/2} = U D^{1/2} U^T``). This is the
          Image Analogies 3D color matching, the variant the paper reports as
          giving slightly better results, hence the default.
        * ``"chol"``: ``A = L_c L_s^{-1}`` with Cholesky factors
          ``Sigma = L L^T``, the paper's first variant.
        * ``"sym"``: the symmetric (Monge-Kantorovich / optimal transport)
          solution ``A = Sigma_s^{-1/2} (Sigma_s^{1/2} Sigma_c
          Sigma_s^{1/2})^{1/2} Sigma_s^{-1/2}``, which moves colors least.
    eps : float
        Added to both covariances' diagonals (``Sigma + eps I``) so that
        grayscale or flat images (singular covariance) give finite results.

    Returns
    -------
    PIL.Image.Image
        uint8 RGB image of the style image's size, clipped to [0, 255].

    Raises
    ------
    gluon_style.errors.Error
        If an image is not a PIL image, or `method` or `eps` is invalid.
    """
    if method not in HISTOGRAM_METHODS:
        raise Error("unknown histogram-matching method %r; choose one of: %s"
                    % (method, ", ".join(HISTOGRAM_METHODS)))
    try:
        eps = float(eps)
    except (TypeError, ValueError):
        raise Error("eps must be a positive number, got %r" % (eps,)) from None
    if not eps > 0 or not np.isfinite(eps):
        raise Error("eps must be a positive number, got %r" % (eps,))
    s = _as_float(style, "style image")
    c = _as_float(content, "content image").reshape(-1, 3)
    sp = s.reshape(-1, 3)
    mu_s, cov_s = _mean_cov(sp, eps)
    mu_c, cov_c = _mean_cov(c, eps)
    a = _transform(cov_s, cov_c, method)
    out = (sp - mu_s) @ a.T + mu_c
    out = np.nan_to_num(out, nan=0.5)
    return _to_pil(out.reshape(s.shape))


def luminance_only(result, content, *, space="yiq"):
    """Keep the stylized result's luminance and the content's chroma.

    The post-step of luminance-only transfer (Gatys et al. 2016, section 3):
    ``Y`` comes from `result`, the chroma channels (``I, Q`` or ``Cb, Cr``) from
    `content`, and the combination is converted back to RGB.

    Parameters
    ----------
    result : PIL.Image.Image
        The stylized image (typically stylized from :func:`to_luminance`
        images); its size is the output size.
    content : PIL.Image.Image
        The original content photo; resized (bicubic) to `result`'s size if
        the sizes differ.
    space : {"yiq", "ycbcr"}
        The luminance/chroma space; ``"yiq"`` is the paper's.

    Returns
    -------
    PIL.Image.Image
        uint8 RGB image of `result`'s size. Colors outside the RGB gamut are
        clipped, so where that happens chroma and luminance are only close.

    Raises
    ------
    gluon_style.errors.Error
        If an image is not a PIL image or `space` is unknown.
    """
    _check_space(space)
    r = _as_float(result, "result image")
    content = _check_image(content, "content image")
    if content.size != (r.shape[1], r.shape[0]):
        content = content.resize((r.shape[1], r.shape[0]), _BICUBIC)
    c = np.asarray(content, dtype=np.float64) / 255.0
    yr = rgb_to(r, space)
    out = rgb_to(c, space)
    out[..., 0] = yr[..., 0]
    return _to_pil(rgb_from(out, space))


def to_luminance(img, space="yiq"):
    """The luminance of an image as a 3-channel gray RGB image.

    Parameters
    ----------
    img : PIL.Image.Image
        Any mode; converted to RGB.
    space : {"yiq", "ycbcr"}
        Accepted for symmetry with :func:`luminance_only`; both spaces use
        the same BT.601 luma ``Y = 0.299 R + 0.587 G + 0.114 B``.

    Returns
    -------
    PIL.Image.Image
        uint8 RGB image with ``R = G = B = Y``, same size as `img`.

    Raises
    ------
    gluon_style.errors.Error
        If `img` is not a PIL image or `space` is unknown.
    """
    _check_space(space)
    y = rgb_to(_as_float(img, "image"), space)[..., 0]
    return _to_pil(np.repeat(y[..., None], 3, axis=2))


def match_luminance(style_y, content_y, *, eps=1e-8):
    """Match the style luminance's mean and standard deviation to the content's.

    ``y' = (y - mu_s) * sigma_c / sigma_s + mu_c`` (Gatys et al. 2016,
    section 3), applied to the style luminance before luminance-only transfer.

    Parameters
    ----------
    style_y, content_y : ndarray or PIL.Image.Image
        Luminance values as arrays of any shape (any scale, used as given), or
        images, whose BT.601 luminance (in [0, 1]) is used. Both must be of the
        same kind.
    eps : float
        Floor for ``sigma_s`` so a flat style luminance gives ``mu_c`` rather
        than NaN.

    Returns
    -------
    ndarray or PIL.Image.Image
        For arrays, a float64 array of `style_y`'s shape (not clipped). For
        images, a uint8 gray-as-RGB image like :func:`to_luminance`, of the
        style's size, clipped to [0, 255].

    Raises
    ------
    gluon_style.errors.Error
        If the inputs are neither both arrays nor both PIL images, or empty.
    """
    pil = isinstance(style_y, Image.Image)
    if pil != isinstance(content_y, Image.Image):
        raise Error("match_luminance needs two arrays or two PIL images, got %s and %s"
                    % (type(style_y).__name__, type(content_y).__name__))
    if pil:
        ys = rgb_to(_as_float(style_y, "style image"))[..., 0]
        yc = rgb_to(_as_float(content_y, "content image"))[..., 0]
    else:
        try:
            ys = np.asarray(style_y, dtype=np.float64)
            yc = np.asarray(content_y, dtype=np.float64)
        except (TypeError, ValueError):
            raise Error("match_luminance needs numeric arrays or PIL images, got %s and %s"
                        % (type(style_y).__name__, type(content_y).__name__)) from None
        if ys.size == 0 or yc.size == 0:
            raise Error("match_luminance got an empty array")
    out = (ys - ys.mean()) * (yc.std() / max(ys.std(), eps)) + yc.mean()
    if pil:
        return _to_pil(np.repeat(out[..., None], 3, axis=2))
    return out
