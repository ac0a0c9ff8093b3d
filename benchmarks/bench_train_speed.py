"""Seconds per fast-mode training step: crop size, float32 or bfloat16 (MXNet AMP, or
the trainer's ``precision``: its loss network).

    python benchmarks/bench_train_speed.py --style PAINTING --dataset PHOTOS/
        [--sizes 128 192 256] [--steps 12] [--warmup 3] [--dtype float32|bfloat16]
        [--check PARAMS]

One process per dtype (``amp.init`` changes MXNet's operators for the whole
process). Each size gets a fresh :class:`gluon_style.fast.train.StyleTrainer` (the
library defaults, batch 4) in a temporary checkpoint folder; the median step
time after `--warmup` steps is printed with the loss of the first step, so two
dtypes can be compared on the same batches (same seed). ``bfloat16`` runs
``mxnet.contrib.amp.init(target_dtype="bfloat16")`` first: convolutions and
matrix products in bfloat16, the rest (norms, losses, the Adam update and the
weights) in float32.
"""
import argparse
import statistics
import sys
import tempfile

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--style", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 192, 256])
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                   help="bfloat16: all of MXNet AMP (amp.init; diverges)")
    p.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                   help="the trainer's own option: its VGG loss network in bfloat16")
    p.add_argument("--style-size", type=int, default=512)
    args = p.parse_args(argv)
    if args.dtype == "bfloat16":
        from mxnet.contrib import amp
        amp.init(target_dtype="bfloat16")
    from gluon_style.fast.train import StyleTrainer
    print("dtype size s/step(median) first-loss last-loss")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            t = StyleTrainer(args.style, args.dataset, name="speed", steps=args.steps,
                             image_size=size, style_size=args.style_size, checkpoint_dir=tmp,
                             checkpoint_every=10 ** 6, workers=1, precision=args.precision)
            got = list(t.steps())
        times = [s.seconds for s in got[args.warmup:]]
        print("%s %d %.3f %.5g %.5g" % (args.dtype + ("/vgg-" + args.precision
                                                      if args.precision != "float32" else ""),
                                        size, statistics.median(times),
                                        got[0].losses["total"], got[-1].losses["total"]),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
