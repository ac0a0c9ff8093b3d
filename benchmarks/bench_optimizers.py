"""Time to quality of the optimizers: gd (the Gluon notes' normalized descent), Adam, L-BFGS.

    python benchmarks/bench_optimizers.py PHOTO PAINTING [--size 512] [--iterations 150]
        [--methods gd adam lbfgs] [--json out.json] [--plot curves.png]

Each method runs at one scale (so the curves compare the methods, not the
coarse-to-fine schedule) with every other setting at the library's defaults,
for the same number of iterations (gd's learning rate decays at 40% and 80% of
them), on the real loss network. It prints, per method:
iterations done, seconds per iteration, the final loss, the largest rise of the
loss between two iterations, and the seconds it took to come within 10% and 2%
of the lowest loss any method reached.
"""
import argparse
import json
import sys
import time

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
from gluon_style.optimization import gatys, optimizer


def run(photo, painting, method, size, iterations):
    steps = gatys.stylize_steps(photo, painting, size=size, scales=1, iterations=iterations,
                                method=method, seed=0)
    curve, t0 = [], time.perf_counter()
    for step in steps:
        curve.append((time.perf_counter() - t0, step.losses["total"]))
    return curve


def time_to(curve, level):
    return next((t for t, v in curve if v <= level), float("nan"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("photo")
    p.add_argument("painting")
    p.add_argument("--size", type=int, default=gatys.stylize_steps.__kwdefaults__["size"])
    p.add_argument("--iterations", type=int, default=150, help="per method")
    p.add_argument("--methods", nargs="+", default=list(optimizer.METHODS),
                   choices=optimizer.METHODS)
    p.add_argument("--json")
    p.add_argument("--plot", help="loss against time, one curve per method")
    args = p.parse_args(argv)
    curves = {m: run(args.photo, args.painting, m, args.size, args.iterations)
              for m in args.methods}
    best = min(v for c in curves.values() for _, v in c)
    print("size %d, %d iterations per method; lowest loss %.4g"
          % (args.size, args.iterations, best))
    print("%-6s %6s %8s %10s %9s %9s %9s" % ("method", "iters", "s/iter", "final", "max rise",
                                              "to +10%", "to +2%"))
    for m, c in curves.items():
        vals = [v for _, v in c]
        rise = max([b / a - 1 for a, b in zip(vals, vals[1:])] + [0.0])
        print("%-6s %6d %8.3f %10.4g %8.1f%% %8.1fs %8.1fs"
              % (m, len(c), c[-1][0] / len(c), vals[-1], 100 * rise, time_to(c, 1.1 * best),
                 time_to(c, 1.02 * best)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(size=args.size, curves=curves), f)
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4))
        for m, c in curves.items():
            ax.plot([t for t, _ in c], [v for _, v in c], label=m)
        ax.set(xlabel="seconds", ylabel="total loss", yscale="log",
               title="%s px, default weights" % args.size)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
