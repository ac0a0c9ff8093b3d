"""Quality per CPU-hour of training runs made by ``bench_train.py``: a table and plots.

    python benchmarks/bench_recipe.py RUN_DIR ... --photos A.jpg B.jpg ... --painting P.jpg
        [--size 384] [--every 100] [--csv recipe.csv] [--plot recipe.png]

Every snapshot ``RUN_DIR/step_NNNNN.params`` whose step is a multiple of
``--every`` (and each run's last) stylizes the held-out photos at ``--size``
and is scored as in ``bench_blots.py``: style, colour and structure
(:mod:`gluon_style.quality`), black and halo. The cost of a snapshot is the CPU
time of its run up to that step (``run.json``; core-seconds, whatever else ran
beside it; ``--after RUN:BASE``: RUN started from BASE's last snapshot, and its
steps and cost count on from there). Rows already in ``--csv`` are not measured
again, so the table can be brought up to date while runs go on. ``--plot`` draws style progress,
structure, black and flat shares against CPU-hours, one line per run.
"""
import argparse
import csv
import glob
import json
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_blots  # noqa: E402
from gluon_style import quality  # noqa: E402

FIELDS = ("run", "step", "cpu_hours", "wall_hours", "style", "color", "structure", "black",
          "flat", "halo")


def snapshots(run_dir, every):
    paths = sorted(glob.glob(os.path.join(run_dir, "step_*.params")))
    steps = [int(re.search(r"step_(\d+)", p).group(1)) for p in paths]
    last = max(steps) if steps else None
    return [(s, p) for s, p in zip(steps, paths) if s % every == 0 or s == last]


def cost(info, step):
    """(CPU hours, wall hours) of the run up to `step`, from its run.json."""
    for done, wall, cpu in info.get("snapshots", []):
        if done == step:
            return cpu / 3600.0, wall / 3600.0
    total = sum(st["steps"] for st in info["stages"])
    if "cpu_seconds_total" in info:  # measured for the whole process, spread over its steps
        return (info["cpu_seconds_total"] * step / total / 3600.0,
                sum(info["seconds"]) * step / total / 3600.0)
    return float("nan"), float("nan")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--photos", nargs="+", required=True)
    p.add_argument("--painting", required=True)
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--every", type=int, default=100)
    p.add_argument("--csv", default="recipe.csv")
    p.add_argument("--plot")
    p.add_argument("--losses", help="also write every run's training losses here (CSV, means "
                                    "over 10 steps, steps counted on with --after)")
    p.add_argument("--loss-plot", help="and plot them")
    p.add_argument("--after", nargs="*", default=[], metavar="RUN:BASE",
                   help="RUN started from BASE's last snapshot: its steps and CPU time count on "
                        "from BASE's")
    args = p.parse_args(argv)
    bases = dict(a.split(":", 1) for a in args.after)
    done = {}
    if os.path.exists(args.csv):
        with open(args.csv, newline="") as f:
            done = {(r["run"], int(r["step"])): r for r in csv.DictReader(f)}
    scorer = quality.StyleScorer()
    for run_dir in args.runs:
        name = os.path.basename(os.path.normpath(run_dir))
        with open(os.path.join(run_dir, "run.json")) as f:
            info = json.load(f)
        offset, base_cpu, base_wall = 0, 0.0, 0.0
        if name in bases:
            base_dir = os.path.join(os.path.dirname(os.path.normpath(run_dir)), bases[name])
            with open(os.path.join(base_dir, "run.json")) as f:
                base_info = json.load(f)
            offset = snapshots(base_dir, 1)[-1][0]
            base_cpu, base_wall = cost(base_info, offset)
        for own, path in snapshots(run_dir, args.every):
            step = own + offset
            if (name, step) in done:
                continue
            rows, _ = bench_blots.measure(["%s=%s@%d" % (path, name, step)], args.photos,
                                          painting=args.painting, size=args.size, scorer=scorer)
            cpu, wall = cost(info, own)
            cpu, wall = cpu + base_cpu, wall + base_wall
            row = dict(run=name, step=step, cpu_hours="%.4f" % cpu, wall_hours="%.4f" % wall,
                       **{k: "%.4f" % np.mean([r[k] for r in rows])
                          for k in FIELDS[4:]})
            done[name, step] = row
            print(" ".join("%s" % row[k] for k in FIELDS), flush=True)
            with open(args.csv + ".tmp", "w", newline="") as f:
                w = csv.DictWriter(f, FIELDS)
                w.writeheader()
                w.writerows(sorted(done.values(), key=lambda r: (r["run"], int(r["step"]))))
            os.replace(args.csv + ".tmp", args.csv)
    if args.plot:
        plot(done.values(), args.plot)
    if args.losses:
        rows = losses(args.runs, bases)
        with open(args.losses + ".tmp", "w", newline="") as f:
            w = csv.DictWriter(f, LOSS_FIELDS)
            w.writeheader()
            w.writerows(rows)
        os.replace(args.losses + ".tmp", args.losses)
        if args.loss_plot:
            plot_losses(rows, args.loss_plot)
    return 0


LOSS_FIELDS = ("run", "step", "total", "content", "style", "tv")


def losses(run_dirs, bases, window=10):
    """Training losses of each run (its stages' log.csv), averaged over `window` steps."""
    out = []
    for run_dir in run_dirs:
        name = os.path.basename(os.path.normpath(run_dir))
        offset = 0
        if name in bases:
            base_dir = os.path.join(os.path.dirname(os.path.normpath(run_dir)), bases[name])
            offset = snapshots(base_dir, 1)[-1][0]
        for log in sorted(glob.glob(os.path.join(run_dir, "stage*", "stage", "log.csv"))):
            with open(log, newline="") as f:
                rows = list(csv.DictReader(f))
            for i in range(0, len(rows) - window + 1, window):
                chunk = rows[i:i + window]
                out.append(dict(run=name, step=offset + int(chunk[-1]["step"]), **{
                    k: "%.4f" % np.mean([float(r[k]) for r in chunk]) for k in LOSS_FIELDS[2:]}))
            offset += int(rows[-1]["step"]) if rows else 0
    return out


def _panels(rows, n):
    """(pyplot, figure, axes, {run: rows}) for `n` panels, one colour per run."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    runs = {}
    for r in rows:
        runs.setdefault(r["run"], []).append(r)
    fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 4.2))
    colours = plt.get_cmap("tab20").colors
    for ax in axes:
        ax.set_prop_cycle(color=colours)
        ax.grid(alpha=0.3)
    return plt, fig, axes, dict(sorted(runs.items()))


def _save(plt, fig, axes, path):
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    os.replace(tmp, path)


def plot_losses(rows, path):
    keys = ("total", "content", "style")
    plt, fig, axes, runs = _panels(rows, len(keys))
    for name, rs in runs.items():
        x = [int(r["step"]) for r in rs]
        for ax, key in zip(axes, keys):
            ax.plot(x, [float(r[key]) for r in rs], lw=1, label=name)
    for ax, key in zip(axes, keys):
        ax.set_title("training loss: %s (means over 10 steps)" % key, fontsize=10)
        ax.set_xlabel("step")
        ax.set_yscale("log")
    _save(plt, fig, axes, path)


def plot(rows, path):
    keys = ("style", "structure", "black", "flat")
    titles = ("style progress (held-out photos)", "structure",
              "black (pure black where the photo is not dark)", "flat (share without strokes)")
    plt, fig, axes, runs = _panels(rows, len(keys))
    for name, rs in runs.items():
        rs = sorted(rs, key=lambda r: int(r["step"]))
        x = [float(r["cpu_hours"]) for r in rs]
        for ax, key in zip(axes, keys):
            ax.plot(x, [float(r[key]) for r in rs], marker="o", ms=3, label=name)
    for ax, title in zip(axes, titles):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("CPU-hours (core-hours) of training")
    _save(plt, fig, axes, path)


if __name__ == "__main__":
    sys.exit(main())
