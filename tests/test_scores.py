"""The quality scores of gluon_style.quality on images the tests make."""
import numpy as np
import pytest
from PIL import Image

from gluon_style import quality

from .conftest import make_painting, make_photo


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("scores")
    return make_photo(d / "p.png", 256, 192), make_painting(d / "s.png", 256, 256)


@pytest.fixture(scope="module")
def scorer():
    return quality.StyleScorer("vgg16-random")


def test_the_photo_scores_zero_and_the_painting_one(pair, scorer):
    photo, painting = pair
    assert scorer.progress(photo, photo, painting) == pytest.approx([0.0] * 4, abs=1e-6)
    assert quality.color_progress(photo, photo, painting) == pytest.approx(0.0, abs=1e-6)
    # the painting itself, at the photo's size: its own Gram matrices and colours
    same = Image.open(painting).convert("RGB").resize((192, 192))
    assert quality.color_progress(same, same, painting) == pytest.approx(0.0, abs=1e-6)
    assert quality.color_distance(painting, painting) == pytest.approx(0.0, abs=1e-6)
    assert quality.structure(photo, photo) == pytest.approx(1.0)


def test_scores_order_a_half_blend_between_photo_and_painting(pair, scorer):
    photo, painting = pair
    p = np.asarray(Image.open(photo).convert("RGB"), np.float64)
    s = np.asarray(Image.open(painting).convert("RGB").resize((256, 192)), np.float64)
    half = Image.fromarray((0.5 * p + 0.5 * s).astype(np.uint8))
    most = Image.fromarray((0.1 * p + 0.9 * s).astype(np.uint8))
    c_half, c_most = (quality.color_progress(x, photo, painting) for x in (half, most))
    assert 0.2 < c_half < c_most < 1.0
    assert quality.structure(half, photo) > quality.structure(most, photo)


def test_structure_ignores_fine_texture_but_not_a_lost_layout(pair):
    photo, _ = pair
    p = np.asarray(Image.open(photo).convert("RGB"), np.float64)
    rng = np.random.default_rng(0)
    textured = Image.fromarray(np.clip(p + rng.integers(-40, 41, p.shape), 0, 255).astype(np.uint8))
    shuffled = Image.fromarray(rng.permutation(p.reshape(-1, 3)).reshape(p.shape).astype(np.uint8))
    assert quality.structure(textured, photo) > 0.8
    assert quality.structure(shuffled, photo) < 0.3


def _scene(w=160, h=120):
    """Mid-grey sky with a darker grey block (a 'building'), light noise: no pure black."""
    rng = np.random.default_rng(1)
    a = np.full((h, w, 3), 150.0)
    a[60:, 40:110] = 70.0
    return np.clip(a + rng.normal(0, 3, a.shape), 0, 255)


def test_black_holes_count_pure_black_only_where_the_photo_is_not_dark():
    photo = _scene()
    out = photo.copy()
    out[:20, :40] = 0.0  # a black blot in the sky: 800 of 19200 pixels
    out[60:70, 40:50] = 5.0  # and one over the dark building (still not dark: 70/255 > 0.2)
    img = lambda a: Image.fromarray(a.astype(np.uint8))  # noqa: E731
    assert quality.black_holes(img(photo), img(photo)) == 0.0
    assert quality.black_holes(img(out), img(photo)) == pytest.approx(900 / 19200)
    dark = photo.copy()
    dark[:20, :40] = 20.0  # where the photo itself is dark, black is no blot
    assert quality.black_holes(img(out), img(dark)) == pytest.approx(100 / 19200)
    nearly = out.copy()
    nearly[:20, :40] = 12.0  # above the 10/255 level
    assert quality.black_holes(img(nearly), img(photo)) == pytest.approx(100 / 19200)


def test_flat_share_finds_strokeless_patches_of_any_colour():
    rng = np.random.default_rng(2)
    strokes = rng.uniform(0, 255, (100, 100, 3))
    assert quality.flat_share(Image.fromarray(strokes.astype(np.uint8))) == 0.0
    patched = strokes.copy()
    patched[:, :50] = (120, 200, 90)  # a pale green patch over half the picture
    share = quality.flat_share(Image.fromarray(patched.astype(np.uint8)))
    assert 0.45 < share < 0.5  # its border pixels see the strokes beside it


def test_edge_halo_is_zero_for_the_photo_and_positive_for_a_bright_rim():
    photo = _scene()
    img = lambda a: Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))  # noqa: E731
    assert quality.edge_halo(img(photo), img(photo)) == pytest.approx(0.0, abs=1e-9)
    yy, xx = np.mgrid[0:120, 0:160]
    # distance to the building's outline, outside it
    dx = np.maximum(np.maximum(40 - xx, xx - 109), 0)
    dy = np.maximum(60 - yy, 0)
    d = np.where((xx >= 40) & (xx < 110) & (yy >= 60), 0, np.hypot(dx, dy))
    rim = photo + 60.0 * np.exp(-d / 4.0)[..., None] * (d > 0)[..., None]
    shadow = photo - 60.0 * np.exp(-d / 4.0)[..., None] * (d > 0)[..., None]
    wider = photo + 60.0 * np.exp(-d / 8.0)[..., None] * (d > 0)[..., None]
    assert 0.05 < quality.edge_halo(img(rim), img(photo)) \
        < quality.edge_halo(img(wider), img(photo))
    assert quality.edge_halo(img(shadow), img(photo)) < -0.05
    uniform = photo + 30.0  # brighter everywhere: no rim
    assert abs(quality.edge_halo(img(uniform), img(photo))) < 0.02
