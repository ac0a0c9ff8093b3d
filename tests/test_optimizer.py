"""The optimization loop: each method lowers the loss; NaN handling; schedules."""
import math

import mxnet as mx
import numpy as np
import pytest

from gluon_style.optimization import gatys, optimizer
from gluon_style.errors import Error


def quadratic(target):
    """A loss of the optimizer's shape: (total, content, style, tv)."""
    def loss_fn(x):
        total = mx.nd.sum(mx.nd.square(x - target)).reshape((1,))
        zero = total * 0
        return total, total, zero, zero
    return loss_fn


def test_gd_is_the_gluon_notes_update():
    target = mx.nd.array(np.random.RandomState(0).randn(1, 3, 4, 4))
    x = mx.nd.zeros((1, 3, 4, 4))
    x0 = x.asnumpy().copy()
    step = next(iter(optimizer.optimize(quadratic(target), x, iterations=1, lr=0.3)))
    grad = 2 * (x0 - target.asnumpy())
    expected = x0 - 0.3 * grad / (np.abs(grad).mean() + 1e-8)
    np.testing.assert_allclose(step.image.asnumpy(), expected, rtol=1e-5)
    assert step.losses["total"] == pytest.approx(float((target.asnumpy() ** 2).sum()), rel=1e-5)


def test_lr_decays_on_schedule():
    x = mx.nd.zeros((1, 3, 2, 2))
    lrs = [s.lr for s in optimizer.optimize(quadratic(mx.nd.ones((1, 3, 2, 2))), x,
                                            iterations=7, lr=1.0, lr_decay=0.5, lr_decay_every=3,
                                            method="gd")]
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


@pytest.mark.parametrize("method", optimizer.METHODS)
def test_each_method_converges_on_a_quadratic(method):
    target = mx.nd.array(np.random.RandomState(1).randn(1, 3, 5, 5))
    x = mx.nd.zeros((1, 3, 5, 5))
    steps = list(optimizer.optimize(quadratic(target), x, iterations=60, method=method,
                                    lr=0.05 if method == "gd" else None, lr_decay_every=30))
    first, last = steps[0].losses["total"], steps[-1].losses["total"]
    assert last < 0.05 * first


@pytest.mark.parametrize("method", optimizer.METHODS)
def test_each_method_lowers_the_style_transfer_loss(photo, painting, method):
    steps = list(gatys.stylize_steps(photo, painting, size=32, iterations=10, method=method,
                                     network="vgg16-random", seed=0, init="noise",
                                     lr_decay_every=100,
                                     style_layers=["conv1_1", "conv2_1", "conv3_1"],
                                     content_layers=["conv2_2"]))
    totals = [s.losses["total"] for s in steps]
    assert all(math.isfinite(t) for t in totals)
    assert totals[-1] < 0.75 * totals[0], totals


def test_non_finite_loss_stops_with_last_good_image():
    calls = []

    def loss_fn(x):
        calls.append(1)
        total = mx.nd.sum(x * x).reshape((1,))
        if len(calls) == 3:
            total = total * float("nan")
        return total, total, total * 0, total * 0

    x = mx.nd.ones((1, 3, 2, 2))
    seen = []
    with pytest.raises(optimizer.NonFiniteLoss, match="loss became nan at iteration 3") as err:
        for step in optimizer.optimize(loss_fn, x, iterations=10, lr=0.1, method="gd"):
            seen.append(step.image.copy())
    assert err.value.step == 2
    np.testing.assert_array_equal(err.value.image.asnumpy(), seen[-1].asnumpy())


@pytest.mark.parametrize("kw, msg", [
    (dict(method="sgd"), "unknown optimizer"),
    (dict(iterations=0), "positive whole number"),
    (dict(lr=-1.0), "learning rate must be positive"),
    (dict(lr_decay=0.0), "lr decay"),
])
def test_bad_options(kw, msg):
    opts = dict(iterations=3)
    opts.update(kw)
    with pytest.raises(Error, match=msg):
        optimizer.optimize(quadratic(mx.nd.ones((1,))), mx.nd.zeros((1,)), **opts)


def test_stylize_is_deterministic_with_a_seed(photo, painting):
    opts = dict(size=24, iterations=3, network="vgg16-random", seed=3, init="noise",
                style_layers=["conv1_1"], content_layers=["conv1_2"])
    a = np.asarray(gatys.stylize(photo, painting, **opts))
    b = np.asarray(gatys.stylize(photo, painting, **opts))
    assert a.shape == (20, 24, 3)
    np.testing.assert_array_equal(a, b)


def test_default_schedule_decays_every_40_percent_of_the_run():
    x = mx.nd.zeros((1, 3, 2, 2))
    lrs = [s.lr for s in optimizer.optimize(quadratic(mx.nd.ones((1, 3, 2, 2))), x,
                                            iterations=10, lr=1.0, method="gd")]
    np.testing.assert_allclose(lrs, [1.0] * 4 + [0.1] * 4 + [0.01] * 2)


@pytest.mark.parametrize("method", ["gd", "adam", "lbfgs"])
def test_the_optimized_image_stays_in_the_pixel_range(photo, painting, method):
    from gluon_style.optimization import gatys
    from gluon_style.io import images
    lo, hi = (b.asnumpy() for b in images.pixel_bounds())
    run = gatys.stylize_steps(photo, painting, size=32, iterations=4, method=method, lr=2.0,
                              network="vgg16-random", init="noise", seed=0)
    at_bound = False
    for step in run:
        x = step.image.asnumpy()
        assert (x >= lo - 1e-6).all() and (x <= hi + 1e-6).all()
        at_bound |= bool(np.isclose(x, lo, atol=1e-6).any() or np.isclose(x, hi, atol=1e-6).any())
    assert at_bound  # the steps were large enough for the projection to matter


def test_lbfgs_backs_off_a_non_finite_trial_point_and_never_rises():
    target = mx.nd.array(np.random.RandomState(4).randn(1, 3, 4, 4))

    def loss_fn(x):  # NaN wherever a step goes far from the start
        total = mx.nd.sum(mx.nd.square(x - target)).reshape((1,))
        if float(mx.nd.max(mx.nd.abs(x)).asscalar()) > 2.5:
            total = total * float("nan")
        return total, total, total * 0, total * 0

    x = mx.nd.zeros((1, 3, 4, 4))
    totals = [s.losses["total"] for s in optimizer.optimize(loss_fn, x, iterations=25,
                                                            method="lbfgs", lr=50.0)]
    assert all(math.isfinite(t) for t in totals)
    assert all(b <= a for a, b in zip(totals, totals[1:]))
    assert totals[-1] < 0.05 * totals[0]
