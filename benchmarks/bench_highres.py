"""High resolution in optimization mode: coarse to fine against direct, and memory.

Prints, for one content and style image:

* ``c2f``: the coarse-to-fine schedule (default 256 -> 512 -> 1024 px with
  150, 60, 30 iterations): wall time and the final loss;
* ``direct``: optimizing at the final size from the content image: the time
  and iterations it needs to reach the coarse-to-fine result's loss (or its
  loss when it stops at ``--direct-max`` iterations without reaching it);
* ``rss_S``: peak RSS of a few iterations at S x S (default 1024 and 2048),
  with the seconds per iteration.

"Final loss" is measured the same way for both: the total loss (content +
style + tv, the library's default weights) of the saved 8-bit result at the
final size, evaluated by a fresh loss network. Each measurement runs in its
own process, so the peak RSS is its own. Run it on an otherwise idle machine::

    python benchmarks/bench_highres.py --content photo.jpg --style painting.jpg

Needs no network: the loss network is ``--network`` (default ``auto``: the
model zoo's VGG19 when cached, else the offline VGG16).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _loss_of(picture, args, size):
    """The total loss of a PIL picture at `size` (a one-iteration run from it)."""
    from gluon_style.optimization import gatys
    run = gatys.stylize_steps(args.content, args.style, size=size, iterations=1, init=picture,
                              network=args.network, scales=1, **_preset(args))
    return next(iter(run)).losses["total"]


def _preset(args):
    """The preset's settings, less the schedule this benchmark sets itself."""
    from gluon_style.optimization import gatys
    return {k: v for k, v in gatys.PRESETS[args.preset].items()
            if k not in ("iterations", "scales", "init")}


def worker(args):
    from gluon_style.optimization import gatys
    out = {"phase": args.worker}
    t0 = time.perf_counter()
    if args.worker == "c2f":
        run = gatys.stylize_steps(args.content, args.style, size=args.sizes[-1],
                                  scales=args.sizes, iterations=args.iterations,
                                  network=args.network, **_preset(args))
        step = None
        for step in run:
            pass
        out["seconds"] = time.perf_counter() - t0
        out["final_loss"] = _loss_of(run.picture(step.image), args, args.sizes[-1])
    elif args.worker == "direct":
        size = args.sizes[-1]
        run = gatys.stylize_steps(args.content, args.style, size=size, iterations=args.direct_max,
                                  network=args.network, scales=1, **_preset(args))
        reached = step = None
        for step in run:
            if step.step % 10 == 0:  # progress, for a run that has to be stopped
                print("direct %d: loss %.4g, %.0f s" % (step.step, step.losses["total"],
                                                       time.perf_counter() - t0),
                      file=sys.stderr, flush=True)
            # a step's loss is that of the image before its update, in float: the first one
            # at or below the target is where the direct run has caught up
            if args.target is not None and step.losses["total"] <= args.target:
                reached = dict(iterations=step.step - 1, seconds=time.perf_counter() - t0,
                               loss=step.losses["total"])
                break
        out["seconds"] = time.perf_counter() - t0
        out["iterations"] = step.step
        out["reached"] = reached
        out["final_loss"] = _loss_of(run.picture(step.image), args, size)
    else:  # rss_S
        size = int(args.worker.split("_")[1])
        run = gatys.stylize_steps(args.content, args.style, size=size,
                                  iterations=args.rss_iterations, network=args.network, scales=1,
                                  **_preset(args))
        times = []
        for step in run:
            times.append(time.perf_counter())
        out["s_per_iteration"] = (times[-1] - times[0]) / max(len(times) - 1, 1)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out))


def _spawn(phase, args, target=None):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", phase, "--content", args.content,
           "--style", args.style, "--network", args.network, "--sizes", *map(str, args.sizes),
           "--iterations", *map(str, args.iterations), "--direct-max", str(args.direct_max),
           "--rss-iterations", str(args.rss_iterations), "--preset", args.preset]
    if target is not None:
        cmd += ["--target", repr(target)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, cwd=ROOT, check=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--content", required=True)
    p.add_argument("--style", required=True)
    p.add_argument("--network", default="auto")
    p.add_argument("--preset", default="default", help="gatys.PRESETS name (README: notes)")
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    p.add_argument("--iterations", type=int, nargs="+", default=[150, 60, 30])
    p.add_argument("--direct-max", type=int, default=200)
    p.add_argument("--rss", type=int, nargs="*", default=[1024, 2048])
    p.add_argument("--rss-iterations", type=int, default=3)
    p.add_argument("--target", type=float)
    p.add_argument("--c2f", type=float, nargs=3, metavar=("SECONDS", "LOSS", "RSS_MB"),
                   help="reuse a coarse-to-fine measurement of the same sitting")
    p.add_argument("--worker")
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    print("load average before: %.2f %.2f %.2f" % os.getloadavg())
    if args.c2f:  # measured before: seconds, final loss, peak RSS
        c2f = dict(seconds=args.c2f[0], final_loss=args.c2f[1], peak_rss_mb=args.c2f[2])
    else:
        c2f = _spawn("c2f", args)
    print("c2f    %s px, %s iterations: %.0f s, final loss %.4g, peak RSS %.0f MB"
          % ("/".join(map(str, args.sizes)), "/".join(map(str, args.iterations)),
             c2f["seconds"], c2f["final_loss"], c2f["peak_rss_mb"]), flush=True)
    direct = _spawn("direct", args, target=c2f["final_loss"])
    if direct["reached"]:
        r = direct["reached"]
        print("direct %d px: reached %.4g after %d iterations in %.0f s (%.2fx the c2f time), "
              "peak RSS %.0f MB" % (args.sizes[-1], r["loss"], r["iterations"], r["seconds"],
                                    r["seconds"] / c2f["seconds"], direct["peak_rss_mb"]))
    else:
        print("direct %d px: %d iterations in %.0f s (%.2fx the c2f time), final loss %.4g "
              "(c2f: %.4g, not reached), peak RSS %.0f MB"
              % (args.sizes[-1], direct["iterations"], direct["seconds"],
                 direct["seconds"] / c2f["seconds"], direct["final_loss"], c2f["final_loss"],
                 direct["peak_rss_mb"]))
    for size in args.rss:
        r = _spawn("rss_%d" % size, args)
        print("rss_%d: peak RSS %.0f MB, %.1f s/iteration" % (size, r["peak_rss_mb"],
                                                             r["s_per_iteration"]), flush=True)
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
