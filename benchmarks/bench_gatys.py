"""Milliseconds per optimization step (forward + backward to the image + update).

Runs the package's own path -- gatys.LossProblem (VGG taps and every loss in one
hybridized block) driven by optimizer.optimize -- on random images, with random
VGG weights of the real architecture (speed does not depend on the values).
Each configuration runs in a fresh process so its peak RSS is its own.

    python benchmarks/bench_gatys.py [--sizes 256 512] [--networks vgg19 vgg16]
        [--precision float32 bfloat16]

``--precision``: the loss network's convolutions in float32 and/or bfloat16 (as
``optimize --precision`` runs them: Gram matrices and losses in float32).

Compare with PyTorch in the same sitting (see ../shared/bench/pt_bench.py):
    /tmp/ptv/bin/python ../shared/bench/pt_bench.py --only gatys
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def child(network, size, reps, method, precision="float32"):
    import gluon_style  # noqa: F401  (threads)
    import mxnet as mx

    from gluon_style.optimization import gatys, optimizer
    from gluon_style.nets import store

    ctx = mx.cpu()
    mx.random.seed(0)
    content = mx.nd.random.normal(shape=(1, 3, size, size), ctx=ctx)
    style = mx.nd.random.normal(shape=(1, 3, size, size), ctx=ctx)
    t0 = time.perf_counter()
    problem = gatys.LossProblem(content, style, network=store.resolve(network + "-random"),
                                style_layers=None, content_layers=None, style_weight=1e4,
                                content_weight=1.0, tv_weight=10.0, pooling="max", ctx=ctx,
                                precision=precision)
    setup = time.perf_counter() - t0
    steps = optimizer.optimize(problem, content.copy(), iterations=reps + 2, method=method)
    times, last = [], time.perf_counter()
    for step in steps:  # each step syncs (the losses are read back)
        now = time.perf_counter()
        times.append(now - last)
        last = now
    times = times[2:]  # warm-up: graph building and first allocation
    return {"network": network, "size": size, "method": method, "precision": precision,
            "setup_s": setup,
            "median_ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times),
            "reps": len(times),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "omp_threads": os.environ.get("OMP_NUM_THREADS")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--networks", nargs="+", default=["vgg19", "vgg16"], choices=["vgg19", "vgg16"])
    ap.add_argument("--method", default="gd", choices=["gd", "adam", "lbfgs"])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="3 reps, 256 only")
    ap.add_argument("--precision", nargs="+", default=["float32"],
                    choices=["float32", "bfloat16"])
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        net, size, reps, method, prec = args.child
        print(json.dumps(child(net, int(size), int(reps), method, prec)))
        return
    if args.quick:
        args.sizes, args.reps = [256], 3
    print("%-7s %6s %-9s %10s %10s %9s %8s"
          % ("network", "size", "precision", "median ms", "min ms", "setup s", "peak MB"))
    results = []
    for net in args.networks:
        for size in args.sizes:
            for prec in args.precision:  # in turns: a busy neighbour slows both alike
                out = subprocess.run([sys.executable, __file__, "--child", net, str(size),
                                      str(args.reps), args.method, prec],
                                     capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                results.append(r)
                print("%-7s %6d %-9s %10.1f %10.1f %9.2f %8.0f"
                      % (net, size, prec, r["median_ms"], r["min_ms"], r["setup_s"],
                         r["peak_rss_mb"]), flush=True)
    print("OMP_NUM_THREADS=%s, method %s, %d timed steps each"
          % (results[0]["omp_threads"], args.method, args.reps))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
