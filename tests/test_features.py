"""VGG layer tables and the feature extractor."""
import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon.model_zoo import vision

from gluon_style.nets import features, store
from gluon_style.errors import Error


def test_gluon_notes_taps_have_paper_names():
    names = features.layer_names("vgg19")
    assert [names[i] for i in (0, 5, 10, 19, 28)] \
        == ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    assert names[25] == "conv4_4"
    v16 = features.layer_names("vgg16")
    assert v16.index("conv4_2") == 19 and v16.index("relu4_3") == 22 and v16.index("relu2_2") == 8
    assert "conv4_4" not in v16


def test_layer_table_matches_model_zoo():
    """Our stack has the zoo's layers at the same indices (conv shapes, relu, pool)."""
    for arch, n in (("vgg19", 19), ("vgg16", 16)):
        zoo = vision.get_vgg(n)
        ours = features.vgg_layers(arch, len(features.layer_names(arch)) - 1)
        for i, (name, layer) in enumerate(zip(features.layer_names(arch), ours)):
            zoo_layer = zoo.features[i]
            assert type(zoo_layer).__name__ == type(layer).__name__, (arch, i, name)
            if name.startswith("conv"):
                assert zoo_layer._channels == layer._channels == features.conv_channels(arch, name)


def test_unknown_layer_lists_valid_names():
    with pytest.raises(Error, match="unknown layer 'conv4_4' for vgg16.*conv4_3"):
        features.layer_index("vgg16", "conv4_4")
    with pytest.raises(Error, match="unknown VGG architecture"):
        features.layer_names("vgg11")


def _zoo_features_file(tmp_path, arch):
    """A zoo-layout file (``features.N.*``) with random conv weights."""
    n = 19 if arch == "vgg19" else 16
    zoo = vision.get_vgg(n)
    zoo.initialize(mx.init.Xavier())
    zoo.features(mx.nd.zeros((1, 3, 32, 32)))
    mx.nd.waitall()  # the pass may still be reordering the weights in place; save after it
    arrays = {k: v.data() for k, v in zoo._collect_params_with_prefix().items()
              if k.startswith("features.") and v.shape[0] != 4096}
    path = str(tmp_path / ("%s.params" % arch))
    mx.nd.save(path, arrays)
    return zoo, path


def test_taps_shapes_and_values_match_the_zoo_net(tmp_path):
    zoo, path = _zoo_features_file(tmp_path, "vgg19")
    layers = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1", "conv4_4"]
    ext = store.load_extractor(path, layers)
    x = mx.nd.random.normal(shape=(1, 3, 64, 48))
    out = ext(x)
    assert list(out) == layers
    shapes = {k: v.shape for k, v in out.items()}
    assert shapes == {"conv1_1": (1, 64, 64, 48), "conv2_1": (1, 128, 32, 24),
                      "conv3_1": (1, 256, 16, 12), "conv4_1": (1, 512, 8, 6),
                      "conv5_1": (1, 512, 4, 3), "conv4_4": (1, 512, 8, 6)}
    # the zoo network sliced at index 25 computes the same conv4_4
    ref = zoo.features[:26](x)
    np.testing.assert_allclose(out["conv4_4"].asnumpy(), ref.asnumpy(), rtol=1e-4, atol=1e-4)


def test_hybridized_equals_imperative(tmp_path):
    _, path = _zoo_features_file(tmp_path, "vgg16")
    layers = ["relu1_2", "relu2_2", "relu3_3", "conv4_2"]
    hyb = store.load_extractor(path, layers, hybridize=True)
    imp = store.load_extractor(path, layers, hybridize=False)
    x = mx.nd.random.normal(shape=(2, 3, 40, 36))
    a, b = hyb(x), imp(x)
    for name in layers:
        np.testing.assert_allclose(a[name].asnumpy(), b[name].asnumpy(), rtol=1e-5, atol=1e-5)


def test_avg_pooling_changes_deep_features_only():
    ext_max = store.load_extractor("vgg16-random", ["conv1_1", "conv2_1"], pooling="max")
    ext_avg = store.load_extractor("vgg16-random", ["conv1_1", "conv2_1"], pooling="avg")
    # same weights for both
    for (_, a), (_, b) in zip(ext_max.taps.collect_params().items(),
                              ext_avg.taps.collect_params().items()):
        b.set_data(a.data())
    x = mx.nd.random.normal(shape=(1, 3, 16, 16))
    m, a = ext_max(x), ext_avg(x)
    np.testing.assert_allclose(m["conv1_1"].asnumpy(), a["conv1_1"].asnumpy(), rtol=1e-6)
    assert np.abs(m["conv2_1"].asnumpy() - a["conv2_1"].asnumpy()).max() > 1e-3
    with pytest.raises(Error, match="unknown pooling"):
        features.vgg_layers("vgg16", 4, pooling="median")


def test_subset_runs_only_as_deep_as_needed_on_shared_weights():
    taps = features.VGGTaps("vgg16", ["relu1_2", "relu2_2", "relu4_3"])
    taps.initialize(mx.init.Xavier())
    sub = taps.subset(["relu2_2"])
    assert len(sub.body) == features.layer_index("vgg16", "relu2_2") + 1 < len(taps.body)
    x = mx.nd.random.normal(shape=(2, 3, 24, 24))
    sub.hybridize()
    np.testing.assert_array_equal(sub(x)[0].asnumpy(), taps(x)[1].asnumpy())
    w = taps.body[0].weight
    w.set_data(w.data() * 2)  # the same Parameter, not a copy
    np.testing.assert_array_equal(sub(x)[0].asnumpy(), taps(x)[1].asnumpy())
    with pytest.raises(Error, match="relu5_1 is deeper"):
        taps.subset(["relu5_1"])


@pytest.mark.parametrize("layers, side", [(["conv1_1"], 1), (["pool1"], 2), (["relu4_3"], 8),
                                          (["relu1_1", "relu5_1", "relu4_2"], 16)])
def test_min_input_side_is_what_the_poolings_need(layers, side):
    assert features.min_input_side(layers) == side
    ext = store.load_extractor("vgg16-random", layers, hybridize=False)
    ext(mx.nd.zeros((1, 3, side, 40)))  # runs at that side
    if side > 1:
        with pytest.raises(mx.base.MXNetError):
            ext(mx.nd.zeros((1, 3, side - 1, 40))).popitem()[1].wait_to_read()


def test_unknown_layer_suggests_the_closest():
    with pytest.raises(Error, match="unknown layer 'relu4_33' for vgg16.*did you mean 'relu4_3'"):
        features.layer_index("vgg16", "relu4_33")
