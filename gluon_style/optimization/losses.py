"""Loss pieces of neural style transfer, and the loss network that joins them.

Every function takes ``F`` first (``mx.nd`` or ``mx.sym``) so it works both
imperatively and inside a hybridized block. Normalizations follow the Gluon
notes' style transfer:

* ``gram(x)``: for features ``x`` of shape (N, C, H, W), the (N, C, C) matrix
  ``X X^T / (H W)`` where ``X`` is ``x`` reshaped to (N, C, H*W);
* ``content_loss(y, t)``: mean over all elements of ``(y - t)^2``;
* ``style_loss(y, g)``: mean over the (N, C, C) elements of
  ``(gram(y) - g)^2``; ``g`` of batch 1 is broadcast over ``y``'s batch;
* ``tv_loss(x)``: ``0.5 * (mean |x[..., i+1, :] - x[..., i, :]| +
  mean |x[..., :, j+1] - x[..., :, j]|)`` (anisotropic, L1).

:class:`PerceptualLoss` runs the VGG taps and all terms in one hybridized
graph, which is what makes an optimization step fast.
"""
from mxnet.gluon import nn

from ..errors import Error


def _spatial_size(F, x):
    """H*W of an (N, C, H, W) tensor as a float32 array of shape (1,)."""
    hw = F.slice_axis(F.shape_array(x), axis=0, begin=2, end=None)
    return F.cast(F.prod(hw, keepdims=True), "float32")


def gram(F, x, channels=None):
    """Gram matrices (N, C, C) of features (N, C, H, W), divided by H*W.

    `channels`: C, for a batch of ONE image (as in optimization mode): the product
    is then a ``FullyConnected`` of the (C, H*W) features with themselves, whose
    forward and backward run 3-4.6x faster on the CPU than ``batch_dot``'s (64 to
    512 channels at 32-512 px); a batch of several images is then a shape error.
    """
    if channels:
        flat = F.reshape(x, shape=(-3, -1))                           # (C, H*W)
        g = F.FullyConnected(flat, flat, no_bias=True, num_hidden=channels)
        return F.broadcast_div(F.expand_dims(g, axis=0), _spatial_size(F, x))
    flat = F.reshape(x, shape=(0, 0, -1))
    g = F.batch_dot(flat, flat, transpose_b=True)
    return F.broadcast_div(g, _spatial_size(F, x))


def masked_gram(F, x, m):
    """Gram matrices of features (N, C, H, W) seen through a mask (1, 1, H, W).

    The guided Gram matrix of Gatys et al. 2017 ("Controlling Perceptual Factors
    in Neural Style Transfer"): the features are weighted by the mask and the
    sum is divided by the mask's sum of squares, so a mask of ones gives
    :func:`gram`.
    """
    flat = F.reshape(F.broadcast_mul(x, m), shape=(0, 0, -1))
    g = F.batch_dot(flat, flat, transpose_b=True)
    return F.broadcast_div(g, F.reshape(F.sum(F.square(m)), shape=(1,)) + 1e-8)


def content_loss(F, y, target):
    """Mean squared difference of two feature maps."""
    return F.mean(F.square(y - target))


def style_loss(F, y, target_gram, channels=None):
    """Mean squared difference of the Gram matrix of `y` and `target_gram` (`channels`:
    see :func:`gram`)."""
    return F.mean(F.square(F.broadcast_sub(gram(F, y, channels), target_gram)))


def tv_loss(F, x):
    """Anisotropic L1 total variation of images (N, C, H, W)."""
    dh = F.slice_axis(x, axis=2, begin=1, end=None) - F.slice_axis(x, axis=2, begin=0, end=-1)
    dw = F.slice_axis(x, axis=3, begin=1, end=None) - F.slice_axis(x, axis=3, begin=0, end=-1)
    return 0.5 * (F.mean(F.abs(dh)) + F.mean(F.abs(dw)))


def check_weights(name, weights, n):
    weights = [float(w) for w in weights]
    if len(weights) != n:
        raise Error("%s: %d weights given for %d layers" % (name, len(weights), n))
    for w in weights:
        if not w >= 0 or w == float("inf"):
            raise Error("%s must be finite and non-negative, got %g" % (name, w))
    return weights


class PerceptualLoss(nn.HybridBlock):
    """Weighted content + style + total-variation loss of an image batch.

    ``loss(x, *style_grams, *content_targets)`` returns ``(total, content,
    style, tv)``, each of shape (1,): the terms already weighted, ``total``
    their sum. ``style_grams[i]`` is the target Gram matrix of
    ``style_layers[i]`` (batch 1 broadcasts), ``content_targets[j]`` the
    target features of ``content_layers[j]``.

    Parameters
    ----------
    taps : features.VGGTaps
        Must return ``style_layers + content_layers`` in that order.
    style_weights, content_weights : sequence of float
        One weight per layer.
    tv_weight : float
    style_channels : sequence of int, optional
        The style layers' channel counts, for a loss of ONE image at a time (optimization
        mode): the Gram matrices are then the faster product of :func:`gram`.
    """

    def __init__(self, taps, style_layers, content_layers, *, style_weights,
                 content_weights, tv_weight, style_channels=None, **kwargs):
        super().__init__(**kwargs)
        self.style_channels = (list(style_channels) if style_channels
                               else [None] * len(style_layers))
        if tuple(taps.layers) != tuple(style_layers) + tuple(content_layers):
            raise ValueError("taps must return the style layers, then the content layers")
        self.n_style = len(style_layers)
        self.n_content = len(content_layers)
        self.style_weights = check_weights("style weights", style_weights, self.n_style)
        self.content_weights = check_weights("content weights", content_weights, self.n_content)
        self.tv_weight = check_weights("tv weight", [tv_weight], 1)[0]
        with self.name_scope():
            self.taps = taps

    def hybrid_forward(self, F, x, *targets):
        feats = self.taps(x)
        style, contents = self._style_term(F, feats[: self.n_style], targets)
        content = sum(w * content_loss(F, f, t)
                      for w, f, t in zip(self.content_weights, feats[self.n_style:], contents))
        tv = self.tv_weight * tv_loss(F, x)
        # no style or content layers: the sum is the Python int 0, make it an array
        style = style if not isinstance(style, int) else tv * 0
        content = content if not isinstance(content, int) else tv * 0
        total = content + style + tv
        return (F.reshape(total, shape=(1,)), F.reshape(content, shape=(1,)),
                F.reshape(style, shape=(1,)), F.reshape(tv, shape=(1,)))

    def _style_term(self, F, feats, targets):
        """The weighted style loss, and the targets left (the content ones)."""
        grams = targets[: self.n_style]
        return (sum(w * style_loss(F, f, g, c) for w, f, g, c in zip(
                    self.style_weights, feats, grams, self.style_channels)),
                targets[self.n_style:])


class RegionLoss(PerceptualLoss):
    """:class:`PerceptualLoss` with one style per region of the image.

    ``loss(x, *grams, *masks, *content_targets)``: ``grams[r * L + i]`` is the
    target Gram matrix of region ``r`` at style layer ``i`` (of ``L``),
    ``masks[r * L + i]`` that region's mask (1, 1, H, W) at layer ``i``'s
    resolution. Region ``r``'s style term is weighted ``region_weights[r]``;
    `style_weights` has one weight per region and layer, in the order of `grams`
    (each region's target is normalized by itself).
    """

    def __init__(self, taps, style_layers, content_layers, *, region_weights, style_weights,
                 **kwargs):
        n, k = len(style_layers), len(region_weights)
        per_region = check_weights("style weights", style_weights, n * k)
        super().__init__(taps, style_layers, content_layers, style_weights=per_region[:n],
                         **kwargs)
        self.region_weights = check_weights("region weights", region_weights, k)
        self.style_weights = per_region

    def _style_term(self, F, feats, targets):
        n, k = self.n_style, len(self.region_weights)
        grams, masks = targets[:n * k], targets[n * k:2 * n * k]
        style = sum(rw * self.style_weights[r * n + i] * F.mean(F.square(F.broadcast_sub(
                        masked_gram(F, f, masks[r * n + i]), grams[r * n + i])))
                    for r, rw in enumerate(self.region_weights)
                    for i, f in enumerate(feats))
        return style, targets[2 * n * k:]
