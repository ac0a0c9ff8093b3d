"""Black blots and halos of fast-mode networks on held-out photos: a table and a crop sheet.

    python benchmarks/bench_blots.py MODEL[=LABEL] ... --photos A.jpg B.jpg ...
        [--painting P.jpg] [--size 512] [--csv out.csv] [--sheet crops.jpg]
        [--crop PHOTO:X0,Y0,X1,Y1 ...] [--cell 200]

A MODEL is a style name (``transfer styles``) or a ``.params`` file (its output
mapping is read from the file). Each photo is stylized at ``--size`` (longer
side) and scored with :mod:`gluon_style.quality`: ``black`` (share of pixels
painted pure black where the photo is not dark), ``flat`` (share left without
strokes: a blot of any colour), ``halo`` (bright rims beside
strong edges, beyond the photo's own), and with ``--painting`` the style,
colour and structure scores. The last conv's values ``z`` are read too
(the network run with its linear mapping and no clip): ``z<-6``, the share of
pixels with a channel where a sigmoid's gradient is below 0.0025, and
``clipped``, the share the linear mapping clips (a channel outside [0, 1]).

The sheet has one row per ``--crop`` (PHOTO is the photo's file stem, the box
in fractions of its width and height): the photo, then each model's result.
"""
import argparse
import csv
import os
import sys

import numpy as np

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
import mxnet as mx
from gluon_style import fast, quality
from gluon_style.io import images
from gluon_style.io.images import MEAN, STD
from gluon_style.plot import contact_sheet

FIELDS = ("model", "photo", "black", "flat", "halo", "z<-6", "clipped", "style", "color",
          "structure")


def last_conv(style, img):
    """The network's last-conv values z (3, H, W) for a PIL image (no mapping, no clip)."""
    net, kept = style.net, style.net.output
    net.output = "linear"
    try:
        with mx.autograd.record():  # the training graph: z + 0.5, unclipped
            y = net(images.to_tensor(img, ctx=style.ctx))
    finally:
        net.output = kept
    y = y.asnumpy()[0] * np.array(STD).reshape(3, 1, 1) + np.array(MEAN).reshape(3, 1, 1)
    return (y - 0.5) * 4


def parse_crop(text):
    stem, _, box = text.partition(":")
    x0, y0, x1, y1 = (float(v) for v in box.split(","))
    return stem, (x0, y0, x1, y1)


def measure(models, photos, *, painting=None, size=512, scorer=None, keep=()):
    """Rows of FIELDS per (model, photo), and {(label, stem): (photo, result)} for
    the photo stems in `keep`."""
    rows, results = [], {}
    for spec in models:
        path, _, label = spec.partition("=")
        label = label or os.path.splitext(os.path.basename(path))[0]
        style = fast.load_style(path)
        for photo in photos:
            stem = os.path.splitext(os.path.basename(photo))[0]
            img = images.resize_max_side(images.load_image(photo, role="photo"), size)
            out = style(img)
            z = last_conv(style, img)
            row = dict(model=label, photo=stem, black=quality.black_holes(out, img),
                       flat=quality.flat_share(out), halo=quality.edge_halo(out, img), **{
                           "z<-6": float((z < -6).any(0).mean()),
                           "clipped": float(((z < -2) | (z > 2)).any(0).mean())})
            if painting:
                s = quality.scores(out, img, painting, scorer)
                row.update(style=s["style"], color=s["color"], structure=s["structure"])
            rows.append(row)
            if stem in keep:
                results[label, stem] = (img, out)
            print(" ".join(_fmt(row.get(k)) for k in FIELDS), flush=True)
    return rows, results


def _fmt(v):
    return "%-18s" % v if isinstance(v, str) else ("%8.4f" % v if v is not None else "%8s" % "-")


def crop_sheet(results, labels, crops, path, *, cell=200, quality=85):
    """Rows: the crops; columns: the photo, then each model's result."""
    def cut(img, box):
        w, h = img.size
        return img.crop(tuple(int(round(f * s)) for f, s in zip(box, (w, h, w, h))))

    grid = [[cut(results[labels[0], stem][0], box)]
            + [cut(results[label, stem][1], box) for label in labels] for stem, box in crops]
    sheet = contact_sheet(grid, path, cell=cell, labels=["photo"] + list(labels))
    images.save_image(sheet, path, quality=quality)  # JPEG: small enough for a README
    return sheet


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", metavar="MODEL[=LABEL]")
    p.add_argument("--photos", nargs="+", required=True)
    p.add_argument("--painting", help="also score style, colour and structure against it")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--csv", help="write the rows here")
    p.add_argument("--sheet", help="crop sheet (needs --crop)")
    p.add_argument("--crop", type=parse_crop, nargs="*", default=[], metavar="PHOTO:X0,Y0,X1,Y1")
    p.add_argument("--cell", type=int, default=200)
    args = p.parse_args(argv)
    scorer = quality.StyleScorer() if args.painting else None
    print(" ".join(("%-18s" if k in ("model", "photo") else "%8s") % k for k in FIELDS))
    rows, results = measure(args.models, args.photos, painting=args.painting, size=args.size,
                            scorer=scorer, keep={stem for stem, _ in args.crop})
    labels = list(dict.fromkeys(r["model"] for r in rows))
    for label in labels:
        mine = [r for r in rows if r["model"] == label]
        mean = {k: float(np.mean([r[k] for r in mine])) for k in FIELDS[2:] if k in mine[0]}
        print(" ".join(_fmt(v) for v in [label, "MEAN"] + [mean.get(k) for k in FIELDS[2:]]))
        rows.append(dict(model=label, photo="mean", **mean))
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, FIELDS)
            w.writeheader()
            w.writerows(rows)
    if args.sheet and args.crop:
        crop_sheet(results, labels, args.crop, args.sheet, cell=args.cell)
        print("wrote %s" % args.sheet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
