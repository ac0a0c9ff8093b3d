"""How much optimization mode paints: style, colour and structure scores, and a contact sheet.

    python benchmarks/bench_quality.py PHOTOS/ PAINTINGS/ [--preset default|notes]
        [--size 512] [--iterations N] [--pairs N] [--sheet quality.jpg] [--json out.json]
        [--score-only RESULT ...]

Each photo is paired with a painting (the i-th photo with the i-th painting, both
lists sorted and cycled until the longer one is used up; ``--pairs`` cuts the
list) and stylized with the preset's settings, everything else at the
library's defaults. For each pair it prints the time and the scores of
:mod:`gluon_style.quality`: style (Gram matrices moved from the photo's toward
the painting's on VGG16 layers the run does not optimize), colour (the same for
the pixels' RGB Gaussian; and its Fréchet distance to the painting's), and
structure (the scene's layout kept). The sheet shows photo | painting | result.

``--score-only RESULT...`` scores finished pictures instead (e.g. another
program's), each against the single photo and painting given.
"""
import argparse
import json
import os
import sys
import time

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
from gluon_style.optimization import gatys
from gluon_style.io import images
from gluon_style import quality
from gluon_style.plot import contact_sheet

COLUMNS = ("pair", "seconds", "style", "color", "color_dist", "structure")


def pairs(photos, paintings, limit=None):
    photos, paintings = sorted(photos), sorted(paintings)
    n = max(len(photos), len(paintings))
    out = [(photos[i % len(photos)], paintings[i % len(paintings)]) for i in range(n)]
    return out[:limit] if limit else out


def row(name, seconds, s):
    return "%-36s %8.1f %6.3f %6.3f %10.3f %9.3f" % (name, seconds, s["style"], s["color"],
                                                   s["color_distance"], s["structure"])


def _list(path):
    return [path] if os.path.isfile(path) else images.list_images(path, recursive=False)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("photos", help="folder of photos (or one photo)")
    p.add_argument("paintings", help="folder of paintings (or one painting)")
    p.add_argument("--preset", default="default", choices=sorted(gatys.PRESETS))
    p.add_argument("--size", type=int, help="longer side (default: the preset's)")
    p.add_argument("--iterations", type=int, nargs="+", help="default: the preset's")
    p.add_argument("--pairs", type=int, help="at most this many pairs")
    p.add_argument("--sheet", default="quality.jpg", help="contact sheet (default %(default)s)")
    p.add_argument("--json", help="also write the figures here")
    p.add_argument("--score-only", nargs="+", metavar="RESULT",
                   help="score these pictures against the photo and painting given")
    args = p.parse_args(argv)
    scorer = quality.StyleScorer()
    print(" ".join("%s" % c for c in COLUMNS))
    results, grid = [], []
    if args.score_only:
        for path in args.score_only:
            s = quality.scores(path, args.photos, args.paintings, scorer)
            print(row(os.path.basename(path), 0.0, s))
            results.append(dict(pair=path, seconds=0.0, **s))
        return results
    options = dict(gatys.PRESETS[args.preset])
    if args.size:
        options["size"] = args.size
    if args.iterations:
        options["iterations"] = (args.iterations[0] if len(args.iterations) == 1
                                 else args.iterations)
    for photo, painting in pairs(_list(args.photos), _list(args.paintings), args.pairs):
        name = "%s / %s" % (os.path.splitext(os.path.basename(photo))[0],
                            os.path.splitext(os.path.basename(painting))[0])
        t0 = time.perf_counter()
        result = gatys.stylize(photo, painting, **options)
        seconds = time.perf_counter() - t0
        s = quality.scores(result, photo, painting, scorer)
        print(row(name, seconds, s), flush=True)
        results.append(dict(pair=name, seconds=seconds, **s))
        grid.append([images.load_image(photo), images.load_image(painting), result])
    if results:
        means = {k: sum(r[k] for r in results) / len(results)
                 for k in ("seconds", "style", "color", "color_distance", "structure")}
        print(row("mean (%s preset)" % args.preset, means["seconds"], means))
        contact_sheet(grid, args.sheet, cell=320, labels=("photo", "painting", args.preset))
        print("wrote %s" % args.sheet)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(preset=args.preset, options={k: str(v) for k, v in options.items()},
                           results=results), f, indent=1)
    return results


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
