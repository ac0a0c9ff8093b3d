"""Constant folding of traced graphs (gluon_style.nets.folding) and its use at inference."""
import json

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from gluon_style import precision
from gluon_style.errors import Error
from gluon_style.nets.folding import FOLDED, fold_constants
from gluon_style.nets.transformer import NormAux, transformer_net


def _operators_on_parameters(block):
    """Operator nodes of `block`'s traced graph whose inputs are all parameters."""
    names = {p.name for p in block.collect_params().values()}
    nodes = json.loads(block._cached_graph[1].tojson())["nodes"]
    const, found = [], []
    for n in nodes:
        c = n["name"] in names if n["op"] == "null" else all(const[i] for i, _, _ in n["inputs"])
        const.append(c)
        if c and n["op"] != "null":
            found.append(n["name"])
    return found


def _net(variant="small", seed=0):
    mx.random.seed(seed)
    net = transformer_net(variant)
    net.initialize(mx.init.Xavier())
    net.hybridize(static_alloc=True)
    return net


@pytest.mark.parametrize("shape", [(1, 3, 40, 48), (2, 3, 24, 20)])
def test_a_folded_transformer_gives_the_same_output_without_kernel_building(shape):
    net = _net()
    x = mx.nd.random.uniform(-2, 2, shape=shape)
    bn = NormAux.wanted(net, x, True)
    ref = net(x)
    assert _operators_on_parameters(net)  # the upsampling and last kernels are built
    folded, n = fold_constants(net)
    folded.hybridize(static_alloc=True)
    out = NormAux.call(folded, net, bn, x)
    assert np.array_equal(out.asnumpy(), ref.asnumpy())
    assert n > 0 and _operators_on_parameters(folded) == []
    names = list(folded.collect_params().keys())
    assert sum(name.startswith(FOLDED) for name in names) == n
    # the 3x3 weights the 2x2 phase kernels were built from are gone from the folded graph
    assert not any(name.endswith("up1_weight") for name in names)


def test_a_graph_without_constants_is_copied_and_multi_output_values_fold():
    class Split(gluon.HybridBlock):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.w = self.params.get("w", shape=(4,), init=mx.init.Constant(
                mx.nd.array([1, 2, 3, 4])))

        def hybrid_forward(self, F, x, w):
            a, b = F.split(w * 2, num_outputs=2, axis=0)  # one node, two folded outputs
            return F.broadcast_add(F.broadcast_mul(x, a), b)

    class Plain(gluon.HybridBlock):
        def hybrid_forward(self, F, x):
            return F.relu(x) * 3

    x = mx.nd.array([[1.0, -1.0]])
    for block, want, folds in ((Split(), [[2 * 1 + 6, -2 * 2 + 8]], 2), (Plain(), [[3, 0]], 0)):
        block.initialize()
        block.hybridize()
        block(x)
        folded, n = fold_constants(block)
        assert n == folds
        assert np.array_equal(folded(x).asnumpy(), np.array(want, np.float32))


def test_folding_needs_a_traced_graph_whose_outputs_depend_on_the_input():
    net = transformer_net("small")
    net.initialize()
    with pytest.raises(ValueError, match="has run once"):
        fold_constants(net)

    class Constant(gluon.HybridBlock):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.w = self.params.get("w", shape=(2,), init="ones")

        def hybrid_forward(self, F, x, w):
            return x + 1, w * 2

    block = Constant()
    block.initialize()
    block.hybridize()
    block(mx.nd.ones((2,)))
    with pytest.raises(ValueError, match="parameters only"):
        fold_constants(block)


def test_float32_inference_runs_the_folded_copy_and_still_checks_its_input():
    net = _net("full", seed=1)
    run = precision.Precise(net, "float32")
    x = mx.nd.random.uniform(-2, 2, shape=(1, 3, 36, 44))
    out = run(x)
    assert np.array_equal(out.asnumpy(), net(x).asnumpy())
    (traced,) = run._traced.values()
    assert isinstance(traced.block, gluon.SymbolBlock) and traced.bn
    assert _operators_on_parameters(traced.block) == []
    assert run(mx.nd.random.uniform(shape=(1, 3, 20, 30))).shape == (1, 3, 20, 30)
    assert len(run._traced) == 1  # another size: the same traced copy
    with pytest.raises(Error, match="at least"):
        run(mx.nd.zeros((1, 3, 4, 16)))


@pytest.mark.skipif(not precision.has_bf16(), reason="this CPU has no bfloat16 instructions")
def test_the_bfloat16_copy_is_converted_from_the_folded_graph():
    net = _net("small", seed=2)
    x = mx.nd.random.uniform(-2, 2, shape=(1, 3, 32, 40))
    low = precision.to_bfloat16(net, x)
    names = list(low.block.collect_params().keys())
    assert any(name.startswith(FOLDED) for name in names)  # the phase kernels, computed once
    assert _operators_on_parameters(low.block) == []
    assert low(x).shape == x.shape
