"""Does fine-tuning a multi-style row with the VGG16 loss beat the predicted style vector?

    python benchmarks/bench_multistyle_finetune.py PAINTING DATASET/ PHOTOS/
        [--steps 200] [--every 50] [--image-size 160] [--batch-size 2] [--lr 0.02]
        [--inits predicted random] [--out DIR]

For each start (the painting's predicted vector, or a random vector of the
same norm), trains the painting's row of a multi-style table
(:class:`gluon_style.fast.multistyle.MultiStyleTrainer`, shared transformer frozen)
and every ``--every`` steps paints the held-out PHOTOS at 256 px and prints the
mean scores of :mod:`gluon_style.quality` (style progress, colour progress,
structure) with the training loss; step 0 of the predicted start is the
predicted vector itself. Writes a contact sheet per start (a row per
evaluation, a column per photo) and the figures as JSON in ``--out``.

The style score is measured on Johnson et al.'s VGG16 layers, which this
training optimizes: it is not independent of the loss here, so look at the
sheets too.
"""
import argparse
import json
import os

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
import numpy as np
from gluon_style.io import images
from gluon_style import quality
from gluon_style.fast.multistyle import MultiStyleTrainer
from gluon_style.plot import contact_sheet


def evaluate(trainer, photos, painting, scorer):
    import mxnet as mx
    row = mx.nd.array(trainer.rows()[:1])
    outs, rows = [], []
    for p in photos:
        x = images.to_tensor(p, ctx=trainer.ctx[0])
        out = images.to_images(trainer.transformer(x, row))[0]
        outs.append(out)
        rows.append(quality.scores(out, p, painting, scorer))
    return outs, {k: float(np.mean([r[k] for r in rows])) for k in ("style", "color", "structure")}


def _report(init, step, seconds, loss, s):
    print("%-10s step %4d  %7.1f s  loss %7.4f  style %.3f  color %.3f  structure %.3f"
          % (init, step, seconds, loss, s["style"], s["color"], s["structure"]), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("painting")
    p.add_argument("dataset")
    p.add_argument("photos")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--every", type=int, default=50)
    p.add_argument("--image-size", type=int, default=160)
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--style-weight", type=float, default=1.5)
    p.add_argument("--inits", nargs="+", default=["predicted", "random"])
    p.add_argument("--out", default="multistyle_finetune")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    photos = [images.resize_max_side(images.load_image(f), 256)
              for f in images.list_images(args.photos, recursive=False)[:4]]
    painting = images.load_image(args.painting)
    name = os.path.splitext(os.path.basename(args.painting))[0]
    scorer = None
    results = {}
    for init in args.inits:
        tr = MultiStyleTrainer([args.painting], args.dataset, name="%s-%s" % (name, init),
                               init=init, steps=args.steps, image_size=args.image_size,
                               style_size=256, batch_size=args.batch_size, lr=args.lr,
                               style_weight=args.style_weight,
                               checkpoint_dir=os.path.join(args.out, "checkpoints"),
                               checkpoint_every=args.every, resume=os.path.exists(os.path.join(
                                   args.out, "checkpoints", "%s-%s" % (name, init), "state.json")),
                               workers=1)
        scorer = scorer or quality.StyleScorer(tr.network, ctx=tr.ctx[0])
        grid, table, seconds, loss = [], [], 0.0, float("nan")
        outs, s = evaluate(tr, photos, painting, scorer)
        grid.append(outs)
        table.append(dict(step=tr.step, seconds=0.0, loss=loss, **s))
        _report(init, tr.step, seconds, loss, s)
        for step in tr.steps():
            seconds += step.seconds
            loss = step.losses["total"]
            if step.step % args.every == 0 or step.step == args.steps:
                outs, s = evaluate(tr, photos, painting, scorer)
                grid.append(outs)
                table.append(dict(step=step.step, seconds=seconds, loss=loss, **s))
                _report(init, step.step, seconds, loss, s)
        np.save(os.path.join(args.out, "%s-%s-row.npy" % (name, init)), tr.rows())
        contact_sheet(grid, os.path.join(args.out, "%s-%s.jpg" % (name, init)), cell=200,
                      quality=85)
        results[init] = table
    with open(os.path.join(args.out, "%s.json" % name), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
