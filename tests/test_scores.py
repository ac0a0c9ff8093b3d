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
