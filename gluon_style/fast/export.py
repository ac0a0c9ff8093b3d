"""Exporting a trained transformer: MXNet symbol files and ONNX.

:class:`PlainTransformerNet` is the fast-mode network written with MXNet's
standard operators only (InstanceNorm, UpSampling, Convolution, Pad): the
reference model that :class:`gluon_style.nets.transformer.TransformerNet` computes
faster with oneDNN-friendly rewrites, with the same parameters under the same
names. ONNX exports go through it, since ONNX has an operator for each of its
layers (InstanceNormalization, Resize, Conv, Pad). Magenta's arbitrary-style
transformer is exported likewise from its ``plain=True`` twin
(:func:`export_arbitrary_onnx`), with the style vector as a second input.
"""
import os

import mxnet as mx
import numpy as np
from mxnet import gluon

from ..errors import Error
from ..io.fileio import atomic_path
from ..nets.transformer import DEFAULT_OUTPUT, VARIANTS, map_output, reflect_pad

#: the opset of the newest operator translations in MXNet 1.9's ONNX exporter
MX_ONNX_OPSET = 13


class _PlainConv(gluon.HybridBlock):
    """[nearest-upsample x2,] reflect-pad, conv, [instance norm, ReLU]."""

    def __init__(self, cin, cout, k, stride=1, up=False, norm=True, relu=True, **kwargs):
        super().__init__(**kwargs)
        self._k, self._s, self._cout = k, stride, cout
        self._up, self._norm, self._relu = up, norm, relu
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(cout, cin, k, k))
            self.bias = self.params.get("bias", shape=(cout,))
            if norm:
                self.gamma = self.params.get("gamma", shape=(cout,))
                self.beta = self.params.get("beta", shape=(cout,))

    def hybrid_forward(self, F, x, weight, bias, gamma=None, beta=None):
        if self._up:
            x = F.UpSampling(x, scale=2, sample_type="nearest")
        y = F.Convolution(reflect_pad(F, x, self._k // 2, slices=False), weight, bias,
                          kernel=(self._k,) * 2, stride=(self._s,) * 2, num_filter=self._cout)
        if self._norm:
            y = F.InstanceNorm(y, gamma, beta, eps=1e-5)
        return F.relu(y) if self._relu else y


class _PlainResidual(gluon.HybridBlock):
    def __init__(self, c, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.conv1 = _PlainConv(c, c, 3)
            self.conv2 = _PlainConv(c, c, 3, relu=False)

    def hybrid_forward(self, F, x):
        return x + self.conv2(self.conv1(x))


class PlainTransformerNet(gluon.HybridBlock):
    """The transformer with standard operators (see the module docstring), at
    inference, with the output mapping `output`."""

    def __init__(self, variant="full", output=DEFAULT_OUTPUT, **kwargs):
        super().__init__(**kwargs)
        self.output = output
        if variant not in VARIANTS:
            raise Error("unknown transformer variant %r (valid: %s)"
                        % (variant, ", ".join(VARIANTS)))
        (c1, c2, c3), n_res = VARIANTS[variant]
        with self.name_scope():
            self.down1 = _PlainConv(3, c1, 9)
            self.down2 = _PlainConv(c1, c2, 3, stride=2)
            self.down3 = _PlainConv(c2, c3, 3, stride=2)
            self.res = gluon.nn.HybridSequential()
            self.res.add(*[_PlainResidual(c3) for _ in range(n_res)])
            self.up1 = _PlainConv(c3, c2, 3, up=True)
            self.up2 = _PlainConv(c2, c1, 3, up=True)
            self.out = _PlainConv(c1, 3, 9, norm=False, relu=False)

    def hybrid_forward(self, F, x):
        y = self.up2(self.up1(self.res(self.down3(self.down2(self.down1(x))))))
        return map_output(F, F.slice_like(self.out(y), x, axes=(2, 3)), self.output, True,
                          plain=True)


def plain_twin(net, variant):
    """A :class:`PlainTransformerNet` holding `net`'s parameters."""
    return _holding(PlainTransformerNet(variant, output=net.output), net,
                    "the %r transformer" % variant)


def _holding(twin, net, what):
    """`twin` (uninitialized) with copies of `net`'s parameters, on the CPU."""
    params = twin._collect_params_with_prefix()
    source = net._collect_params_with_prefix()
    if sorted(params) != sorted(source):
        raise Error("the network's parameters do not fit %s" % what)
    for name, p in params.items():
        p.initialize(init=mx.init.Constant(source[name].data().asnumpy()), ctx=mx.cpu())
    return twin


def export_symbol(net, prefix, shapes=((1, 3, 16, 16),)):
    """Write ``PREFIX-symbol.json`` and ``PREFIX-0000.params`` (plain MXNet loads
    them with ``gluon.SymbolBlock.imports``, input name ``data``, or ``data0``,
    ``data1``, ... for a net of several inputs, traced at `shapes`)."""
    from ..nets.transformer import NormAux
    net.hybridize()
    ctx = next(iter(net.collect_params().values())).list_ctx()[0]
    folder = os.path.dirname(os.path.abspath(prefix))
    if not os.path.isdir(folder):
        raise Error("export prefix %s: folder %s does not exist" % (prefix, folder))
    sym, params = prefix + "-symbol.json", prefix + "-0000.params"
    tmp_prefix = os.path.join(folder, ".%s.tmp-export" % os.path.basename(prefix))
    with NormAux.off(net):  # the graph that runs anywhere, in any mode
        net(*[mx.nd.zeros(shape, ctx=ctx) for shape in shapes])
        net.export(tmp_prefix)
    os.replace(tmp_prefix + "-symbol.json", sym)
    os.replace(tmp_prefix + "-0000.params", params)
    return sym, params


def _onnx_needed():
    try:
        import onnx  # noqa: F401  (mx.onnx needs it)
    except ImportError:
        raise Error("ONNX export needs the onnx package: pip install 'onnx==1.16.*'")


def export_onnx(net, variant, path):
    """Write the network as ONNX with dynamic batch, height and width.

    Exported from :func:`plain_twin`; input ``data`` (N, 3, H, W), normalized
    RGB like every gluon_style tensor; output the same.
    """
    _onnx_needed()
    return _write_onnx(plain_twin(net, variant), [(1, 3, 64, 64)], [(None, 3, None, None)],
                       ["data"], path)


def export_arbitrary_onnx(transformer, predictor, path):
    """Write Magenta's two networks as ONNX, with dynamic batch, height and width.

    `path`: the transformer, inputs ``data`` (N, 3, H, W) and ``style`` (N,
    :data:`~gluon_style.nets.magenta.STYLE_DIM`), the style vector as an input;
    output (N, 3, H, W). Its ``-predictor`` twin (``x.onnx`` ->
    ``x-predictor.onnx``): input ``data`` (a painting, N, 3, H, W), output
    the style vectors (N, STYLE_DIM). Tensors are normalized RGB like every
    gluon_style tensor. The transformer is written from its ``plain=True``
    twin (standard operators); returns both paths.
    """
    from ..nets.magenta import STYLE_DIM, StylePredictor, StyleTransformer
    _onnx_needed()
    root, ext = os.path.splitext(path)
    pred_path = root + "-predictor" + (ext or ".onnx")
    _write_onnx(_holding(StyleTransformer(plain=True), transformer, "Magenta's transformer"),
                [(1, 3, 64, 64), (1, STYLE_DIM)], [(None, 3, None, None), (None, STYLE_DIM)],
                ["data", "style"], path)
    _write_onnx(_holding(StylePredictor(), predictor, "Magenta's style predictor"),
                [(1, 3, 64, 64)], [(None, 3, None, None)], ["data"], pred_path)
    return path, pred_path


def multistyle_twin(net, plain=False):
    """A fresh :class:`~gluon_style.fast.multistyle.MultiStyleNet` (standard operators
    with `plain`) holding `net`'s table and transformer, on the CPU."""
    from .multistyle import MultiStyleNet
    return _holding(MultiStyleNet(net.n_styles, plain=plain), net, "the multi-style network")


def export_multistyle_symbol(net, prefix):
    """The multi-style network as symbol files: inputs ``data0`` (N, 3, H, W)
    and ``data1`` the (N, S) style weights (see :func:`export_symbol`)."""
    return export_symbol(multistyle_twin(net), prefix,
                         shapes=((1, 3, 16, 16), (1, net.n_styles)))


def export_multistyle_onnx(net, path):
    """Write the multi-style network as ONNX, dynamic batch, height and width.

    Inputs ``data`` (N, 3, H, W), normalized RGB, and ``weights`` (N, S): one
    weight per style of the table (row order: the manifest's ``row``), >= 0,
    normalized to sum to 1 inside the graph. Output (N, 3, H, W). Written from
    the ``plain=True`` twin (standard operators).
    """
    _onnx_needed()
    s = net.n_styles
    return _write_onnx(multistyle_twin(net, plain=True), [(1, 3, 64, 64), (1, s)],
                       [(None, 3, None, None), (None, s)], ["data", "weights"], path)


def _write_onnx(net, shapes, dynamic_shapes, names, path):
    """Trace `net` (on the CPU) at `shapes`, export it through MXNet's symbol
    files, tidy it (:func:`_mend_onnx`) and name its inputs `names`."""
    net.hybridize()
    net(*[mx.nd.zeros(s) for s in shapes])
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise Error("ONNX file %s: folder %s does not exist" % (path, folder))
    prefix = os.path.join(folder, ".%s.tmp-sym" % os.path.basename(path))
    net.export(prefix)
    try:
        sym, arg, aux = mx.model.load_checkpoint(prefix, 0)
        with atomic_path(path, role="ONNX file") as tmp:
            mx.onnx.export_model(sym, {**arg, **aux}, in_shapes=list(shapes),
                                 in_types=[np.float32] * len(shapes), onnx_file_path=tmp,
                                 dynamic=True, dynamic_input_shapes=list(dynamic_shapes))
            _mend_onnx(tmp, names)
    finally:
        for f in (prefix + "-symbol.json", prefix + "-0000.params"):
            if os.path.exists(f):
                os.remove(f)
    return path


def _mend_onnx(path, names):
    """Tidy what mx.onnx writes: it labels the model with the newest opset of
    the installed onnx (21 for onnx 1.16) although it writes every node as
    opset 13 or older defines it (a ``Split`` without the ``num_outputs`` that
    opset 18 requires, which ONNX Runtime refuses to load), so the label is
    set to :data:`MX_ONNX_OPSET`; its Resize nodes get an empty ``roi``
    tensor, which ONNX's reference evaluator (and the spec, for nearest mode)
    wants left out (and is then removed, with any other unused constant); and
    the weights are listed as graph inputs as well as initializers, which would
    let a runtime override them. The inputs are renamed `names` (MXNet calls
    several ``data0``, ``data1``, ...)."""
    import onnx
    model = onnx.load(path)
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            opset.version = MX_ONNX_OPSET
    graph = model.graph
    init = {t.name: t for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Resize" and len(node.input) > 1 and node.input[1] in init:
            if not onnx.numpy_helper.to_array(init[node.input[1]]).size:
                node.input[1] = ""
    used = {name for node in graph.node for name in node.input}
    unused = [t for t in graph.initializer if t.name not in used]  # the emptied roi, ...
    for t in unused:
        graph.initializer.remove(t)
    keep = [i for i in graph.input if i.name not in init]
    del graph.input[:]
    graph.input.extend(keep)
    rename = {i.name: new for i, new in zip(graph.input, names)}
    for i in graph.input:
        i.name = rename[i.name]
    for node in graph.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
    onnx.checker.check_model(model, full_check=True)  # with shape inference at that opset
    onnx.save(model, path)
