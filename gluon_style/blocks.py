"""Reusable Gluon blocks for your own networks and loops.

* :class:`VGGFeatures`: a frozen VGG from the store (:mod:`gluon_style.nets.store`),
  returning the layers you name (``relu2_2``, ``conv4_2``, ... see
  :func:`gluon_style.nets.features.layer_names`);
* :class:`VGGLoss`: the perceptual loss of Johnson, Alahi and Fei-Fei (2016),
  "Perceptual Losses for Real-Time Style Transfer and Super-Resolution" (ECCV)
  -- feature reconstruction at content layers, Gram-matrix style reconstruction
  at style layers (Gatys, Ecker and Bethge 2016), total variation -- as a
  ``gluon.loss.Loss`` to put on your network's output: ``loss(pred, label)`` is
  one value per sample, and its gradient flows to your network only (the VGG is
  frozen);
* :func:`load_multistyle_net`: the multi-style transformer
  (:class:`gluon_style.fast.multistyle.MultiStyleNet`, ``net(x, weights)``) and its
  style names, to paint frames in your own loop.

Inputs follow one of :data:`gluon_style.transforms.INPUTS` (default the
package's ImageNet-normalized tensors), converted inside the graph. Defaults
are the module constants below.
"""
import numpy as np
from mxnet import gluon

from .errors import Error
from .nets.features import JOHNSON_CONTENT_LAYERS
from .transforms import INPUT, _to_normalized, check_input_convention

__all__ = ["VGGFeatures", "VGGLoss", "load_multistyle_net", "blend", "NETWORK", "CONTENT_LAYERS",
           "STYLE_LAYERS", "TV_WEIGHT"]

#: the loss network (see :data:`gluon_style.nets.store.NETWORKS`): the model zoo's VGG19/VGG16 if
#: cached, else the offline VGG16
NETWORK = "auto"
#: :class:`VGGLoss`'s content layers: Johnson et al.'s super-resolution loss (relu2_2)
CONTENT_LAYERS = JOHNSON_CONTENT_LAYERS
#: :class:`VGGLoss`'s style layers: none (a pure feature-reconstruction loss)
STYLE_LAYERS = ()
#: :class:`VGGLoss`'s total-variation weight
TV_WEIGHT = 0.0


class VGGFeatures(gluon.HybridBlock):
    """A frozen VGG returning the named layers' features.

    ``feats(x)``: `x` an ``(N, 3, H, W)`` batch in the `input` convention; returns a
    tuple of NDArrays, one per layer of `layers` in that order (hybridized with one
    layer, Gluon returns the NDArray itself). Its parameters have ``grad_req``
    "null": a gradient flows through it to `x`, never into it.

    Parameters
    ----------
    layers : sequence of str
        Layer names (``conv1_1``, ``relu1_1``, ..., ``pool5``).
    network : str
        A name of :data:`gluon_style.nets.store.NETWORKS` (``"vgg16-random"`` needs no
        weights) or a ``.params`` file. Default :data:`NETWORK`.
    input : {"normalized", "unit", "pixels"}
        `x`'s convention (:data:`gluon_style.transforms.INPUTS`).
    pooling : {"max", "avg"}
    ctx : mxnet.Context, optional
    download : bool
        Whether ``"vgg19"``/``"vgg16"`` may be downloaded.
    """

    def __init__(self, layers, *, network=NETWORK, input=INPUT, pooling="max", ctx=None,
                 download=True, **kwargs):
        super().__init__(**kwargs)
        from .nets import store
        self.input = check_input_convention(input)
        extractor = store.load_extractor(network, list(layers), pooling=pooling, ctx=ctx,
                                         download=download, hybridize=False)
        self.source = extractor.source
        self.layers = tuple(extractor.layers)
        with self.name_scope():
            self.taps = extractor.taps

    def hybrid_forward(self, F, x):
        out = self.taps(_to_normalized(F, x, self.input))
        return tuple(out) if isinstance(out, (list, tuple)) else (out,)


def _per_sample_mean(F, x):
    return F.mean(x, axis=0, exclude=True)


def _gram(F, x):
    from .optimization.losses import gram
    return gram(F, x)


class VGGLoss(gluon.loss.Loss):
    """Perceptual loss (Johnson et al. 2016) of a prediction against a target image.

    ``loss(pred, label)`` returns one value per sample, ``(N,)``::

        sum_j content_weights[j] * mean((phi_j(pred) - phi_j(label))^2)
      + sum_i style_weights[i] * mean((G_i(pred) - G_i(target))^2)
      + tv_weight * tv(pred)

    with ``phi_j`` the VGG features at ``content_layers[j]``, ``G_i`` the Gram matrix
    (:func:`gluon_style.optimization.losses.gram`, divided by H*W) at ``style_layers[i]``, the
    style target the label itself or, given `style_image`, that image (its Gram
    matrices computed once), and ``tv`` the anisotropic L1 total variation
    (:func:`gluon_style.optimization.losses.tv_loss`, per sample). Means are per sample. The label
    gets no gradient, the VGG none either: only `pred`, hence your network.

    Parameters
    ----------
    content_layers, style_layers : sequence of str
        Defaults :data:`CONTENT_LAYERS`, :data:`STYLE_LAYERS`.
    content_weights, style_weights : sequence of float, optional
        One weight per layer (default: 1 each).
    tv_weight : float
        Default :data:`TV_WEIGHT`.
    style_image : PIL.Image.Image, optional
        A fixed style target (a painting), read at its own size.
    network, input, pooling, ctx, download :
        As :class:`VGGFeatures`; `pred` and `label` are in the `input` convention.
    weight : float, optional
        Gluon's global scalar weight of a loss.
    batch_axis : int
        Gluon's; 0.

    Examples
    --------
    >>> loss_fn = VGGLoss(network="vgg16-random", input="unit")   # doctest: +SKIP
    >>> with autograd.record():                                   # doctest: +SKIP
    ...     loss = loss_fn(my_net(low_res), high_res)
    >>> loss.backward()                                           # doctest: +SKIP
    """

    def __init__(self, content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS, *,
                 content_weights=None, style_weights=None, tv_weight=TV_WEIGHT, style_image=None,
                 network=NETWORK, input=INPUT, pooling="max", ctx=None, download=True,
                 weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        from .optimization.losses import check_weights
        self.content_layers, self.style_layers = tuple(content_layers), tuple(style_layers)
        if not self.content_layers and not self.style_layers:
            raise Error("VGGLoss needs at least one content or style layer")
        layers = self.style_layers + tuple(c for c in self.content_layers
                                           if c not in self.style_layers)
        self._at = {name: i for i, name in enumerate(layers)}
        n_c, n_s = len(self.content_layers), len(self.style_layers)
        self.content_weights = check_weights("content weights", content_weights or [1.0] * n_c,
                                             n_c)
        self.style_weights = check_weights("style weights", style_weights or [1.0] * n_s, n_s)
        self.tv_weight = check_weights("tv weight", [tv_weight], 1)[0]
        self.input = check_input_convention(input)
        with self.name_scope():
            self.features = VGGFeatures(layers, network=network, input=input, pooling=pooling,
                                        ctx=ctx, download=download, prefix="vgg_")
            self._fixed = style_image is not None and n_s > 0
            if self._fixed:
                grams = self._style_grams(style_image, ctx)
                self._gram_names = []
                for i, g in enumerate(grams):
                    name = "style_gram%d" % i
                    setattr(self, name, self.params.get_constant(name, g))
                    getattr(self, name).initialize(ctx=ctx)
                    self._gram_names.append(name)

    def _style_grams(self, img, ctx):
        import mxnet as mx

        from .io import images
        x = images.to_tensor(img, ctx=ctx or mx.cpu())
        from .transforms import _from_normalized
        feats = self.features(_from_normalized(mx.nd, x, self.input))
        return [_gram(mx.nd, feats[self._at[name]]).asnumpy() for name in self.style_layers]

    def hybrid_forward(self, F, pred, label, **grams):
        fp = self.features(pred)
        fl = [F.BlockGrad(f) for f in self.features(label)] if (
            self.content_layers or not self._fixed) else None
        total = None

        def add(term):
            nonlocal total
            total = term if total is None else total + term
        for name, w in zip(self.content_layers, self.content_weights):
            i = self._at[name]
            add(w * _per_sample_mean(F, F.square(fp[i] - fl[i])))
        for k, (name, w) in enumerate(zip(self.style_layers, self.style_weights)):
            i = self._at[name]
            target = grams[self._gram_names[k]] if self._fixed else _gram(F, fl[i])
            add(w * _per_sample_mean(F, F.square(F.broadcast_sub(_gram(F, fp[i]), target))))
        if self.tv_weight:
            dh = F.slice_axis(pred, axis=2, begin=1, end=None) - F.slice_axis(pred, axis=2,
                                                                                begin=0, end=-1)
            dw = F.slice_axis(pred, axis=3, begin=1, end=None) - F.slice_axis(pred, axis=3,
                                                                                begin=0, end=-1)
            add(self.tv_weight * 0.5 * (_per_sample_mean(F, F.abs(dh))
                                        + _per_sample_mean(F, F.abs(dw))))
        from mxnet.gluon.loss import _apply_weighting
        return _apply_weighting(F, total, self._weight, None)


def load_multistyle_net(network=None, *, ctx=None, table=None, names=None, transformer=None):
    """The multi-style transformer and its style names, to paint in your own loop.

    Returns ``(net, names)``: ``net(x, weights)`` paints ``x`` (the package's
    normalized ``(N, 3, H, W)`` tensor, H, W >= 5) with the blend ``weights`` ``(N,
    len(names))`` of the styles (normalized to sum to 1 per image), returning the
    same convention; frozen (``grad_req`` "null"). See
    :class:`gluon_style.fast.multistyle.MultiStyleNet`.

    Parameters
    ----------
    network : str, optional
        Any style of the multi-style network (default: the first one found).
    ctx : mxnet.Context, optional
    table, names, transformer : str, optional
        As :class:`gluon_style.transforms.Stylize`.
    """
    import mxnet as mx

    from .fast.multistyle import load_net
    from .transforms import _resolve_table
    if table is None:
        table, names = _resolve_table(network)
    elif names is None:
        from .fast import multistyle_names
        names = multistyle_names(table)
    net = load_net(table, transformer=transformer, ctx=ctx or mx.cpu())
    if net.n_styles != len(names):
        raise Error("style table %s has %d rows for %d styles" % (table, net.n_styles, len(names)))
    return net, list(names)


def blend(names, style, n=1):
    """``(n, len(names))`` float32 weights painting every image with `style` (a name or
    a blend, as :func:`gluon_style.fast.multistyle.weight_vector` takes)."""
    from .fast.multistyle import weight_vector
    return np.tile(weight_vector(style, list(names)).astype(np.float32), (n, 1))
