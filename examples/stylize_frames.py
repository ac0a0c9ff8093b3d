"""Stylize frames inside your own loop with the reusable blocks.

    python examples/stylize_frames.py --frames FOLDER --output out/frames \
        [--from wave] [--to udnie] [--size 256] [--batch 4] [--strength 1]
    python examples/stylize_frames.py --generate 8 --size 64 --output /tmp/frames

The loop is yours: frames come in batches (here from a folder, sorted by
name, or ``--generate N`` synthetic frames of a disc crossing a gradient),
go through :func:`gluon_style.blocks.load_multistyle_net`'s network as
``net(x, weights)`` with one blend per frame -- the style morphs from
``--from`` to ``--to`` over the sequence -- and are blended back with the
frame by ``--strength``, all on the device, before being written. Writes
``frame_0000.png``... and ``strip.jpg`` (every frame, input above result) in
``--output``, and prints the frames per second.
"""
import argparse
import os
import sys
import time

import numpy as np

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
from gluon_style.io import images
from gluon_style.errors import Error


def generated_frames(n, size):
    """`n` synthetic frames (PIL): a disc crossing a diagonal gradient."""
    from PIL import Image
    h, w = size, size * 4 // 3
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for i in range(n):
        cx = w * (0.15 + 0.7 * i / max(n - 1, 1))
        img = np.stack([255 * xx / w, 255 * yy / h, 128 + 0 * xx], -1)
        img[(xx - cx) ** 2 + (yy - h / 2) ** 2 < (h / 4) ** 2] = (240, 220, 40)
        out.append(Image.fromarray(img.astype(np.uint8)))
    return out


def read_frames(folder, size):
    paths = images.list_images(folder, recursive=False)
    if not paths:
        raise Error("frame folder %s: no images" % folder)
    first = images.resize_max_side(images.load_image(paths[0], role="frame"), size)
    return [first] + [images.resize_to(images.load_image(p, role="frame"), *first.size)
                      for p in paths[1:]]


def stylize_frames(frames, output, *, start, end, strength=1.0, batch=4, network=None,
                   ctx=None):
    """Your loop: paint `frames` (same-size PIL images) morphing from style `start` to
    `end`; writes them into `output`; returns (paths, seconds in the network)."""
    import mxnet as mx

    from gluon_style.blocks import blend, load_multistyle_net
    ctx = ctx or mx.cpu()
    net, names = load_multistyle_net(network, ctx=ctx)
    a, b = blend(names, start), blend(names, end)
    paths, busy, n = [], 0.0, len(frames)
    for i in range(0, n, batch):
        chunk = frames[i:i + batch]
        t = np.array([(i + k) / max(n - 1, 1) for k in range(len(chunk))], np.float32)[:, None]
        weights = mx.nd.array((1 - t) * a + t * b, ctx=ctx)  # one blend per frame
        tick = time.time()
        x = images.to_tensor(chunk, ctx=ctx)  # normalized (N, 3, H, W)
        y = strength * net(x, weights) + (1 - strength) * x
        out = images.to_images(y)  # waits for the result
        busy += time.time() - tick
        for k, img in enumerate(out):
            paths.append(os.path.join(output, "frame_%04d.png" % (i + k)))
            images.save_image(img, paths[-1])
    return paths, busy


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--frames", help="a folder of frames (sorted by name)")
    src.add_argument("--generate", type=int, metavar="N", help="N synthetic frames instead")
    ap.add_argument("--output", required=True, help="the folder the frames are written to")
    ap.add_argument("--from", dest="start", default=None,
                    help="the first frame's style (default: the network's first)")
    ap.add_argument("--to", dest="end", default=None,
                    help="the last frame's style (default: the network's last)")
    ap.add_argument("--size", type=int, default=256, help="longer side of the frames (px)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--strength", type=float, default=1.0)
    ap.add_argument("--network", help="a style of the multi-style network (default: the first)")
    args = ap.parse_args(argv)
    start = time.time()
    try:
        from gluon_style.fast.arbitrary import check_strength
        from gluon_style.blocks import load_multistyle_net  # noqa: F401  (errors first)
        check_strength(args.strength)
        if os.path.exists(args.output) and not os.path.isdir(args.output):
            raise Error("output %s is a file, not a folder" % args.output)
        os.makedirs(args.output, exist_ok=True)
        frames = read_frames(args.frames, args.size) if args.frames else generated_frames(
            args.generate, args.size)
        from gluon_style.transforms import _resolve_table
        names = _resolve_table(args.network)[1]
        paths, busy = stylize_frames(frames, args.output, start=args.start or names[0],
                                     end=args.end or names[-1], strength=args.strength,
                                     batch=args.batch, network=args.network)
        from PIL import Image

        from gluon_style.plot import contact_sheet
        step = max(1, len(frames) // 8)  # at most about 8 columns
        contact_sheet([frames[::step], [Image.open(p) for p in paths[::step]]],
                      os.path.join(args.output, "strip.jpg"), cell=min(args.size, 160),
                      labels=["frame %d" % i for i in range(0, len(frames), step)], quality=85)
    except Error as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    print("wrote %d frames (%dx%d) and strip.jpg to %s: %.1f frames/s in the network, %.1f s "
          "in all" % (len(paths), frames[0].size[0], frames[0].size[1], args.output,
                      len(paths) / max(busy, 1e-9), time.time() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
