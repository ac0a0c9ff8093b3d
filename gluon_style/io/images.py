"""Image files and tensors: loading, resizing, (de)normalization, safe saving.

The package-wide tensor convention lives here and only here: an NDArray of
float32, shape ``(N, 3, H, W)``, RGB, ImageNet-normalized as
``(rgb / 255 - MEAN) / STD``. Every problem a user can cause with a file raises
:class:`gluon_style.errors.Error` with a one-line message naming the file.
Outputs are written atomically (temp file in the same directory, fsync,
``os.replace``), so a failure never leaves a partial file or clobbers the old one.
MXNet is imported only by the functions that build tensors.
"""
import functools
import io
import os
import struct
import warnings
import zlib

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from ..errors import Error
from .fileio import _oneline, atomic_path, atomic_write, where  # noqa: F401 (re-exported)

_where = where  # the name of older code

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
MIN_SIDE = 16
_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP",
            ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}
WRITE_EXTENSIONS = tuple(_FORMATS)
#: what a folder is searched for: the formats written, and GIF (its first frame), read only
IMAGE_EXTENSIONS = WRITE_EXTENSIONS + (".gif",)
_LANCZOS = getattr(Image, "Resampling", Image).LANCZOS
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError,
                  struct.error, zlib.error)
_MEAN64, _STD64 = np.array(MEAN), np.array(STD)
#: :func:`denormalize_np` as one multiply-add per channel, float32
_SCALE32, _OFFSET32 = (_STD64 * 255.0).astype(np.float32), (_MEAN64 * 255.0).astype(np.float32)


def load_image(path, *, role="image", max_pixels=None):
    """Read an image file as an upright 8-bit RGB image.

    Parameters
    ----------
    path : str or os.PathLike
    role : str
        What the file is, for messages ("content image", "style image").
    max_pixels : int or None
        Refuse (before decoding) an image of more pixels than this; None:
        ``PIL.Image.MAX_IMAGE_PIXELS`` alone.

    Returns
    -------
    PIL.Image.Image
        Mode ``"RGB"``, fully decoded, EXIF orientation applied, alpha
        composited over white, 16-bit gray scaled to 8 bits; first frame only.

    Raises
    ------
    Error
        Missing, unreadable, empty, not an image, truncated or corrupt, larger
        than ``PIL.Image.MAX_IMAGE_PIXELS``, or shorter side < ``MIN_SIDE``.
    """
    shown, p = where(role, path), os.fspath(path)
    if not os.path.exists(p):
        raise Error("%s: no such file" % shown)
    if os.path.isdir(p):
        raise Error("%s: is a directory, not an image file" % shown)
    if not os.path.isfile(p):
        raise Error("%s: not a regular file" % shown)
    if os.path.getsize(p) == 0:
        raise Error("%s: empty file" % shown)
    truncated_ok = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        if truncated_ok:  # someone allowed truncated images; not for us
            ImageFile.LOAD_TRUNCATED_IMAGES = False
        with warnings.catch_warnings(), open(p, "rb") as f:
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(f)
            (w, h), limit = img.size, Image.MAX_IMAGE_PIXELS
            if max_pixels and w * h > max_pixels:
                raise Error("%s: image is %dx%d = %d pixels, over the limit of %d"
                            % (shown, w, h, w * h, max_pixels))
            if limit and w * h > limit:
                raise Image.DecompressionBombError(
                    "%dx%d = %d pixels, over Pillow's limit of %d" % (w, h, w * h, limit))
            if min(w, h) < MIN_SIDE:
                raise Error("%s: image is %dx%d pixels; both sides must be at "
                            "least %d" % (shown, w, h, MIN_SIDE))
            img.load()
            try:
                img = ImageOps.exif_transpose(img)
            except Exception:  # malformed EXIF: keep the pixels as stored
                pass
            return to_rgb(img)
    except PermissionError:
        raise Error("%s: permission denied" % shown) from None
    except UnidentifiedImageError:
        raise Error("%s: not an image file (cannot identify format)" % shown) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise Error("%s: image too large, refusing to decode a possible "
                    "decompression bomb (%s)" % (shown, _oneline(e))) from None
    except MemoryError:
        raise Error("%s: not enough memory to decode the image" % shown) from None
    except _DECODE_ERRORS as e:
        raise Error("%s: truncated or corrupt image file (%s)" % (shown, _oneline(e))) from None
    finally:
        if truncated_ok:
            ImageFile.LOAD_TRUNCATED_IMAGES = truncated_ok


#: EXIF orientations that turn the stored image a quarter turn (width and height swap)
_QUARTER_TURNS = (5, 6, 7, 8)


def stored_size(path):
    """An image file's ``(width, height)`` upright (EXIF orientation applied) from its
    header alone, without decoding the pixels; None if the header cannot be read
    (:func:`load_image` says why)."""
    try:
        with Image.open(os.fspath(path)) as img:
            w, h = img.size
            try:
                turned = img.getexif().get(0x0112) in _QUARTER_TURNS
            except Exception:  # malformed EXIF: load_image keeps the pixels as stored
                turned = False
    except Exception:
        return None
    return (h, w) if turned else (w, h)


def to_rgb(img):
    """Convert any Pillow mode to 8-bit RGB (alpha over white, I/I;16 from 16 bits)."""
    mode = img.mode
    if mode == "F" or mode.startswith("I"):
        a = np.nan_to_num(np.asarray(img, dtype=np.float64))
        if mode != "F":  # 16-bit range (I;16*, and I as Pillow opens 16-bit files)
            a = a * (255.0 / 65535.0)
        gray = np.clip(np.round(a), 0, 255).astype(np.uint8)
        return Image.fromarray(np.repeat(gray[:, :, None], 3, axis=2))
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.uint32)
        alpha = rgba[:, :, 3:]
        rgb = (rgba[:, :, :3] * alpha + 255 * (255 - alpha) + 127) // 255
        return Image.fromarray(rgb.astype(np.uint8))
    return img.convert("RGB")


def _check_size(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise Error("%s must be a positive integer, got %r" % (name, value))
    return int(value)


def resize_max_side(img, size, *, upscale=True):
    """Scale ``img`` (LANCZOS) so its longer side is ``size`` px, keeping aspect.

    Parameters
    ----------
    img : PIL.Image.Image
    size : int
        Target longer side; not a positive int raises :class:`Error`.
    upscale : bool
        If False, an image already within ``size`` is returned as a copy.

    Returns
    -------
    PIL.Image.Image
        Each side at least 1 px.
    """
    new = fit_size(img.size, size, upscale=upscale)
    return img.copy() if new == img.size else img.resize(new, _LANCZOS)


def fit_size(wh, size, *, upscale=True):
    """The ``(width, height)`` that :func:`resize_max_side` gives an image of size `wh`."""
    size = _check_size(size, "size")
    w, h = wh
    if not upscale and max(w, h) <= size:
        return w, h
    long_, short = max(w, h), min(w, h)
    short = max(1, (2 * short * size + long_) // (2 * long_))  # round half up
    return (size, short) if w >= h else (short, size)


def size_for_side(wh, side):
    """The smallest `size` at which :func:`resize_max_side` gives an image of size
    `wh` both sides of at least `side` pixels."""
    w, h = wh
    size = max(side, -(-max(w, h) * (2 * side - 1) // (2 * min(w, h))))  # the rounding's bound
    while min(fit_size(wh, size)) < side:  # pragma: no cover - the bound is exact
        size += 1
    return size


def resize_to(img, width, height):
    """Resize ``img`` to exactly ``width`` x ``height`` px (LANCZOS; aspect may change)."""
    new = (_check_size(width, "width"), _check_size(height, "height"))
    return img.copy() if new == img.size else img.resize(new, _LANCZOS)


def normalize_np(arr):
    """RGB pixels on the 0..255 scale, ``(H, W, 3)`` or ``(N, H, W, 3)``, any
    dtype, to normalized float32 ``(3, H, W)`` or ``(N, 3, H, W)``."""
    a = np.asarray(arr)
    if a.ndim not in (3, 4) or a.shape[-1] != 3:
        raise ValueError("expected (H, W, 3) or (N, H, W, 3), got %s" % (a.shape,))
    if a.dtype == np.uint8:  # by table: the same values, several times faster
        out = np.empty(a.shape[:-3] + (3,) + a.shape[-3:-1], np.float32)
        tables = _uint8_table()
        cv2 = _cv2()
        for idx in np.ndindex(*a.shape[:-3]):
            if cv2 is None:  # numpy's take: its uint8 indices widened to intp first
                for c in range(3):
                    np.take(tables[c], a[idx + (Ellipsis, c)], out=out[idx + (c,)])
                continue
            for c, plane in enumerate(cv2.split(np.ascontiguousarray(a[idx]))):
                cv2.LUT(plane, tables[c].reshape(1, 256), dst=out[idx + (c,)])
        return out
    a = (a.astype(np.float64) / 255.0 - _MEAN64) / _STD64
    return np.ascontiguousarray(np.moveaxis(a, -1, -3), dtype=np.float32)


def _cv2():
    """OpenCV (a requirement, imported with MXNet already), or None without it."""
    try:
        import cv2
    except ImportError:  # pragma: no cover - opencv-python is in install_requires
        return None
    return cv2


@functools.lru_cache(maxsize=None)
def _uint8_table():
    """:func:`normalize_np` of every 8-bit value, by channel: (3, 256) float32, computed
    as for any other input (float64, then float32)."""
    v = np.arange(256, dtype=np.float64)[:, None]
    return np.ascontiguousarray(((v / 255.0 - _MEAN64) / _STD64).T, np.float32)


def denormalize_np(arr):
    """Inverse of :func:`normalize_np`: normalized ``(3, H, W)`` or ``(N, 3, H, W)``
    to float32 ``(H, W, 3)`` or ``(N, H, W, 3)`` on the 0..255 scale (not clipped).

    Float32 arithmetic, a channel plane at a time (a few ulps from a float64 pass,
    several times faster: no float64 temporaries the size of the picture)."""
    a = _normalized(arr)
    out = np.empty(a.shape[:-3] + a.shape[-2:] + (3,), np.float32)
    for idx, c, plane in _denormalized_planes(a):
        out[idx + (Ellipsis, c)] = plane
    return out


def to_uint8(arr):
    """Normalized ``(3, H, W)`` or ``(N, 3, H, W)`` to 8-bit RGB ``(H, W, 3)`` or
    ``(N, H, W, 3)``: rounded half to even, clipped to 0..255.

    Computed in float32; the values within a thousandth of a rounding tie are
    computed again in float64 (to the float32 nearest, as the float64 pass
    always did), so the pixels are the same as with float64 arithmetic throughout."""
    a = _normalized(arr)
    out = np.empty(a.shape[:-3] + a.shape[-2:] + (3,), np.uint8)
    r = off = None
    for idx, c, plane in _denormalized_planes(a):
        r = np.rint(plane, out=r)
        off = np.abs(np.subtract(plane, r, out=off), out=off)
        near = off > 0.499
        if near.any():
            exact = (a[idx + (c,)][near].astype(np.float64) * _STD64[c] + _MEAN64[c]) * 255.0
            r[near] = np.rint(exact.astype(np.float32))
        np.clip(r, 0, 255, out=r)
        out[idx + (Ellipsis, c)] = r
    return out


def _normalized(arr):
    a = np.asarray(arr)
    a = a if a.dtype == np.float64 else a.astype(np.float32, copy=False)
    if a.ndim not in (3, 4) or a.shape[-3] != 3:
        raise ValueError("expected (3, H, W) or (N, 3, H, W), got %s" % (a.shape,))
    return a


def _denormalized_planes(a):
    """``(index, channel, plane)``: each channel plane of `a` on the 0..255 scale (float32;
    float64 for a float64 `a`)."""
    plane = None
    for idx in np.ndindex(*a.shape[:-3]):
        for c in range(3):  # one buffer for every plane (the caller is done with the last)
            plane = np.multiply(a[idx + (c,)], _SCALE32[c], out=plane)
            plane += _OFFSET32[c]
            yield idx, c, plane


def pixel_bounds(ctx=None):
    """The normalized values of pixels 0 and 255, per channel: two (1, 3, 1, 1) NDArrays."""
    import mxnet as mx
    lo, hi = normalize_np(np.zeros((1, 1, 3))), normalize_np(np.full((1, 1, 3), 255.0))
    return mx.nd.array(lo[None], ctx=ctx), mx.nd.array(hi[None], ctx=ctx)


def to_tensor(images, ctx=None):
    """PIL image, or a list of same-size ones, to a normalized ``(N, 3, H, W)``
    float32 NDArray on ``ctx`` (default: the current context)."""
    import mxnet as mx

    images = [images] if isinstance(images, Image.Image) else list(images)
    if not images or len({im.size for im in images}) != 1:
        raise ValueError("to_tensor needs one or more images of the same size, got "
                         "sizes %s" % [im.size for im in images])
    arr = np.stack([np.asarray(im if im.mode == "RGB" else im.convert("RGB"))
                    for im in images])
    return mx.nd.array(normalize_np(arr), ctx=ctx, dtype=np.float32)


def to_images(tensor):
    """Normalized ``(N, 3, H, W)`` (or ``(3, H, W)``) NDArray or numpy array to a
    list of RGB images (denormalized, rounded, clipped to 0..255).

    Raises ``ValueError`` for a wrong shape or NaN/infinite values (a diverged
    optimization should not be saved silently)."""
    a = tensor.asnumpy() if hasattr(tensor, "asnumpy") else np.asarray(tensor)
    a = a[None] if a.ndim == 3 else a
    if a.ndim != 4 or a.shape[1] != 3:
        raise ValueError("expected (N, 3, H, W) or (3, H, W), got %s" % (a.shape,))
    if not np.isfinite(a).all():
        raise ValueError("image tensor contains NaN or infinite values")
    return [Image.fromarray(x) for x in to_uint8(a)]


def to_image(tensor):
    """One normalized ``(1, 3, H, W)`` or ``(3, H, W)`` tensor to an RGB image."""
    if len(tensor.shape) == 4 and tensor.shape[0] != 1:
        raise ValueError("to_image takes one image, got a batch of %d" % tensor.shape[0])
    return to_images(tensor)[0]


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        norm = lambda p: os.path.normcase(os.path.realpath(p))  # noqa: E731
        return norm(a) == norm(b)


def _extension_error(shown, ext, accepted):
    what = "unsupported extension '%s'" % ext if ext else "no file extension"
    return Error("%s: %s (accepted: %s)" % (shown, what, " ".join(accepted)))


def check_output_path(path, *, inputs=(), role="output", extensions=WRITE_EXTENSIONS):
    """Validate an output path before any work is done.

    Parameters
    ----------
    path : str or os.PathLike
    inputs : path or iterable of paths
        Files never to overwrite (None entries ignored); compared with
        ``os.path.samefile`` (symlinks, hard links, other spellings).
    role : str
        For messages.
    extensions : tuple of str or None
        Accepted lower-case extensions (default: image formats); None: any.

    Returns
    -------
    str
        The absolute path. An existing file that is not an input is allowed.

    Raises
    ------
    Error
        A directory, a bad extension, a missing or unwritable parent directory,
        or the same file as an input.
    """
    shown = where(role, path)
    if not os.fspath(path):
        raise Error("%s: empty path" % role)
    final = os.path.abspath(os.fspath(path))
    if os.path.isdir(final):
        raise Error("%s: is a directory; give a file name" % shown)
    ext = os.path.splitext(final)[1].lower()
    if extensions is not None and ext not in extensions:
        raise _extension_error(shown, ext, extensions)
    folder = os.path.dirname(final)
    if not os.path.isdir(folder):
        raise Error("%s: directory '%s' does not exist" % (shown, folder))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise Error("%s: directory '%s' is not writable" % (shown, folder))
    if isinstance(inputs, (str, bytes, os.PathLike)):
        inputs = (inputs,)
    if not os.path.lexists(final):  # a new file is no input: no comparing (folders of
        inputs = ()                 # N photos would cost N x N stat calls)
    for src in inputs:
        if src is not None and _same_file(final, src):
            raise Error("%s: is the same file as input '%s'; refusing to overwrite "
                        "an input" % (shown, os.fspath(src)))
    return final


def save_image(img, path, *, quality=95, role="output"):
    """Save a PIL image or a normalized NDArray (via :func:`to_image`) atomically.

    The format follows the extension (see ``WRITE_EXTENSIONS``); JPEG and WebP
    use ``quality``. On failure the previous file, if any, is left untouched.
    """
    write_bytes(encode_image(img, path, quality=quality, role=role), path, role=role)


def encode_image(img, path, *, quality=95, role="output"):
    """The bytes :func:`save_image` writes for `img` at `path` (the format from its
    extension), without writing: an :class:`Error` for an extension it cannot write.
    PIL's encoders release the GIL, so this can run beside the network."""
    if hasattr(img, "asnumpy"):
        img = to_image(img)
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in _FORMATS:
        raise _extension_error(where(role, path), ext, WRITE_EXTENSIONS)
    fmt = _FORMATS[ext]
    if fmt == "JPEG" and img.mode not in ("RGB", "L", "CMYK"):
        img = img.convert("RGB")
    opts = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt, **opts)
    except OSError as e:  # PIL's encoder errors
        raise Error("%s: cannot write (%s)" % (where(role, path), e.strerror or _oneline(e))) from e
    return buf.getvalue()


def write_bytes(data, path, *, role="output"):
    """Write `data` to `path` whole or not at all (the previous file kept on failure)."""
    with atomic_write(path, "wb", role=role) as f:
        f.write(data)


def list_images(directory, *, recursive=True, role="image directory"):
    """Image files (by extension, case-insensitive) under ``directory``, sorted.

    Hidden files and directories (leading ``.``) are skipped. Raises
    :class:`Error` if ``directory`` is not a readable directory or holds none.
    """
    shown, top = where(role, directory), os.fspath(directory)
    if not os.path.isdir(top):
        raise Error("%s: %s" % (shown, "not a directory" if os.path.exists(top)
                                else "no such directory"))
    found, failures = [], []
    for root, dirs, files in os.walk(top, onerror=failures.append):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        found += [os.path.join(root, f) for f in files if not f.startswith(".")
                  and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS
                  and os.path.isfile(os.path.join(root, f))]
    if not found and failures:
        raise Error("%s: cannot read (%s)" % (shown, failures[0].strerror))
    if not found:
        raise Error("%s: no image files found (looked for %s)"
                    % (shown, " ".join(IMAGE_EXTENSIONS)))
    return sorted(found)
