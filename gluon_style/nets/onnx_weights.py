"""Reading the weights of a quantized ONNX graph, and its float twin.

The TF Lite int8 models that tf2onnx converts keep every weight as an int8 (or
int32, for biases) initializer behind a ``DequantizeLinear`` node, and every
activation between a ``QuantizeLinear``/``DequantizeLinear`` pair (the "fake
quantization" that rounds it to 256 levels). :func:`conv_weights` returns each
convolution's dequantized weight and bias, ``(q - zero_point) * scale`` per
output channel, in float32; :func:`float_model` is the same graph with the
activations left in float, which is what the Gluon networks compute.

The ``onnx`` package is imported only here, by the one-time conversion and the
tests; running the converted networks never needs it.
"""
import numpy as np

from ..errors import Error


def _onnx():
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise Error("the one-time weight conversion reads ONNX files with the onnx package: "
                    "pip install onnx==1.16.2") from None
    return onnx, numpy_helper


def load_model(path, role="ONNX file"):
    """The ``onnx.ModelProto`` in `path`; an unreadable file is a one-line :class:`Error`."""
    onnx, _ = _onnx()
    try:
        return onnx.load(path)
    except FileNotFoundError:
        raise Error("%s %s: no such file" % (role, path)) from None
    except Exception as e:  # protobuf's DecodeError and friends: not an ONNX file
        raise Error("%s %s: not an ONNX model (%s)" % (role, path, type(e).__name__)) from None


def dequantize(q, scale, zero_point, axis=1):
    """``(q - zero_point) * scale`` in float32, per `axis` when `scale` is a vector
    (the semantics of ONNX ``DequantizeLinear``)."""
    q = np.asarray(q)
    scale, zero_point = np.asarray(scale, np.float64), np.asarray(zero_point, np.float64)
    if scale.ndim == 1 and q.ndim > 0:
        shape = [1] * q.ndim
        shape[axis if axis >= 0 else q.ndim + axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return ((q.astype(np.float64) - zero_point) * scale).astype(np.float32)


def constants(model):
    """``{tensor name: float32 array}``: every initializer, and every
    ``DequantizeLinear`` output computed from initializers alone."""
    _, numpy_helper = _onnx()
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and all(i in values for i in node.input[:2]):
            zp = values[node.input[2]] if len(node.input) > 2 and node.input[2] else 0
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            values[node.output[0]] = dequantize(values[node.input[0]], values[node.input[1]],
                                                zp, axis)
    return values


def conv_weights(model, path="ONNX file"):
    """``{Conv node name: (weight, bias)}``, float32, for every ``Conv`` of `model`
    whose weight and bias are constants (bias zeros when the node has none)."""
    values = constants(model)
    convs = {}
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        if node.input[1] not in values:
            raise Error("%s: conv %s has a weight computed at run time" % (path, node.name))
        w = values[node.input[1]].astype(np.float32)
        b = (values[node.input[2]].astype(np.float32) if len(node.input) > 2 and node.input[2]
             else np.zeros(w.shape[0], np.float32))
        convs[node.name] = (w, b)
    return convs


def find_scope(convs, scope, path="ONNX file"):
    """The (weight, bias) of the one conv whose node name is under `scope` + ``/``."""
    hits = [name for name in convs if name.startswith(scope + "/")]
    if len(hits) != 1:
        raise Error("%s: %s conv named %s/... (not the expected network)"
                    % (path, "no" if not hits else "more than one", scope))
    return convs[hits[0]]


def float_model(model):
    """A copy of `model` without the activations' fake quantization.

    Every ``QuantizeLinear`` of an activation is dropped, the ``Reshape`` and
    ``Transpose`` nodes that moved its int8 result are applied to the float
    value instead, and each ``DequantizeLinear`` of it becomes an ``Identity``
    of that float value. Weights stay as they are (int8, dequantized by their
    own nodes), so the result computes in float32 exactly what the converted
    Gluon networks compute.
    """
    onnx, _ = _onnx()
    inits = {t.name for t in model.graph.initializer}
    floats = {}  # int8 activation tensor -> its float twin
    nodes = []
    for node in model.graph.node:
        if node.op_type == "QuantizeLinear" and node.input[0] not in inits:
            floats[node.output[0]] = node.input[0]
            continue
        if node.op_type in ("Reshape", "Transpose") and node.input[0] in floats:
            new = onnx.NodeProto()
            new.CopyFrom(node)
            new.input[0] = floats[node.input[0]]
            new.output[0] = node.output[0] + "__float"
            floats[node.output[0]] = new.output[0]
            nodes.append(new)
            continue
        if node.op_type == "DequantizeLinear" and node.input[0] in floats:
            nodes.append(onnx.helper.make_node("Identity", [floats[node.input[0]]],
                                               [node.output[0]], name=node.name))
            continue
        nodes.append(node)
    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.node[:]
    out.graph.node.extend(nodes)
    for o in out.graph.output:  # an output that was int8 is now its float twin
        if o.name in floats:
            o.name = floats[o.name]
    return out


def for_reference_evaluator(model, opset=19):
    """A copy of `model` that onnx 1.14-1.16's ``ReferenceEvaluator`` runs as written.

    Two changes that leave the result the same: the default opset is raised to
    `opset` (None: left as it is; the evaluator has
    ``DequantizeLinear``/``QuantizeLinear`` kernels for opset 19 and later
    only; for int8 they are unchanged since opset 13), and an empty ``roi``
    input of ``Resize`` (used by no mode but tf_crop_and_resize) is left out,
    which the evaluator's Resize requires.
    """
    _onnx()
    empty = {t.name for t in model.graph.initializer if 0 in t.dims}  # no weight decoded
    out = type(model)()
    out.CopyFrom(model)
    for o in out.opset_import:
        if opset and o.domain in ("", "ai.onnx"):
            o.version = max(o.version, opset)
    for node in out.graph.node:
        if node.op_type == "Resize" and len(node.input) > 1 and node.input[1] in empty:
            node.input[1] = ""
    return out


def _whole_factor_nearest(scales, ndim, attrs):
    """Whether a ``Resize`` is nearest-neighbour upsampling by whole factors
    that maps output pixel ``i`` to input pixel ``i // scale``: with
    "asymmetric" coordinates and "floor" rounding (tf2onnx's), or with
    "half_pixel" and either round-to-nearest mode (mx.onnx's; ONNX's defaults),
    since ``(i + 0.5) / s - 0.5`` is then within 0.5 of ``i // s``."""
    if (scales is None or len(scales) != ndim or attrs.get("mode") != "nearest"
            or attrs.get("antialias") or attrs.get("axes") is not None):
        return False
    scales = np.asarray(scales)
    if not (np.all(scales == np.round(scales)) and np.all(scales >= 1)):
        return False
    coords = attrs.get("coordinate_transformation_mode") or "half_pixel"
    rounding = attrs.get("nearest_mode") or "round_prefer_floor"
    return ((coords, rounding) == ("asymmetric", "floor")
            or (coords == "half_pixel" and rounding in ("round_prefer_floor", "round_prefer_ceil")))


def _fast_resize_class():
    """onnx's reference ``Resize`` with a numpy fast path for nearest-neighbour
    upsampling by whole factors (:func:`_whole_factor_nearest`), which its
    general code computes per element in Python (minutes for a 64x64 image).
    Anything else goes to onnx's code."""
    from onnx.reference.ops.op_resize import Resize as _Resize

    class Resize(_Resize):
        def _run(self, X, roi, scales=None, sizes=None, **attrs):
            if _whole_factor_nearest(scales, X.ndim, attrs):
                for axis, s in enumerate(np.asarray(scales, int)):
                    X = np.repeat(X, s, axis=axis) if s > 1 else X
                return (X,)
            return super()._run(X, roi, scales, sizes, **attrs)
    return Resize


def reference_evaluator(model, fast_resize=True, opset=19):
    """onnx's ``ReferenceEvaluator`` on :func:`for_reference_evaluator` (`model`,
    `opset`; None: the model's own), with the whole-factor nearest ``Resize``
    computed by numpy when `fast_resize`."""
    _onnx()
    from onnx.reference import ReferenceEvaluator
    return ReferenceEvaluator(for_reference_evaluator(model, opset),
                              new_ops=[_fast_resize_class()] if fast_resize else None)
