"""Export: plain-MXNet symbol files and ONNX; the plain twin is the same model."""
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

from gluon_style.fast import export
from gluon_style import transfer
from gluon_style.nets.transformer import transformer_net


@pytest.fixture(scope="module")
def net():
    net = transformer_net("small")
    net.initialize(mx.init.Xavier())
    rs = np.random.RandomState(0)
    for name, p in net._collect_params_with_prefix().items():
        if name.endswith(("gamma", "beta", "bias")):  # not the trivial initial values
            p.set_data(mx.nd.array(rs.uniform(-0.5, 1.5, p.shape)))
    return net


def test_plain_twin_is_the_same_model(net):
    twin = export.plain_twin(net, "small")
    x = mx.nd.random.normal(shape=(2, 3, 29, 35))
    np.testing.assert_allclose(twin(x).asnumpy(), net(x).asnumpy(), rtol=1e-4, atol=1e-4)


def test_symbol_export_loads_in_plain_mxnet(net, tmp_path):
    sym, params = export.export_symbol(net, str(tmp_path / "style"))
    x = np.random.RandomState(1).randn(1, 3, 21, 26).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = ("import mxnet as mx, numpy as np, sys\n"
            "assert 'gluon_style' not in sys.modules\n"
            "net = mx.gluon.SymbolBlock.imports(%r, ['data'], %r)\n"
            "np.save(%r, net(mx.nd.array(np.load(%r))).asnumpy())\n"
            % (sym, params, str(tmp_path / "y.npy"), str(tmp_path / "x.npy")))
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120,
                   env=dict(os.environ, OMP_NUM_THREADS="1"))
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), net(mx.nd.array(x)).asnumpy(),
                               rtol=1e-4, atol=1e-4)


def _onnx_model(net, tmp_path):
    onnx = pytest.importorskip("onnx")
    path = export.export_onnx(net, "small", str(tmp_path / "style.onnx"))
    return onnx, onnx.load(path)


def test_onnx_export_is_valid_with_dynamic_shape(net, tmp_path):
    onnx, model = _onnx_model(net, tmp_path)
    onnx.checker.check_model(model)
    (inp,) = model.graph.input  # the weights are initializers, not inputs
    dims = inp.type.tensor_type.shape.dim
    assert inp.name == "data" and dims[1].dim_value == 3
    assert not dims[2].dim_value and not dims[3].dim_value  # height, width free
    ops = {n.op_type for n in model.graph.node}
    assert {"InstanceNormalization", "Resize", "Conv", "Pad"} <= ops


def test_onnx_output_matches_mxnet(net, tmp_path):
    """ONNX's reference evaluator on the file as written (its nearest Resize by
    whole factors computed by numpy: onnx's own code takes minutes)."""
    onnx, model = _onnx_model(net, tmp_path)
    from gluon_style.nets import onnx_weights
    ev = onnx_weights.reference_evaluator(model, opset=None)
    for shape in [(1, 3, 12, 14), (2, 3, 11, 13)]:
        x = np.random.RandomState(2).randn(*shape).astype(np.float32)
        got = ev.run(None, {"data": x})[0]
        np.testing.assert_allclose(got, net(mx.nd.array(x)).asnumpy(), rtol=1e-4, atol=1e-4)


def test_export_cli(net, tmp_path, capsys):
    net.save_parameters(str(tmp_path / "s.params"))
    code = transfer.main(["export", "--model", str(tmp_path / "s.params"), "--output",
                          str(tmp_path / "out")])
    assert code == 0
    assert (tmp_path / "out-symbol.json").exists() and (tmp_path / "out-0000.params").exists()
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")]  # no temp files left
