"""Shared test setup: a private MXNET_HOME, small generated images, markers."""
import os

import numpy as np
import pytest
from PIL import Image

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)


@pytest.fixture(autouse=True, scope="session")
def _private_mxnet_home(tmp_path_factory):
    """Keep tests away from the user's model cache: MXNET_HOME is read at call time."""
    home = tmp_path_factory.mktemp("mxnet_home")
    old = os.environ.get("MXNET_HOME")
    os.environ["MXNET_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("MXNET_HOME", None)
    else:
        os.environ["MXNET_HOME"] = old


def make_photo(path, w=48, h=40, seed=0):
    """A smooth 'photo': gradients and a disc, saved to `path`."""
    yy, xx = np.mgrid[0:h, 0:w]
    r = 255 * xx / max(w - 1, 1)
    g = 255 * yy / max(h - 1, 1)
    b = np.where((xx - w / 2) ** 2 + (yy - h / 2) ** 2 < (min(w, h) / 4) ** 2, 230, 40)
    arr = np.stack([r, g, b + 0 * xx], -1).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return str(path)


def make_painting(path, w=48, h=48, seed=1):
    """A 'painting': diagonal stripes of strong colours with noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    stripe = ((xx + yy) // 6) % 3
    palette = np.array([[20, 40, 160], [240, 200, 40], [30, 150, 200]])
    arr = palette[stripe] + rng.integers(-20, 20, (h, w, 3))
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path)
    return str(path)


def make_style(directory, name="dots", variant="small", seed=0):
    """An untrained fast-mode style registered in `directory` (a params folder)."""
    import mxnet as mx

    from gluon_style import fast
    from gluon_style.nets.transformer import transformer_net

    os.makedirs(directory, exist_ok=True)
    mx.random.seed(seed)
    net = transformer_net(variant)
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1, 3, 16, 16)))
    path = os.path.join(str(directory), name + ".params")
    net.save_parameters(path)
    fast.register_style(str(directory), name, path, variant=variant, credit="test pattern",
                        training={"steps": 0})
    return path


@pytest.fixture
def params_dir(tmp_path, monkeypatch):
    """A params folder holding one (untrained) style "dots", found through the env var."""
    d = tmp_path / "params"
    make_style(d, "dots")
    monkeypatch.setenv("GLUON_STYLE_PARAMS", str(d))
    return d


@pytest.fixture
def photo(tmp_path):
    return make_photo(tmp_path / "photo.png")


@pytest.fixture
def painting(tmp_path):
    return make_painting(tmp_path / "painting.png")
