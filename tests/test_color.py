"""Color preservation (gluon_style.color): conversions, luminance-only, histogram matching.

All images are generated in memory; nothing here needs MXNet.
"""
import numpy as np
import pytest
from PIL import Image

from gluon_style import color
from gluon_style.errors import Error

LEVEL = 1.0 / 255.0


def _gaussian_image(mean, mix, seed, w=64, h=48):
    """Pixels ~ N(mean, mix mix^T), smooth-ish, well inside [0, 1]."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((h, w, 3))
    z[:, 1:] = 0.6 * z[:, 1:] + 0.4 * z[:, :-1]  # a little spatial structure
    arr = np.asarray(mean) + z @ np.asarray(mix).T
    assert (arr > 0).all() and (arr < 1).all(), "test image would be clipped"
    return Image.fromarray(np.round(arr * 255).astype(np.uint8))


def _stats(img):
    px = np.asarray(img, dtype=np.float64).reshape(-1, 3) / 255.0
    mu = px.mean(0)
    d = px - mu
    return mu, d.T @ d / len(px)


def _chroma_levels(img, space):
    return color.rgb_to(np.asarray(img, dtype=np.float64) / 255.0, space) * 255.0


STYLE_MIX = [[0.08, 0.02, 0.0], [0.03, 0.05, 0.01], [0.0, 0.02, 0.04]]
CONTENT_MIX = [[0.05, 0.0, 0.03], [0.02, 0.07, -0.02], [-0.01, 0.01, 0.09]]


@pytest.mark.parametrize("space", color.COLOR_SPACES)
def test_round_trip_within_rounding(space):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20000, 3))
    corners = np.array([[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)])
    rgb = np.concatenate([rgb, corners]) / 255.0
    back = color.rgb_from(color.rgb_to(rgb, space), space)
    assert np.abs(back - rgb).max() < LEVEL
    assert (np.round(back * 255) == np.round(rgb * 255)).all()


def test_matrices_are_the_standard_ones():
    white = color.rgb_to(np.ones(3), "yiq")
    np.testing.assert_allclose(white, [1, 0, 0], atol=1e-5)
    np.testing.assert_allclose(color.rgb_to([1.0, 0, 0], "yiq"), [0.299, 0.595716, 0.211456])
    # Full-range YCbCr agrees with Pillow's (JPEG) conversion within a level.
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    ours = _chroma_levels(img, "ycbcr")
    theirs = np.asarray(img.convert("YCbCr"), dtype=np.float64)
    assert np.abs(ours - theirs).max() <= 1.0


@pytest.mark.parametrize("space", color.COLOR_SPACES)
def test_luminance_only_takes_result_luma_and_content_chroma(space):
    result = _gaussian_image([0.5, 0.45, 0.55], STYLE_MIX, seed=2)
    content = _gaussian_image([0.5, 0.5, 0.45], np.array(CONTENT_MIX) * 0.5, seed=3)
    out = color.luminance_only(result, content, space=space)
    assert out.mode == "RGB" and out.size == result.size
    o, r, c = (_chroma_levels(im, space) for im in (out, result, content))
    assert np.abs(o[..., 0] - r[..., 0]).max() <= 1.0
    assert np.abs(o[..., 1:] - c[..., 1:]).max() <= 2.0
    # and it really changed something: the result's own chroma is far off
    assert np.abs(r[..., 1:] - c[..., 1:]).max() > 10


def test_luminance_only_resizes_content_to_result():
    result = _gaussian_image([0.5] * 3, STYLE_MIX, seed=4, w=40, h=30)
    content = Image.new("RGB", (80, 60), (200, 120, 90))
    out = color.luminance_only(result, content)
    assert out.size == (40, 30)
    iq = _chroma_levels(out, "yiq")[..., 1:]
    want = _chroma_levels(content, "yiq")[0, 0, 1:]
    assert np.abs(iq - want).max() <= 2.0


def test_to_luminance_is_gray_luma():
    img = _gaussian_image([0.4, 0.6, 0.5], CONTENT_MIX, seed=5)
    lum = np.asarray(color.to_luminance(img, "ycbcr"), dtype=np.float64)
    assert lum.shape == (48, 64, 3)
    assert (lum[..., 0] == lum[..., 1]).all() and (lum[..., 1] == lum[..., 2]).all()
    y = np.asarray(img, dtype=np.float64) @ np.array([0.299, 0.587, 0.114])
    assert np.abs(lum[..., 0] - y).max() <= 0.5 + 1e-9


@pytest.mark.parametrize("method", color.HISTOGRAM_METHODS)
def test_match_histogram_moves_mean_and_covariance(method):
    style = _gaussian_image([0.6, 0.4, 0.3], STYLE_MIX, seed=6, w=72, h=56)
    content = _gaussian_image([0.35, 0.5, 0.6], CONTENT_MIX, seed=7, w=50, h=40)
    out = color.match_histogram(style, content, method=method)
    assert out.mode == "RGB" and out.size == style.size
    mu_o, cov_o = _stats(out)
    mu_c, cov_c = _stats(content)
    mu_s, cov_s = _stats(style)
    assert np.abs(mu_o - mu_c).max() <= 2 * LEVEL
    rel = np.linalg.norm(cov_o - cov_c) / np.linalg.norm(cov_c)
    assert rel < 0.05
    # the style started far from the content's statistics
    assert np.abs(mu_s - mu_c).max() > 0.1
    assert np.linalg.norm(cov_s - cov_c) / np.linalg.norm(cov_c) > 0.3


def test_histogram_transforms_satisfy_constraint_and_differ():
    rng = np.random.default_rng(8)
    m1, m2 = rng.standard_normal((2, 3, 3))
    cov_s, cov_c = m1 @ m1.T + 0.1 * np.eye(3), m2 @ m2.T + 0.1 * np.eye(3)
    mats = {m: color._transform(cov_s, cov_c, m) for m in color.HISTOGRAM_METHODS}
    for a in mats.values():
        np.testing.assert_allclose(a @ cov_s @ a.T, cov_c, atol=1e-9)
    np.testing.assert_allclose(mats["sym"], mats["sym"].T, atol=1e-9)
    np.testing.assert_allclose(mats["chol"], np.tril(mats["chol"]), atol=1e-12)
    assert np.abs(mats["pca"] - mats["chol"]).max() > 1e-3
    assert np.abs(mats["pca"] - mats["sym"]).max() > 1e-3


@pytest.mark.parametrize("method", color.HISTOGRAM_METHODS)
def test_flat_or_gray_style_gives_no_nan(method):
    content = _gaussian_image([0.35, 0.5, 0.6], CONTENT_MIX, seed=9)
    flat = Image.new("RGB", (20, 16), (128, 128, 128))
    out = np.asarray(color.match_histogram(flat, content, method=method), dtype=np.float64)
    mu_c, _ = _stats(content)
    assert np.abs(out - mu_c * 255).max() <= 1.0  # every pixel becomes the content mean
    # grayscale-with-noise style: rank-1 covariance, must stay finite and in range
    rng = np.random.default_rng(10)
    g = rng.integers(60, 200, (16, 20, 1))
    gray = Image.fromarray(np.repeat(g, 3, axis=2).astype(np.uint8))
    mu_o, _ = _stats(color.match_histogram(gray, content, method=method))
    assert np.isfinite(mu_o).all() and np.abs(mu_o - mu_c).max() < 0.1


def test_match_luminance_arrays_and_images():
    rng = np.random.default_rng(11)
    ys, yc = rng.normal(0.7, 0.2, (30, 40)), rng.normal(0.4, 0.05, (25, 25))
    out = color.match_luminance(ys, yc)
    assert out.shape == ys.shape
    assert out.mean() == pytest.approx(yc.mean(), abs=1e-12)
    assert out.std() == pytest.approx(yc.std(), rel=1e-12)
    flat = color.match_luminance(np.full((4, 4), 0.3), yc)
    assert np.isfinite(flat).all() and np.allclose(flat, yc.mean())

    style = _gaussian_image([0.6, 0.4, 0.3], STYLE_MIX, seed=12)
    content = _gaussian_image([0.35, 0.5, 0.6], np.array(CONTENT_MIX) * 0.6, seed=13)
    img = color.match_luminance(style, content)
    y = np.asarray(img, dtype=np.float64)[..., 0] / 255.0
    yc_img = color.rgb_to(np.asarray(content, dtype=np.float64) / 255.0)[..., 0]
    assert img.size == style.size
    assert abs(y.mean() - yc_img.mean()) <= LEVEL
    assert abs(y.std() - yc_img.std()) <= LEVEL


@pytest.mark.parametrize("call", [
    lambda: color.match_histogram(np.zeros((8, 8, 3)), Image.new("RGB", (8, 8))),
    lambda: color.match_histogram(Image.new("RGB", (8, 8)), "content.png"),
    lambda: color.match_histogram(Image.new("RGB", (8, 8)), Image.new("RGB", (8, 8)), "lab"),
    lambda: color.luminance_only(None, Image.new("RGB", (8, 8))),
    lambda: color.luminance_only(Image.new("RGB", (8, 8)), Image.new("RGB", (8, 8)), space="hsv"),
    lambda: color.to_luminance([[0, 0, 0]]),
    lambda: color.match_luminance(Image.new("RGB", (8, 8)), np.zeros(4)),
])
def test_bad_inputs_raise_one_line_error(call):
    with pytest.raises(Error) as info:
        call()
    assert "\n" not in str(info.value) and str(info.value)


def test_constants_and_other_modes():
    assert color.PRESERVE_COLORS == ("none", "luminance", "histogram")
    # grayscale ("L") and RGBA inputs are accepted and give RGB out
    gray = Image.new("L", (10, 8), 100)
    rgba = Image.new("RGBA", (10, 8), (10, 200, 30, 255))
    out = color.luminance_only(gray, rgba)
    assert out.mode == "RGB" and out.size == (10, 8)
    assert np.asarray(out)[..., 1].mean() > np.asarray(out)[..., 0].mean() + 20  # green chroma kept


def test_color_and_video_use_public_helpers_only():
    import ast
    import os

    import gluon_style
    root = os.path.dirname(gluon_style.__file__)
    for name in ("color.py", os.path.join("fast", "video.py")):
        tree = ast.parse(open(os.path.join(root, name)).read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert not [a.name for a in node.names if a.name.startswith("_")], name
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in ("images", "fileio"):
                assert not node.attr.startswith("_"), (name, node.attr)
