"""float32 against bfloat16: the pictures and the speed, per network.

    python benchmarks/bench_precision.py --model STYLE.params --photos DIR [DIR_OR_FILE ...]
        [--sizes 512 1024] [--max-side 512] [--rounds 3] [--sheet crops.png]
        [--gatys CONTENT STYLE --iterations 100 --gatys-size 256]
        [--pt-python /tmp/ptv/bin/python --pt-bench <shared bench folder>/pt_bench.py]

``--model``: a per-style (Johnson) network from ``train`` (``.params``) or a style name;
the multi-style network's styles run in float32 whatever is asked
(:mod:`gluon_style.precision`), so the figures are for per-style networks. Prints:

* quality: for every photo (at ``--max-side``), the bfloat16 output against float32's
  in 8-bit levels: max, mean, share of values more than 1 and 2 levels off; and the
  totals. ``--sheet`` writes 256-px centre crops (float32 | bfloat16 | 16 x |diff|);
* speed: seconds per forward pass at each ``--sizes`` (square, batch 1), float32 and
  bfloat16 interleaved over ``--rounds`` (a busy neighbour slows both alike),
  median and min, and the ratio; with the probe's figure (what ``auto`` decides by);
* ``--gatys``: one optimization run (the package's ``LossProblem`` and optimizer, the
  default loss network) in float32 and once with its VGG convolutions in bfloat16
  (Gram matrices and losses in float32), same start: ms per step, the final losses and
  the two final pictures' difference in 8-bit levels;
* ``--pt-python`` with ``--pt-bench`` (and ``--model`` a ``.params`` file, ``--photos``):
  the same network in PyTorch (``pt_bench.py``'s ``TransformerNet`` given these
  weights, by ``benchmarks/pt_precision.py`` in PyTorch's venv) on the same photos:
  PyTorch float32 against ours (the same network: within a level), and PyTorch's
  bfloat16 autocast (every layer bfloat16) against its float32, beside ours.

The load average is printed before and after: on a shared machine trust the ratios.
"""
import argparse
import glob
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import gluon_style  # noqa: E402,F401  (threads)
import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from gluon_style import fast, precision  # noqa: E402
from gluon_style.io import images  # noqa: E402


def load_avg():
    return "load %.1f %.1f %.1f" % os.getloadavg()


def photo_paths(specs):
    out = []
    for s in specs:
        if os.path.isdir(s):
            out += sorted(p for p in glob.glob(os.path.join(s, "*"))
                          if p.lower().endswith((".jpg", ".jpeg", ".png")))
        else:
            out.append(s)
    return out


def levels(a, b):
    d = np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16))
    return d


def fmt(d):
    return "max %3d  mean %.3f  >1 %6.3f%%  >2 %6.3f%%" % (
        d.max(), d.mean(), 100 * (d > 1).mean(), 100 * (d > 2).mean())


def quality(a, b, paths, max_side, sheet):
    """Prints the table; returns the photos and both outputs (uint8 arrays)."""
    print("quality at max side %d (bfloat16 against float32, 8-bit levels)" % max_side)
    every, tiles, kept = [], [], []
    for p in paths:
        img = images.resize_max_side(images.load_image(p), max_side, upscale=False)
        x, y = a(img), b(img)
        kept.append((np.asarray(img), np.asarray(x), np.asarray(y)))
        d = levels(x, y)
        every.append(d.ravel())
        print("  %-28s %s" % (os.path.basename(p)[:28], fmt(d)))
        if sheet and len(tiles) < 3:
            w, h = img.size
            box = (max(0, w // 2 - 128), max(0, h // 2 - 128), min(w, w // 2 + 128),
                   min(h, h // 2 + 128))
            xa, ya = np.asarray(x.crop(box)), np.asarray(y.crop(box))
            tiles.append(np.concatenate([xa, ya, np.clip(16 * levels(xa, ya), 0, 255)
                                         .astype(np.uint8)], axis=1))
    print("  %-28s %s" % ("all", fmt(np.concatenate(every))))
    if sheet:
        width = max(t.shape[1] for t in tiles)
        rows = [np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0))) for t in tiles]
        Image.fromarray(np.concatenate(rows, axis=0)).save(sheet)
        print("  crops (float32 | bfloat16 | 16 x |diff|): %s" % sheet)
    return kept


def beside_pytorch(model, kept, pt_python, pt_bench):
    """PyTorch's float32 and bfloat16 autocast on the same weights and photos."""
    import subprocess
    import tempfile
    weights = {k: v.asnumpy().astype(np.float32) for k, v in mx.nd.load(model).items()
               if k != "output_mapping"}
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "photos.npz")
        arrays = {"w:" + k: v for k, v in weights.items()}
        for i, (photo, ours32, ours16) in enumerate(kept):
            arrays.update({"photo%d" % i: photo, "ours32_%d" % i: ours32, "ours16_%d" % i: ours16})
        np.savez(data, **arrays)
        subprocess.run([pt_python, os.path.join(ROOT, "benchmarks", "pt_precision.py"),
                        "--pt-bench", pt_bench, "--data", data], check=True)


def speed(a, b, sizes, rounds):
    print("speed, s per forward pass (batch 1), interleaved; %s" % load_avg())
    for size in sizes:
        img = Image.fromarray(np.random.default_rng(size).integers(0, 255, (size, size, 3),
                                                                      dtype=np.uint8))
        x = images.to_tensor([img])
        runs = {"float32": a._forward, "bfloat16": b._forward}
        for f in runs.values():
            f(x).wait_to_read()
        times = {k: [] for k in runs}
        for _ in range(rounds):
            for k, f in runs.items():
                t0 = time.perf_counter()
                f(x).wait_to_read()
                times[k].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        print("  %4d  float32 %.3f (min %.3f)  bfloat16 %.3f (min %.3f)  bfloat16 speed %.2fx"
              % (size, med["float32"], min(times["float32"]), med["bfloat16"],
                 min(times["bfloat16"]), med["float32"] / med["bfloat16"]))


def gatys(content, style, size, iterations):
    from gluon_style.optimization import gatys as g, optimizer
    from gluon_style.options import OptimizeOptions
    o = OptimizeOptions()
    ctx = mx.cpu()
    c = images.to_tensor([images.resize_max_side(images.load_image(content), size)], ctx=ctx)
    s = images.to_tensor([images.resize_max_side(images.load_image(style), size)], ctx=ctx)
    print("optimization, %d steps at %dx%d (%s, one scale, from the photo); %s"
          % (iterations, c.shape[3], c.shape[2], o.method, load_avg()))
    results = {}
    for name in ("float32", "bfloat16"):
        problem = g.LossProblem(c, s, network=o.network, style_layers=None,
                                content_layers=None, style_weight=o.style_weight,
                                content_weight=o.content_weight, tv_weight=o.tv_weight,
                                pooling=o.pooling, ctx=ctx, precision=name)
        times, last, step = [], time.perf_counter(), None
        for step in optimizer.optimize(problem, c.copy(), iterations=iterations,
                                       method=o.method, lr=o.lr):
            now = time.perf_counter()
            times.append(now - last)
            last = now
        results[name] = images.to_images(step.image)[0]
        print("  %-8s %.0f ms/step (median after 2)  final losses %s"
              % (name, 1e3 * statistics.median(times[2:]),
                 "  ".join("%s %.4g" % kv for kv in step.losses.items())))
    print("  final pictures, bfloat16 against float32: %s"
          % fmt(levels(results["float32"], results["bfloat16"])))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="a per-style network (.params) or a style name")
    p.add_argument("--photos", nargs="+", default=[], help="photos or folders of photos")
    p.add_argument("--max-side", type=int, default=512)
    p.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--sheet", help="write the crops here (PNG)")
    p.add_argument("--gatys", nargs=2, metavar=("CONTENT", "STYLE"))
    p.add_argument("--gatys-size", type=int, default=256)
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--pt-python", help="PyTorch's python, to compare its bfloat16 autocast")
    p.add_argument("--pt-bench", help="pt_bench.py (its TransformerNet)")
    args = p.parse_args(argv)
    if bool(args.pt_python) != bool(args.pt_bench) or args.pt_python and not (
            args.model and args.model.endswith(".params") and args.photos):
        p.error("--pt-python and --pt-bench go together, with --model STYLE.params and --photos")
    print(load_avg(), "| CPU bfloat16:", precision.has_bf16(),
          "| probe: bfloat16 convs at %sx float32's speed" % (
              "%.2f" % precision.bf16_speedup() if precision.has_bf16() else "-"))
    if not precision.has_bf16():
        raise SystemExit("this CPU has no bfloat16 instructions: nothing to compare")
    if args.model:
        a = fast.load_style(args.model, precision="float32")
        b = fast.load_style(args.model, precision="bfloat16")
        print("style %s: %s / %s" % (args.model, a.precision, b.precision))
        if b.precision == "float32":
            raise SystemExit("%s stays float32 (%s)" % (args.model, b.precision_reason))
        if args.photos:
            kept = quality(a, b, photo_paths(args.photos), args.max_side, args.sheet)
            if args.pt_python:
                beside_pytorch(args.model, kept, args.pt_python, args.pt_bench)
        speed(a, b, args.sizes, args.rounds)
    if args.gatys:
        gatys(*args.gatys, args.gatys_size, args.iterations)
    print(load_avg())


if __name__ == "__main__":
    main()
