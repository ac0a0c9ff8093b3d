"""A contact sheet of trained fast-mode styles on some photos.

    python examples/style_sheet.py --photos a.jpg b.jpg ... --output sheet.png \
        [--styles starry_night the_scream ...] [--cell 256]

The first row shows each style's painting (its thumbnail in params/), every
other row a photo and that photo in each style. Styles are found by name as
``python -m gluon_style.transfer styles`` lists them (default: all).
"""
import argparse
import os
import sys

from PIL import Image

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
from gluon_style import fast, images
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
    return contact_sheet(grid, output, cell=cell, labels=["photo"] + names)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", nargs="+", required=True)
    p.add_argument("--styles", nargs="*")
    p.add_argument("--output", required=True)
    p.add_argument("--cell", type=int, default=256)
    args = p.parse_args(argv)
    try:
        out = images.check_output_path(args.output, inputs=args.photos)
        style_sheet(args.photos, args.styles, out, cell=args.cell)
    except Error as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    print("wrote %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
