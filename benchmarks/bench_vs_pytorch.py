"""Every speed workload of gluon_style beside PyTorch's, in one sitting, one table.

    python benchmarks/bench_vs_pytorch.py --pt-python /tmp/ptv/bin/python \\
        --pt-bench ../shared/bench/pt_bench.py [--photos DIR] [--out DIR] [--quick]
        [--sittings 2]

Runs, one after the other (each in its own process, so nothing overlaps):

* PyTorch (``pt_bench.py``) in float32 and under bfloat16 autocast (``--bf16``; its
  optimization and training steps stay float32 there);
* ``bench_gatys.py`` (VGG19 optimization step, 256 and 512 px),
  ``bench_transformer.py`` (the per-style Johnson network: forward at 256, 512 and
  1024 px; training step, batch 4 at 256 px), ``bench_multistyle.py`` (the shipped
  multi-style network, and both networks with the matrix-product norms that batches
  use) and, with ``--photos``, ``bench_throughput.py`` (a folder of 20 mixed-size
  photos and a 720p video end to end) when it is there;

then prints each workload's gluon_style time, PyTorch's float32 and bfloat16 times and
the ratio to PyTorch's best. gluon_style's optimization step and Johnson network run
in float32 and in bfloat16 (rows "bf16": what ``--precision auto`` picks on a CPU with
AMX); the multi-style network runs float32. Writes every result file into ``--out``
(default: a temp folder) and ``summary.json`` there. About 12 minutes a sitting on 2
cores (``--quick``: fewer repetitions); ``--sittings 2`` runs it all twice in turn and
prints both.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, cwd):
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    sys.stdout.write("".join("  " + line + "\n" for line in proc.stdout.splitlines()[-40:]))
    if proc.returncode:
        sys.stdout.write(proc.stderr[-2000:])
        raise SystemExit("%s failed (exit %d)" % (cmd[1], proc.returncode))


def load(path):
    with open(path) as f:
        return json.load(f)


def pt_median(results, key):
    r = results["results"].get(key)
    return None if r is None else r["median_ms"] / 1e3


def sitting(args, out):
    """One pass over every workload, results into `out`; returns the table rows."""
    os.makedirs(out, exist_ok=True)
    py = sys.executable
    reps = ["--reps", "3" if args.quick else "5"]
    run([args.pt_python, args.pt_bench, "--only", "gatys", "tinfer", "train", "--tag", "fp32"]
        + reps, out)
    run([args.pt_python, args.pt_bench, "--bf16", "--only", "tinfer", "gatys_256/eager",
         "--tag", "bf16"] + reps, out)
    run([py, os.path.join(HERE, "bench_gatys.py"), "--networks", "vgg19", "--sizes", "256",
         "512", "--precision", "float32", "bfloat16", "--json", "gatys.json"] + reps, out)
    run([py, os.path.join(HERE, "bench_transformer.py"), "--variants", "full", "--sizes",
         "256", "512", "1024", "--precision", "float32", "bfloat16",
         "--json", "transformer.json"] + reps, out)
    run([py, os.path.join(HERE, "bench_multistyle.py"), "--sizes", "256", "512", "1024",
         "--runs", "3" if args.quick else "5", "--json", "multistyle.json"], out)
    fp32, bf16 = load(os.path.join(out, "results_pt_fp32.json")), \
        load(os.path.join(out, "results_pt_bf16.json"))
    rows = []
    for r in load(os.path.join(out, "gatys.json")):
        key = "gatys_%d/eager" % r["size"]
        tag = " bf16" if r.get("precision") == "bfloat16" else ""
        rows.append(("optimization step %d%s" % (r["size"], tag), r["median_ms"] / 1e3,
                     pt_median(fp32, key), None))
    for r in load(os.path.join(out, "transformer.json")):  # keys infer_512/full, train_...
        what, variant = r["key"].split("/")[:2]
        if what.startswith("infer"):
            size = int(what.split("_")[1])
            key = "tinfer_%d/eager" % size
            tag = " bf16" if r["key"].endswith("/bf16") else ""
            rows.append(("Johnson forward %d%s" % (size, tag), r["median_ms"] / 1e3,
                         pt_median(fp32, key), pt_median(bf16, key)))
        else:
            rows.append(("training step b4 256" + r["key"][len(what) + len(variant) + 1:],
                         r["median_ms"] / 1e3, pt_median(fp32, "train_b4_256/eager"), None))
    for r in load(os.path.join(out, "multistyle.json")):
        if r["network"] in ("multi-style, one style", "johnson, matrix norms",
                            "multi-style, matrix norms"):
            key = "tinfer_%d/eager" % r["size"]
            rows.append(("%s %d" % (r["network"], r["size"]), r["median_s"],
                         pt_median(fp32, key), pt_median(bf16, key)))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pt-python", required=True, help="python of a venv with torch")
    p.add_argument("--pt-bench", required=True, help="path of pt_bench.py")
    p.add_argument("--photos", help="a folder of photos for the folder and video workloads")
    p.add_argument("--out", help="where the result files go (default: a temp folder)")
    p.add_argument("--quick", action="store_true", help="fewer repetitions")
    p.add_argument("--sittings", type=int, default=1,
                   help="run everything this many times in turn (the host drifts)")
    args = p.parse_args(argv)
    out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="bench_vs_pt_"))
    print("load %.1f %.1f %.1f; results in %s" % (os.getloadavg() + (out,)), flush=True)
    tables = [sitting(args, os.path.join(out, "sitting%d" % i)) for i in range(args.sittings)]
    throughput = os.path.join(HERE, "bench_throughput.py")
    if args.photos and os.path.exists(throughput):
        run([sys.executable, throughput, "--photos", args.photos, "--json", "throughput.json"],
            out)
    print("load %.1f %.1f %.1f" % os.getloadavg())
    print("\n%-34s %s %10s" % ("workload", "   gluon_style  pt float32     pt bf16" *
                                len(tables), "vs best"))
    summary = []
    for i, (name, *_) in enumerate(tables[0]):
        cells, ratios = [], []
        for t in tables:
            _, ours, pt32, pt16 = t[i]
            best = min(x for x in (pt32, pt16) if x is not None) if (pt32 or pt16) else None
            cells.append("%13.3fs %11s %11s" % (ours, "%.3fs" % pt32 if pt32 else "-",
                                                 "%.3fs" % pt16 if pt16 else "-"))
            if best:
                ratios.append(ours / best)
            summary.append(dict(workload=name, gluon_style_s=ours, pt_fp32_s=pt32,
                                pt_bf16_s=pt16))
        print("%-34s %s %10s" % (name, "".join(cells), " / ".join("%.2fx" % r for r in ratios)
                                 or "-"))
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print("(vs best: gluon_style's time / PyTorch's best mode's in that sitting; below 1 is "
          "faster. The multi-style rows are another, smaller network than PyTorch's "
          "Johnson net; 'matrix norms': what batches of several images run.)")


if __name__ == "__main__":
    main()
