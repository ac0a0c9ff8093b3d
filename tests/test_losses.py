"""Loss pieces against NumPy, in imperative and symbolic (hybridized) form."""
import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

from gluon_style.optimization import losses
from gluon_style.nets import store
from gluon_style.errors import Error


class _Wrap(nn.HybridBlock):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def hybrid_forward(self, F, *args):
        return self.fn(F, *args)


def _both(fn, *arrays):
    """fn evaluated imperatively and in a hybridized block."""
    nd_args = [mx.nd.array(a) for a in arrays]
    block = _Wrap(fn)
    block.hybridize()
    return fn(mx.nd, *nd_args).asnumpy(), block(*nd_args).asnumpy()


def np_gram(x):
    n, c, h, w = x.shape
    f = x.reshape(n, c, h * w)
    return f @ f.transpose(0, 2, 1) / (h * w)


def test_gram_matches_numpy():
    x = np.random.RandomState(0).randn(2, 5, 7, 3).astype(np.float32)
    for got in _both(losses.gram, x):
        np.testing.assert_allclose(got, np_gram(x), rtol=1e-5, atol=1e-5)


def test_the_one_image_gram_product_equals_batch_dot_forward_and_backward():
    x0 = np.random.RandomState(4).randn(1, 6, 9, 5).astype(np.float32)
    head = mx.nd.array(np.random.RandomState(5).randn(1, 6, 6))
    results = []
    for channels in (None, 6):
        for got in _both(lambda F, x: losses.gram(F, x, channels), x0):
            np.testing.assert_allclose(got, np_gram(x0), rtol=1e-5, atol=1e-5)
        x = mx.nd.array(x0)
        x.attach_grad()
        with mx.autograd.record():
            g = losses.gram(mx.nd, x, channels)
        g.backward(head)
        results.append(x.grad.asnumpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-4, atol=1e-5)
    with pytest.raises(mx.base.MXNetError):  # a batch of two is a shape error, not a guess
        losses.gram(mx.nd, mx.nd.array(np.concatenate([x0, x0])), 6).wait_to_read()


def test_style_loss_matches_numpy_and_broadcasts_target():
    rs = np.random.RandomState(1)
    y = rs.randn(3, 4, 6, 6).astype(np.float32)
    target = np_gram(rs.randn(1, 4, 5, 5).astype(np.float32))
    expected = np.mean((np_gram(y) - target) ** 2)
    for got in _both(losses.style_loss, y, target):
        np.testing.assert_allclose(got, [expected], rtol=1e-5)


def test_content_loss():
    rs = np.random.RandomState(2)
    a, b = rs.randn(1, 3, 4, 4).astype(np.float32), rs.randn(1, 3, 4, 4).astype(np.float32)
    for got in _both(losses.content_loss, a, a):
        assert got[0] == 0
    for got in _both(losses.content_loss, a, b):
        np.testing.assert_allclose(got, [np.mean((a - b) ** 2)], rtol=1e-5)


def test_tv_loss():
    const = np.full((1, 3, 8, 9), 0.7, np.float32)
    for got in _both(losses.tv_loss, const):
        assert got[0] == 0
    x = np.random.RandomState(3).randn(2, 3, 5, 6).astype(np.float32)
    expected = 0.5 * (np.abs(np.diff(x, axis=2)).mean() + np.abs(np.diff(x, axis=3)).mean())
    for got in _both(losses.tv_loss, x):
        np.testing.assert_allclose(got, [expected], rtol=1e-5)


def _perceptual(**kw):
    style, content = ("conv1_1", "conv2_1"), ("relu2_2",)
    ext = store.load_extractor("vgg16-random", style + content)
    opts = dict(style_weights=[1.0, 2.0], content_weights=[3.0], tv_weight=4.0)
    opts.update(kw)
    return ext, losses.PerceptualLoss(ext.taps, style, content, **opts)


def test_perceptual_loss_is_the_weighted_sum_of_its_terms():
    ext, loss = _perceptual()
    x = mx.nd.random.normal(shape=(1, 3, 16, 16))
    s, c = mx.nd.random.normal(shape=(1, 3, 16, 16)), mx.nd.random.normal(shape=(1, 3, 16, 16))
    fs, fc = ext(s), ext(c)
    grams = [losses.gram(mx.nd, fs["conv1_1"]), losses.gram(mx.nd, fs["conv2_1"])]
    total, content, style, tv = [t.asscalar() for t in loss(x, *grams, fc["relu2_2"])]
    fx = ext(x)
    exp_style = (1.0 * losses.style_loss(mx.nd, fx["conv1_1"], grams[0])
                 + 2.0 * losses.style_loss(mx.nd, fx["conv2_1"], grams[1])).asscalar()
    exp_content = 3.0 * losses.content_loss(mx.nd, fx["relu2_2"], fc["relu2_2"]).asscalar()
    exp_tv = 4.0 * losses.tv_loss(mx.nd, x).asscalar()
    np.testing.assert_allclose([content, style, tv], [exp_content, exp_style, exp_tv], rtol=1e-4)
    np.testing.assert_allclose(total, content + style + tv, rtol=1e-5)
    # one image at a time: the same terms through the faster Gram product
    one = losses.PerceptualLoss(ext.taps, ("conv1_1", "conv2_1"), ("relu2_2",),
                                style_weights=[1.0, 2.0], content_weights=[3.0], tv_weight=4.0,
                                style_channels=[64, 128])
    np.testing.assert_allclose([t.asscalar() for t in one(x, *grams, fc["relu2_2"])],
                               [total, content, style, tv], rtol=1e-4)


@pytest.mark.parametrize("kw, msg", [
    (dict(style_weights=[1.0, -1.0]), "non-negative"),
    (dict(content_weights=[1.0, 1.0]), "2 weights given for 1 layers"),
    (dict(tv_weight=float("nan")), "tv weight"),
])
def test_bad_weights(kw, msg):
    with pytest.raises(Error, match=msg):
        _perceptual(**kw)
