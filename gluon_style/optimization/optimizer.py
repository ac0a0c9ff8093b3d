"""Optimizing an image: the loop, as a generator.

``optimize(loss_fn, x, ...)`` updates the NDArray ``x`` in place and yields a
:class:`Step` after every iteration, so the caller decides what to print, plot
and save. ``loss_fn(x)`` returns ``(total, content, style, tv)`` arrays.

Methods:

* ``"gd"``, the Gluon notes' normalized gradient descent: ``g /= mean|g| +
  1e-8; x -= lr * g``, the learning rate multiplied by `lr_decay` every
  `lr_decay_every` iterations;
* ``"adam"``: MXNet's Adam on the image, with the same decay schedule;
* ``"lbfgs"`` (the default): limited-memory BFGS (history 10) with a
  backtracking Armijo line search; one iteration may evaluate the loss more
  than once, and the loss never rises (a step that finds no decrease stays
  put and restarts from steepest descent).

A loss that stops being finite raises :class:`NonFiniteLoss`, which carries the
last image whose loss was finite.
"""
import math
from collections import namedtuple

import mxnet as mx
from mxnet import autograd

from ..errors import Error

METHODS = ("gd", "adam", "lbfgs")
DEFAULT_METHOD = "lbfgs"
LR_DECAY = 0.1
#: with no period given, the learning rate decays every 40% of the run: the
#: Gluon notes' 200 of 500 iterations, scaled to the run's length
LR_DECAY_FRACTION = 0.4
#: learning rate of each method when none is given. x is ImageNet-normalized, so
#: gd's 0.05 moves a pixel by about 3 gray levels on average. Normalized steps
#: do not shrink by themselves: the style loss swings between two levels until
#: the first decay, less with 0.05 than with the Gluon notes' 0.1, which ended
#: higher (4.48 vs 4.26 after 120 iterations at 160 px).
DEFAULT_LR = {"gd": 0.05, "adam": 0.05, "lbfgs": 1.0}
TERMS = ("total", "content", "style", "tv")

Step = namedtuple("Step", "step image losses lr")
Step.__doc__ = """One iteration done: `losses` (a dict of floats, see TERMS) were
measured on the image before this iteration's update; `image` is the updated
NDArray (the optimized array itself: copy it to keep it)."""


class NonFiniteLoss(Error):
    """The loss became `value` (NaN or infinite) at iteration ``step + 1``; ``.image``
    is the image of iteration `step` (the starting image when `step` is 0), whose
    loss was finite. The message says only that: what was kept is the caller's to say."""

    def __init__(self, value, image, step):
        super().__init__("loss became %s at iteration %d" % (value, step + 1))
        self.value, self.image, self.step = value, image, step

    def after(self, steps):
        """The same failure `steps` iterations later (a coarse-to-fine run's next scale)."""
        return NonFiniteLoss(self.value, self.image, self.step + steps)


def _evaluate(loss_fn, x):
    with autograd.record():
        terms = loss_fn(x)
    terms[0].backward()
    values = mx.nd.concat(*terms, dim=0).asnumpy()
    return dict(zip(TERMS, (float(v) for v in values)))


def _check(losses, step, last_good):
    if not math.isfinite(losses["total"]):
        raise NonFiniteLoss(losses["total"], last_good, step - 1)


def optimize(loss_fn, x, *, iterations, method=DEFAULT_METHOD, lr=None, lr_decay=LR_DECAY,
             lr_decay_every=None, project=None):
    """Minimize ``loss_fn(x)[0]`` over the NDArray `x`: an iterator of :class:`Step`.

    The arguments are checked at once; the iterations run as it is consumed.
    `project`, if given, is called on `x` after every update (in place) to put
    it back into the allowed set, e.g. the range of valid pixels; L-BFGS
    projects every point of its line search before evaluating it.
    """
    if method not in METHODS:
        raise Error("unknown optimizer %r (valid: %s)" % (method, ", ".join(METHODS)))
    if int(iterations) != iterations or iterations < 1:
        raise Error("iterations must be a positive whole number, got %r" % (iterations,))
    lr = DEFAULT_LR[method] if lr is None else float(lr)
    if not lr > 0 or not math.isfinite(lr):
        raise Error("learning rate must be positive, got %r" % (lr,))
    if lr_decay_every is None:
        lr_decay_every = max(1, round(LR_DECAY_FRACTION * iterations))
    if not 0 < lr_decay <= 1 or lr_decay_every < 1:
        raise Error("lr decay must be in (0, 1] and its period positive, got %r every %r"
                    % (lr_decay, lr_decay_every))
    x.attach_grad()
    project = project or (lambda image: None)
    if method == "lbfgs":
        return _lbfgs(loss_fn, x, int(iterations), lr, project)
    return _descent(loss_fn, x, int(iterations), method, lr, lr_decay, lr_decay_every, project)


def _descent(loss_fn, x, iterations, method, lr, lr_decay, lr_decay_every, project):
    updater = (mx.optimizer.get_updater(mx.optimizer.Adam(learning_rate=lr))
               if method == "adam" else None)
    for step in range(1, iterations + 1):
        last_good = x.copy()
        losses = _evaluate(loss_fn, x)
        _check(losses, step, last_good)
        if updater is None:
            grad = x.grad / (mx.nd.mean(mx.nd.abs(x.grad)) + 1e-8)
            x -= lr * grad
        else:
            updater.optimizer.lr = lr
            updater(0, x.grad, x)
        project(x)
        yield Step(step, x, losses, lr)
        if step % lr_decay_every == 0:
            lr *= lr_decay


def _dot(a, b):
    return float(mx.nd.sum(a * b).asscalar())


def _lbfgs(loss_fn, x, iterations, lr, project, history=10, c1=1e-4, max_halvings=10):
    s_hist, y_hist = [], []
    losses = _evaluate(loss_fn, x)
    _check(losses, 1, x.copy())
    grad = x.grad.copy()
    for step in range(1, iterations + 1):
        # two-loop recursion: direction = -H grad
        q = grad.copy()
        alphas = []
        for s, y in reversed(list(zip(s_hist, y_hist))):
            a = _dot(s, q) / _dot(y, s)
            alphas.append(a)
            q -= a * y
        if s_hist:
            q *= _dot(s_hist[-1], y_hist[-1]) / _dot(y_hist[-1], y_hist[-1])
        else:  # no curvature yet: a first step of `lr` per unit of mean |g|
            q /= float(mx.nd.mean(mx.nd.abs(grad)).asscalar()) + 1e-8
        for (s, y), a in zip(zip(s_hist, y_hist), reversed(alphas)):
            b = _dot(y, q) / _dot(y, s)
            q += (a - b) * s
        direction = -q
        slope = _dot(grad, direction)
        if slope >= 0:  # not a descent direction: restart from steepest descent
            s_hist, y_hist = [], []
            direction = -grad / (float(mx.nd.mean(mx.nd.abs(grad)).asscalar()) + 1e-8)
            slope = _dot(grad, direction)
        start, t, accepted = x.copy(), lr, False
        for _ in range(max_halvings):
            x[:] = start + t * direction
            project(x)
            new = _evaluate(loss_fn, x)
            if math.isfinite(new["total"]) and new["total"] <= losses["total"] + c1 * t * slope:
                accepted = True
                break
            t *= 0.5
        if not math.isfinite(new["total"]):
            x[:] = start
            _check(new, step + 1, start)
        if not accepted:  # no decrease along this direction: stay, forget the curvature
            x[:] = start
            s_hist, y_hist = [], []
            yield Step(step, x, losses, 0.0)
            continue
        new_grad = x.grad.copy()
        s, y = x - start, new_grad - grad
        if _dot(s, y) > 1e-10:
            s_hist.append(s)
            y_hist.append(y)
            del s_hist[:-history], y_hist[:-history]
        yield Step(step, x, losses, t)
        losses, grad = new, new_grad
