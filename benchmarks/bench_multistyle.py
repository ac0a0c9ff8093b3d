"""Speed: a multi-style forward pass beside a single-style Johnson network's.

    python benchmarks/bench_multistyle.py [--sizes 256 512] [--runs 10] [--batch 1]

At each size (a square image of that side), times in turns, so a busy machine
slows them alike: the single-style Johnson network (``full`` variant, as
as ``train`` makes it, random weights: the speed is the same), the multi-style network
painting one style and a blend (``fast --model NAME`` / ``--style-weights``:
the shared transformer with the blended vector fixed) and the multi-style
network with the weights as an input (what is exported); the single-style and the
one-style networks also with their norms as matrix products ("matrix norms", what
batches of several images and exports run) beside the one-image batch-norm
formulation that runs by default (:class:`gluon_style.nets.transformer.NormAux`).
Prints the median seconds per forward pass of each (after a warm-up) and the
ratio to the single-style network; ``--json FILE`` writes them. The PyTorch
reference of the Johnson network is ``../shared/bench/pt_bench.py``.
"""
import argparse
import json
import time

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
import mxnet as mx
import numpy as np

from gluon_style import fast
from gluon_style.nets.transformer import transformer_net


def johnson(ctx):
    net = transformer_net("full")
    net.initialize(mx.init.Xavier(), ctx=ctx)
    net.hybridize(static_alloc=True)
    return net


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--json", help="also write the medians here")
    args = p.parse_args(argv)
    ctx = mx.cpu()
    ms = fast.load_multistyle(ctx=ctx)
    one = ms.style({ms.names[0]: 1.0}).net
    one_fc = ms.style({ms.names[0]: 1.0}).net
    one_fc.batch_norms = False
    jn = johnson(ctx)
    jn_fc = johnson(ctx)
    jn_fc.batch_norms = False
    jn_fc(mx.nd.zeros((1, 3, 16, 16), ctx=ctx))
    for name, param in jn_fc.collect_params().items():
        param.set_data(jn.collect_params()[name.replace(jn_fc.prefix, jn.prefix)].data())
    names = ms.names[:2]
    blend = ms.style({names[0]: 0.5, names[1]: 0.5}).net
    net = ms.net
    w = {args.batch: mx.nd.array(np.tile(np.eye(ms.net.n_styles)[:1], (args.batch, 1)), ctx=ctx)}
    nets = {"johnson (single style)": jn,
            "johnson, matrix norms": jn_fc,
            "multi-style, one style": one,
            "multi-style, matrix norms": one_fc,
            "multi-style, blend": blend,
            "multi-style, weights input": lambda x: net(x, w[x.shape[0]])}
    print("%-28s %6s %10s %8s" % ("network", "size", "s/forward", "ratio"))
    results = []
    for size in args.sizes:
        x = mx.nd.array(np.random.default_rng(0).standard_normal(
            (args.batch, 3, size, size)).astype(np.float32) * 0.5, ctx=ctx)
        times = {k: [] for k in nets}
        for k, f in nets.items():  # warm-up (traces, allocations)
            f(x).wait_to_read()
        for _ in range(args.runs):
            for k, f in nets.items():
                t0 = time.perf_counter()
                f(x).wait_to_read()
                times[k].append(time.perf_counter() - t0)
        base = np.median(times["johnson (single style)"])
        for k, t in times.items():
            print("%-28s %6d %10.4f %8.2f" % (k, size, np.median(t), np.median(t) / base))
            results.append({"network": k, "size": size, "batch": args.batch,
                            "median_s": float(np.median(t)), "min_s": float(np.min(t))})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
