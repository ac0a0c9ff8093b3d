"""Constant folding of a traced inference graph: what depends on the parameters only
is computed once.

The Johnson transformer's inference graph builds some of its convolution kernels from
its parameters at every call (:func:`~gluon_style.nets.transformer.upsample_conv3`
sums the 3x3 taps into 2x2 phase kernels; the last conv's four phase
kernels are shifted copies of its 9x9 one); so does the multi-style network's, which
with a fixed style vector (:func:`gluon_style.fast.arbitrary.Conditioned`) also
computes the same scale and shift for each of its norms at every call. MXNet 1.9 has
no constant folding, so those slices, sums, pads and concatenations, and the layout
reorders of their results, run with every image. :func:`fold_constants` evaluates each
such sub-graph once and gives a :class:`mxnet.gluon.SymbolBlock` that takes the results
as parameters: the same outputs, bit for bit, without the per-call kernel building.

The folded copy holds the values the parameters had when it was made: fold again after
changing them (as for any converted copy, e.g. :func:`gluon_style.precision.to_bfloat16`).
"""
import json
import warnings

import mxnet as mx
from mxnet import gluon

#: name prefix of the parameters that hold folded values
FOLDED = "folded_"


def _constants(nodes, params):
    """Per node of the JSON graph: whether its value depends on `params` only."""
    const = []
    for n in nodes:
        if n["op"] == "null":
            const.append(n["name"] in params)
        else:
            const.append(all(const[i] for i, _, _ in n["inputs"]))
    return const


def _output_name(node, index, names):
    """The name of output `index` of `node` among the graph's internal `names`."""
    for name in ("%s_output%d" % (node["name"], index), "%s_output" % node["name"]):
        if name in names:
            return name
    raise ValueError("no output %d of node %s in the graph" % (index, node["name"]))


def fold_constants(block, ctx=None):
    """A :class:`~mxnet.gluon.SymbolBlock` computing what the hybridized `block`'s
    last traced graph computes (`block` must have run once, hybridized), with every
    sub-graph that depends on parameters only replaced by its value (parameters named
    ``folded_...``). Inputs: those of the trace, in order. Returns ``(folded, n)``, `n`
    the number of values folded (0: nothing to fold; `folded` is then an equivalent
    copy)."""
    if not getattr(block, "_cached_graph", None):
        raise ValueError("fold_constants needs a hybridized block that has run once")
    inputs, sym = block._cached_graph
    ctx = ctx or mx.cpu()
    params = {p.name: p for p in block.collect_params().values()}
    graph = json.loads(sym.tojson())
    nodes = graph["nodes"]
    const = _constants(nodes, params)

    # the folded values: outputs of constant operator nodes read by non-constant ones
    wanted = sorted({(i, o) for k, n in enumerate(nodes) if not const[k]
                     for i, o, _ in n["inputs"] if const[i] and nodes[i]["op"] != "null"})
    heads = {(i, o) for i, o, _ in graph["heads"]}
    if any(const[i] for i, _ in heads):
        raise ValueError("an output of the graph depends on the parameters only")
    internals = sym.get_internals()
    names = internals.list_outputs()
    values = {}
    if wanted:
        group = mx.sym.Group([internals[names.index(_output_name(nodes[i], o, names))]
                              for i, o in wanted])
        args = [params[n].data(ctx) for n in group.list_inputs()]
        outs = mx.nd.CachedOp(group)(*args)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        values = {(i, o): v for (i, o), v in zip(wanted, outs)}

    # the graph again, in order, without the constant operators: a variable stands
    # for each folded value, placed just before its first reader
    new_nodes, index, slot, folded = [], {}, {}, {}
    for k, n in enumerate(nodes):
        if const[k] and n["op"] != "null":
            continue
        ins = []
        for i, o, v in n["inputs"]:
            if (i, o) not in values:
                ins.append([index[i], o, v])
                continue
            if (i, o) not in slot:
                name = "%s%s_%d" % (FOLDED, nodes[i]["name"], o)
                slot[(i, o)] = len(new_nodes)
                new_nodes.append({"op": "null", "name": name, "inputs": []})
                folded[name] = values[(i, o)]
            ins.append([slot[(i, o)], 0, 0])
        index[k] = len(new_nodes)
        new_nodes.append(dict(n, inputs=ins))
    graph = {"nodes": new_nodes,
             "arg_nodes": [k for k, n in enumerate(new_nodes) if n["op"] == "null"],
             "heads": [[index[i], o, v] for i, o, v in graph["heads"]],
             "attrs": graph.get("attrs", {})}
    new_sym = mx.sym.load_json(json.dumps(graph))
    with warnings.catch_warnings():  # SymbolBlock warns that the inputs' types are open
        warnings.simplefilter("ignore")
        out = gluon.SymbolBlock(new_sym, [mx.sym.var(s.name) for s in inputs])
    for name, p in out.collect_params().items():
        p._load_init(folded[name] if name in folded else params[name].data(ctx), ctx)
    return out, len(folded)
