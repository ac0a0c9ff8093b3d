"""Tests for gluon_style.io.images. Every image is generated in tmp_path."""
import csv
import errno
import math
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from gluon_style.io import fileio, images
from gluon_style.errors import Error


def _save(path, img, **kw):
    img.save(path, **kw)
    return path


def _noise(w, h, seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def _png_header_only(path, w, h):
    """A PNG whose header claims w x h (1-bit gray) with almost no data."""
    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))
    return path


def _listing(d):
    return sorted(os.listdir(d))


def _expect_error(fn, path, *args, match=None, **kw):
    """fn(path, ...) raises a one-line Error naming the file, creating nothing."""
    folder = os.path.dirname(os.path.abspath(path))
    before = _listing(folder) if os.path.isdir(folder) else None
    with pytest.raises(Error) as info:
        fn(path, *args, **kw)
    msg = str(info.value)
    assert os.path.basename(os.fspath(path)) in msg
    assert "\n" not in msg
    if match:
        assert match in msg
    if before is not None:
        assert _listing(folder) == before
    return msg


# ---------------------------------------------------------------- bad inputs

def _truncated_jpeg(p):
    _save(p, _noise(96, 96), quality=95)
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _truncated_png(p):
    _save(p, _noise(64, 64))
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


BAD_INPUTS = {
    "missing.jpg": (lambda p: None, "no such file"),
    "folder.jpg": (lambda p: p.mkdir(), "directory"),
    "empty.jpg": (lambda p: p.write_bytes(b""), "empty file"),
    "text.jpg": (lambda p: p.write_text("not really a jpeg\n"), "not an image file"),
    "cut.jpg": (_truncated_jpeg, "truncated"),
    "cut.png": (_truncated_png, "truncated"),
    "dot.png": (lambda p: _save(p, Image.new("RGB", (1, 1))), "at least 16"),
    "thin.png": (lambda p: _save(p, Image.new("RGB", (100, 15))), "at least 16"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_load_bad_input(tmp_path, name):
    make, phrase = BAD_INPUTS[name]
    make(tmp_path / name)
    msg = _expect_error(images.load_image, tmp_path / name, role="content image",
                        match=phrase)
    assert msg.startswith("content image '")


def test_load_min_side_boundary_accepted(tmp_path):
    img = images.load_image(_save(tmp_path / "ok.png", Image.new("RGB", (16, 40))))
    assert img.size == (16, 40)


def test_truncated_refused_even_if_globally_allowed(tmp_path, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    _truncated_jpeg(tmp_path / "cut.jpg")
    _expect_error(images.load_image, tmp_path / "cut.jpg", match="truncated")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored


@pytest.mark.parametrize("factor", [1, 2])  # warning zone, then hard error zone
def test_decompression_bomb(tmp_path, factor):
    limit = Image.MAX_IMAGE_PIXELS
    side = math.isqrt(factor * limit) + 1
    assert limit < side * side < 3 * limit
    path = _png_header_only(tmp_path / "bomb.png", side, side)
    _expect_error(images.load_image, path, match="decompression bomb")
    assert Image.MAX_IMAGE_PIXELS == limit


def test_permission_denied_simulated(tmp_path, monkeypatch):
    path = _save(tmp_path / "locked.png", Image.new("RGB", (20, 20)))

    def deny(p, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", os.fspath(p))
    monkeypatch.setattr(images, "open", deny, raising=False)
    _expect_error(images.load_image, path, match="permission denied")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root can read any file")
def test_permission_denied_real(tmp_path):
    path = _save(tmp_path / "locked.png", Image.new("RGB", (20, 20)))
    path.chmod(0)
    try:
        _expect_error(images.load_image, path, match="permission denied")
    finally:
        path.chmod(0o644)


# ---------------------------------------------------------- accepted modes

def _px(img, xy):
    assert img.mode == "RGB"
    return np.array(img.getpixel(xy), dtype=int)


def test_rgb_png_exact(tmp_path):
    src = _noise(30, 20)
    got = images.load_image(_save(tmp_path / "n.png", src))
    assert got.mode == "RGB" and np.array_equal(np.asarray(got), np.asarray(src))


def test_cmyk_jpeg(tmp_path):
    path = _save(tmp_path / "cmyk.jpg", Image.new("CMYK", (32, 24), (0, 128, 255, 0)),
                 quality=95)
    with Image.open(path) as raw:
        assert raw.mode == "CMYK"
    got = images.load_image(path)
    assert got.size == (32, 24)
    assert np.abs(_px(got, (10, 10)) - [255, 127, 0]).max() <= 6


def test_gray_and_bilevel(tmp_path):
    got = images.load_image(_save(tmp_path / "l.png", Image.new("L", (20, 20), 77)))
    assert list(_px(got, (3, 3))) == [77, 77, 77]
    got = images.load_image(_save(tmp_path / "b.png", Image.new("1", (20, 20), 1)))
    assert list(_px(got, (3, 3))) == [255, 255, 255]


def test_la_over_white(tmp_path):
    arr = np.zeros((20, 30, 2), np.uint8)
    arr[:, :10] = (0, 0)       # fully transparent -> white
    arr[:, 10:20] = (0, 255)   # opaque black
    arr[:, 20:] = (100, 128)   # half: 100*128/255 + 255*127/255 = 177.2
    got = images.load_image(_save(tmp_path / "la.png", Image.fromarray(arr, "LA")))
    assert [list(_px(got, (x, 5))) for x in (5, 15, 25)] == [
        [255] * 3, [0] * 3, [177] * 3]


def test_rgba_over_white(tmp_path):
    arr = np.zeros((20, 30, 4), np.uint8)
    arr[:, :10] = (255, 0, 0, 0)
    arr[:, 10:20] = (255, 0, 0, 255)
    arr[:, 20:] = (0, 0, 255, 128)
    got = images.load_image(_save(tmp_path / "rgba.png", Image.fromarray(arr)))
    assert [list(_px(got, (x, 5))) for x in (5, 15, 25)] == [
        [255, 255, 255], [255, 0, 0], [127, 127, 255]]


def _palette_image():
    img = Image.new("P", (30, 20), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0, 0, 0] * 254)
    img.paste(1, (15, 0, 30, 20))
    return img


def test_palette_without_transparency(tmp_path):
    got = images.load_image(_save(tmp_path / "p.png", _palette_image()))
    assert list(_px(got, (2, 2))) == [255, 0, 0]
    assert list(_px(got, (20, 2))) == [0, 255, 0]


@pytest.mark.parametrize("transparency, green", [
    (1, [255, 255, 255]),                     # index 1 fully transparent
    (b"\xff\x80", [127, 255, 127]),           # per-entry alpha 128
])
def test_palette_with_transparency(tmp_path, transparency, green):
    path = _save(tmp_path / "pt.png", _palette_image(), transparency=transparency)
    with Image.open(path) as raw:
        assert raw.mode == "P" and "transparency" in raw.info
    got = images.load_image(path)
    assert list(_px(got, (2, 2))) == [255, 0, 0]
    assert list(_px(got, (20, 2))) == green


def _gray16_values():
    arr = np.zeros((20, 40), np.uint16)
    for i, v in enumerate([0, 257, 32768, 65535]):
        arr[:, 10 * i:10 * i + 10] = v
    return arr


def test_gray16_png_scaled_not_clipped(tmp_path):
    path = _save(tmp_path / "g16.png", Image.fromarray(_gray16_values()))
    with Image.open(path) as raw:
        assert raw.mode.startswith("I")
    got = images.load_image(path)
    assert [_px(got, (10 * i + 5, 5))[0] for i in range(4)] == [0, 1, 128, 255]
    assert np.array_equal(*np.moveaxis(np.asarray(got), 2, 0)[:2])  # gray


def test_int32_tiff_as_16_bit(tmp_path):
    path = _save(tmp_path / "g32.tif", Image.fromarray(_gray16_values().astype(np.int32)))
    with Image.open(path) as raw:
        assert raw.mode == "I"
    got = images.load_image(path)
    assert [_px(got, (10 * i + 5, 5))[0] for i in range(4)] == [0, 1, 128, 255]


def test_exif_orientation_6(tmp_path):
    arr = np.zeros((40, 80, 3), np.uint8)  # stored 80 wide, 40 high
    arr[:20, :40] = (255, 0, 0)      # top-left red
    arr[:20, 40:] = (0, 255, 0)      # top-right green
    arr[20:, :40] = (0, 0, 255)      # bottom-left blue
    arr[20:, 40:] = (255, 255, 0)    # bottom-right yellow
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    path = _save(tmp_path / "rot.jpg", Image.fromarray(arr), exif=exif, quality=95)
    got = images.load_image(path)
    assert got.size == (40, 80)
    corners = {(3, 3): (0, 0, 255), (36, 3): (255, 0, 0),
               (36, 76): (0, 255, 0), (3, 76): (255, 255, 0)}
    for xy, rgb in corners.items():
        assert np.abs(_px(got, xy) - rgb).max() <= 20, (xy, got.getpixel(xy))


def test_multiframe_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with Image.open(path) as raw:
        assert raw.n_frames == 2
    assert list(_px(images.load_image(path), (5, 5))) == [255, 0, 0]


# ---------------------------------------------------------- resizing

@pytest.mark.parametrize("size, upscale, expected", [
    ((200, 100), (50, True), (50, 25)),
    ((100, 200), (50, True), (25, 50)),
    ((201, 100), (100, True), (100, 50)),   # 49.75 rounds to 50
    ((200, 100), (400, True), (400, 200)),
    ((200, 100), (400, False), (200, 100)),
    ((200, 100), (100, False), (100, 50)),
    ((1000, 2), (10, True), (10, 1)),       # never below 1 px
])
def test_resize_max_side(size, upscale, expected):
    out = images.resize_max_side(Image.new("RGB", size), upscale[0], upscale=upscale[1])
    assert out.size == expected


@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "64", None])
def test_resize_bad_size(bad):
    with pytest.raises(Error):
        images.resize_max_side(Image.new("RGB", (20, 20)), bad)


def test_resize_to():
    out = images.resize_to(Image.new("RGB", (64, 32)), 17, 45)
    assert out.size == (17, 45)
    with pytest.raises(Error):
        images.resize_to(out, 0, 10)


# ---------------------------------------------------------- tensors

def test_to_tensor_known_color():
    t = images.to_tensor(Image.new("RGB", (5, 4), (255, 0, 128)))
    assert t.shape == (1, 3, 4, 5) and t.dtype == np.float32
    expected = [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (128 / 255 - 0.406) / 0.225]
    assert np.allclose(t.asnumpy()[0, :, 2, 3], expected, atol=1e-5)


def test_tensor_round_trip_and_batch():
    a, b = _noise(24, 16, seed=1), _noise(24, 16, seed=2)
    batch = images.to_tensor([a, b])
    assert batch.shape == (2, 3, 16, 24)
    outs = images.to_images(batch)
    for src, out in zip((a, b), outs):
        diff = np.abs(np.asarray(out, int) - np.asarray(src, int))
        assert out.mode == "RGB" and diff.max() <= 1
    single = images.to_image(images.to_tensor(a)[0])  # (3, H, W) accepted too
    assert np.array_equal(np.asarray(single), np.asarray(a))
    with pytest.raises(ValueError):
        images.to_image(batch)
    with pytest.raises(ValueError):
        images.to_tensor([a, Image.new("RGB", (8, 8))])


def test_to_image_clips_and_rejects_nan():
    t = np.zeros((1, 3, 4, 4), np.float32)
    t[:, :, :2] = 100.0
    t[:, :, 2:] = -100.0
    out = np.asarray(images.to_image(t))
    assert out[:2].min() == 255 and out[2:].max() == 0
    t[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError):
        images.to_image(t)


def test_normalize_np_round_trip():
    arr = np.asarray(_noise(7, 5))
    chw = images.normalize_np(arr)
    assert chw.shape == (3, 5, 7) and chw.dtype == np.float32
    assert np.allclose(images.denormalize_np(chw), arr, atol=1e-3)
    assert np.allclose(images.normalize_np(arr.astype(np.float32)), chw)


@pytest.mark.parametrize("opencv", [True, False])
def test_normalize_np_uint8_is_the_float64_formula(opencv, monkeypatch):
    if not opencv:  # the numpy path, as without OpenCV
        monkeypatch.setattr(images, "_cv2", lambda: None)
    v = np.arange(256, dtype=np.uint8)
    rgb = np.stack(np.meshgrid(v, v[::-1], indexing="ij"), -1)  # (256, 256, 2)
    rgb = np.concatenate([rgb, rgb[..., :1] ^ 0x55], -1)  # every value in every channel
    batch = np.stack([rgb, rgb[::-1, :, ::-1]])  # (2, H, W, 3), the second not contiguous
    mean, std = np.array(images.MEAN), np.array(images.STD)
    for a in (rgb, batch, batch[1]):
        want = np.moveaxis((a.astype(np.float64) / 255.0 - mean) / std, -1, -3).astype(np.float32)
        got = images.normalize_np(a)
        assert got.dtype == np.float32 and got.flags.c_contiguous
        assert np.array_equal(got, want)


def _denormalize64(a):
    """The float64 denormalization, rounded to float32: what 8-bit output is defined by."""
    mean, std = np.array(images.MEAN), np.array(images.STD)
    return ((np.moveaxis(np.asarray(a, np.float64), -3, -1) * std + mean) * 255.0) \
        .astype(np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_to_uint8_matches_float64_arithmetic_at_ties(dtype):
    # every eighth of a level over 0..255 in each channel (the ties .5 among them),
    # plus noise beyond the range: the float32 pass must round as float64 does
    levels = np.arange(-8, 264, 0.125)
    a = np.stack([(levels / 255.0 - m) / s for m, s in zip(images.MEAN, images.STD)])
    a = np.concatenate([a[:, None, :], np.random.RandomState(0).randn(3, 1, a.shape[1]) * 3],
                       axis=1).astype(dtype)  # (3, 2, W)
    want = np.clip(np.round(_denormalize64(a)), 0, 255).astype(np.uint8)
    got = images.to_uint8(a)
    assert got.shape == (2, a.shape[2], 3) and got.dtype == np.uint8
    assert np.array_equal(got, want)
    batch = np.stack([a, a[:, ::-1]])  # (N, 3, H, W)
    assert np.array_equal(images.to_uint8(batch)[1], want[::-1])


def test_denormalize_np_float32_close_to_float64():
    a = (np.random.RandomState(3).randn(2, 3, 9, 11) * 2).astype(np.float32)
    got = images.denormalize_np(a)
    assert got.shape == (2, 9, 11, 3) and got.dtype == np.float32
    assert np.abs(got - _denormalize64(a)).max() < 1e-4


# ---------------------------------------------------------- output paths

@pytest.fixture
def workdir(tmp_path, monkeypatch):
    src = _save(tmp_path / "in.png", Image.new("RGB", (20, 20), (9, 9, 9)))
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path, src


def test_check_output_path_ok(workdir):
    tmp, src = workdir
    assert images.check_output_path("out.jpg", inputs=[src]) == str(tmp / "out.jpg")
    (tmp / "old.png").write_bytes(b"old")  # an existing non-input may be replaced
    assert images.check_output_path("old.png", inputs=[src, None]) == str(tmp / "old.png")
    assert images.check_output_path("log.csv", extensions=(".csv",)).endswith("log.csv")


@pytest.mark.parametrize("spelling", [
    "in.png", "./sub/../in.png", "link.png", "hard.png", "{abs}"])
def test_check_output_path_refuses_input(workdir, spelling):
    tmp, src = workdir
    os.symlink(src, tmp / "link.png")
    os.link(src, tmp / "hard.png")
    path = spelling.format(abs=str(src))
    msg = _expect_error(images.check_output_path, path, inputs=(src,), match="input")
    assert "in.png" in msg
    assert (tmp / "in.png").read_bytes() == src.read_bytes()


def test_check_output_path_refuses_relative_input_spelling(workdir):
    tmp, src = workdir
    _expect_error(images.check_output_path, str(src), inputs="sub/../in.png",
                  match="same file")


@pytest.mark.parametrize("path, phrase", [
    ("sub", "directory"),
    ("out.gif", "unsupported extension '.gif'"),
    ("out", "no file extension"),
    ("nowhere/out.png", "does not exist"),
    ("in.png/out.png", "does not exist"),
])
def test_check_output_path_errors(workdir, path, phrase):
    msg = _expect_error(images.check_output_path, path, match=phrase)
    if "extension" in phrase:
        assert ".png .jpg .jpeg .bmp .tif .tiff .webp" in msg


def test_check_output_path_unwritable_parent(workdir, monkeypatch):
    tmp, _ = workdir
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if os.fspath(p) == str(tmp / "sub")
                        else real(p, m))
    _expect_error(images.check_output_path, "sub/out.png", match="not writable")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root can write anywhere")
def test_read_only_directory_real(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        _expect_error(images.check_output_path, ro / "out.png", match="not writable")
        with pytest.raises(Error, match="out.png.*cannot write"):
            images.save_image(_noise(16, 16), ro / "out.png")
        assert _listing(ro) == []
    finally:
        ro.chmod(0o755)


# ---------------------------------------------------------- saving

def test_save_image_formats_and_tensor(tmp_path):
    src = _noise(20, 18)
    images.save_image(src, tmp_path / "a.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a.png")), np.asarray(src))
    flat = Image.new("RGB", (20, 18), (200, 30, 90))
    images.save_image(images.to_tensor(flat), tmp_path / "b.jpg")
    with Image.open(tmp_path / "b.jpg") as got:
        assert got.format == "JPEG"
        assert np.abs(np.asarray(got, int) - (200, 30, 90)).max() <= 3
    images.save_image(Image.new("RGBA", (20, 20)), tmp_path / "c.jpeg")
    assert _listing(tmp_path) == ["a.png", "b.jpg", "c.jpeg"]


def test_save_image_permissions(tmp_path):
    with open(tmp_path / "ref", "w"):
        pass
    images.save_image(_noise(16, 16), tmp_path / "new.png")
    mode = lambda n: os.stat(tmp_path / n).st_mode & 0o777  # noqa: E731
    assert mode("new.png") == mode("ref")  # umask honored, not mkstemp's 0600
    os.chmod(tmp_path / "new.png", 0o640)
    images.save_image(_noise(16, 16, seed=3), tmp_path / "new.png")
    assert mode("new.png") == 0o640  # replacing keeps the old permissions


@pytest.mark.parametrize("exc, raised", [
    (OSError(errno.ENOSPC, "No space left on device"), Error),
    (RuntimeError("boom"), RuntimeError),
    (KeyboardInterrupt(), KeyboardInterrupt),
])
def test_save_image_failure_mid_write(tmp_path, monkeypatch, exc, raised):
    out = _save(tmp_path / "out.png", Image.new("RGB", (20, 20), (1, 2, 3)))
    old = out.read_bytes()

    def broken_save(self, fp, *a, **k):
        fp.write(b"\x89PNG partial data")
        raise exc
    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(raised) as info:
        images.save_image(_noise(20, 20), out)
    if raised is Error:
        assert "out.png" in str(info.value) and "No space" in str(info.value)
    assert out.read_bytes() == old
    assert _listing(tmp_path) == ["out.png"]


def test_save_image_replace_fails(tmp_path, monkeypatch):
    out = _save(tmp_path / "out.jpg", Image.new("RGB", (20, 20)))
    old = out.read_bytes()

    def no_replace(a, b):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(Error, match="out.jpg"):
        images.save_image(_noise(20, 20), out)
    assert out.read_bytes() == old and _listing(tmp_path) == ["out.jpg"]


def test_save_image_bad_locations(tmp_path, monkeypatch):
    img = _noise(16, 16)
    with pytest.raises(Error, match="out.gif.*accepted: .png"):
        images.save_image(img, tmp_path / "out.gif")
    with pytest.raises(Error, match="missing"):
        images.save_image(img, tmp_path / "missing" / "out.png")
    monkeypatch.setattr(fileio.tempfile, "mkstemp", lambda **k: (_ for _ in ()).throw(
        PermissionError(errno.EACCES, "Permission denied")))
    with pytest.raises(Error, match="out.png.*cannot write"):
        images.save_image(img, tmp_path / "out.png")
    assert _listing(tmp_path) == []


def test_atomic_write_text_and_failure(tmp_path):
    path = tmp_path / "log.csv"
    with images.atomic_write(path, "w", newline="") as f:
        csv.writer(f).writerows([["step", "loss"], [1, "0.5"]])
    assert path.read_bytes() == b"step,loss\r\n1,0.5\r\n"
    with pytest.raises(ZeroDivisionError):
        with images.atomic_write(path, "w") as f:
            f.write("half")
            1 / 0
    assert path.read_text(encoding="utf-8").startswith("step,loss")
    assert _listing(tmp_path) == ["log.csv"]
    with pytest.raises(ValueError):
        with images.atomic_write(path, "r"):
            pass


def test_atomic_path(tmp_path):
    final = tmp_path / "weights.npy"
    with images.atomic_path(final) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path) and tmp.endswith(".npy")
        assert os.path.basename(tmp).startswith(".")
        np.save(tmp, np.arange(3))  # picks nothing extra: extension kept
    assert np.array_equal(np.load(final), np.arange(3))
    with pytest.raises(KeyError):
        with images.atomic_path(tmp_path / "other.npy") as tmp:
            np.save(tmp, np.arange(2))
            raise KeyError("x")
    assert _listing(tmp_path) == ["weights.npy"]


# ---------------------------------------------------------- listing

def test_list_images(tmp_path):
    for rel in ["b.png", "a.JPG", "sub/c.webp", "sub/deeper/d.TIFF", "notes.txt",
                ".hidden.png", ".git/e.png"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "dir.png").mkdir()
    got = images.list_images(tmp_path)
    rel = [os.path.relpath(p, tmp_path) for p in got]
    assert rel == ["a.JPG", "b.png", os.path.join("sub", "c.webp"),
                   os.path.join("sub", "deeper", "d.TIFF")]
    top = images.list_images(tmp_path, recursive=False)
    assert [os.path.basename(p) for p in top] == ["a.JPG", "b.png"]


def test_list_images_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "only.txt").write_text("x")
    _expect_error(images.list_images, tmp_path / "empty", match="no image files")
    _expect_error(images.list_images, tmp_path / "only.txt", match="not a directory")
    _expect_error(images.list_images, tmp_path / "nope", match="no such directory")
