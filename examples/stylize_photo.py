"""Stylize a photo with the library API (optimization mode) and print the progress.

By default this paints the bundled photo of Grace Hopper in the style of the
bundled brushwork image::

    python examples/stylize_photo.py                       # -> out/stylized.png
    python examples/stylize_photo.py --content me.jpg --style art.png --size 384 \\
        --iterations 300 --output out/me.png
"""
import argparse
import os
import sys
import time

import gluon_style  # before mxnet: it sets the OpenMP thread default
from gluon_style.optimization import gatys
from gluon_style.io import images

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLED = os.path.join(HERE, "images")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--content", default=os.path.join(BUNDLED, "grace_hopper.jpg"),
                   help="photo to stylize (default: the bundled grace_hopper.jpg)")
    p.add_argument("--style", default=os.path.join(BUNDLED, "brushwork.png"),
                   help="style image (default: the bundled brushwork.png)")
    p.add_argument("--output", default=os.path.join("out", "stylized.png"),
                   help="where to write the result; its folder is created (default: %(default)s)")
    p.add_argument("--size", type=int, default=384,
                   help="longer side of the result in pixels (default: %(default)s)")
    p.add_argument("--iterations", type=int,
                   help="iterations at the first scale (default: the library's, %d)"
                   % gatys.stylize_steps.__kwdefaults__["iterations"])
    return p.parse_args(argv)


def run(args):
    start = time.perf_counter()
    folder = os.path.dirname(os.path.abspath(args.output))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise gluon_style.Error("cannot create output folder %s (%s)" % (folder, e.strerror or e))
    output = images.check_output_path(args.output, inputs=[args.content, args.style])

    # loads the images and builds the VGG loss network now; iterations run in the loop
    # every other setting is the library's default (coarse to fine, L-BFGS)
    extra = {} if args.iterations is None else dict(iterations=args.iterations)
    steps = gatys.stylize_steps(args.content, args.style, size=args.size, **extra)
    step = None
    for step in steps:
        if step.step == 1 or step.step % 20 == 0 or step.step == steps.total:
            losses = step.losses
            print("iteration %4d/%d  total %.4g  content %.4g  style %.4g  tv %.4g"
                  % (step.step, steps.total, losses["total"], losses["content"],
                     losses["style"], losses["tv"]), flush=True)
    # the picture of the optimized array (with --preserve-colors it would get its colours back)
    images.save_image(steps.picture(step.image), output)
    print("wrote %s in %.1f s" % (output, time.perf_counter() - start))


def main(argv=None):
    args = parse_args(argv)
    try:
        run(args)
    except gluon_style.Error as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
