"""Style augmentation in a gluon.data pipeline: a grid of augmented samples.

    python examples/augment_pipeline.py --images /work/shared/images/photos \
        --output out/augmented.jpg [--size 160] [--epochs 4] [--workers 2] [--seed 0] \
        [--p 1] [--strength 0.5 1] [--alpha 0.3]
    python examples/augment_pipeline.py --generate 4 --size 32 --output /tmp/aug.png

A dataset yields (H, W, 3) uint8 NDArrays, as gluon.data.vision's do; the
pipeline is ``transforms.Compose([Resize, CenterCrop, StyleAugment, ToTensor,
Normalize])`` in a ``DataLoader`` with worker processes (the augmentation's
network is loaded once in each worker). Each epoch draws other styles
(:meth:`~gluon_style.transforms.StyleAugment.set_epoch`, set before the
epoch's loader is made). The grid's rows are the images, its columns the
crop and each epoch's sample, captioned with the drawn blend's main style,
its weight and the strength. ``--generate N`` makes N synthetic photos
instead of reading a folder.
"""
import argparse
import os
import sys
import time

import numpy as np

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
from gluon_style.io import images
from gluon_style import transforms
from gluon_style.errors import Error


def generated_images(n, size, seed=0):
    """`n` synthetic 'photos' (uint8 HWC): gradients, a disc and a bar, seeded."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    out = []
    for _ in range(n):
        c = rng.uniform(0, 255, (2, 3))
        img = c[0] * (1 - xx[..., None]) + c[1] * yy[..., None]
        cx, cy, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.25)
        img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
        img[np.abs(yy - rng.uniform(0.1, 0.9)) < 0.05] = rng.uniform(0, 255, 3)
        out.append(np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8))
    return out


def read_images(folder):
    """The images of `folder` as uint8 HWC arrays (sorted by path)."""
    paths = images.list_images(folder)
    if not paths:
        raise Error("image folder %s: no images" % folder)
    return [np.asarray(images.load_image(p, role="image")) for p in paths]


def make_dataset(arrays):
    import mxnet as mx
    from mxnet import gluon

    class Photos(gluon.data.Dataset):
        """(image, index) pairs, the image an (H, W, 3) uint8 NDArray."""

        def __getitem__(self, i):
            return mx.nd.array(arrays[i], dtype=np.uint8), i

        def __len__(self):
            return len(arrays)

    return Photos()


def run(arrays, output, *, size, epochs, workers, seed, p, strength, alpha, network=None):
    from mxnet import gluon
    from mxnet.gluon.data.vision import transforms as T
    from PIL import Image

    from gluon_style.plot import contact_sheet
    from gluon_style.transforms import StyleAugment, image_key

    aug = StyleAugment(network, p=p, strength=tuple(strength), alpha=alpha, seed=seed)
    crop = T.Compose([T.Resize(size, keep_ratio=True), T.CenterCrop(size)])
    dataset = make_dataset(arrays)
    crops = [crop(dataset[i][0]).asnumpy() for i in range(len(dataset))]
    grid = [[Image.fromarray(c)] for c in crops]
    captions = [[""] for _ in crops]
    for epoch in range(epochs):
        aug.set_epoch(epoch)  # before the loader: its workers copy the transform
        pipeline = T.Compose([T.Resize(size, keep_ratio=True), T.CenterCrop(size), aug,
                              T.ToTensor(), T.Normalize(images.MEAN, images.STD)])
        loader = gluon.data.DataLoader(dataset.transform_first(pipeline), batch_size=4,
                                       num_workers=workers)
        for batch, index in loader:  # what a training loop gets: normalized (N, 3, H, W)
            for img, i in zip(images.to_images(batch), index.asnumpy().astype(int)):
                d = aug.draw(image_key(crops[i]))
                top = int(np.argmax(d.weights))
                grid[i].append(img)
                captions[i].append("%s %.2f s%.2f" % (aug.names[top][:10], d.weights[top],
                                                      d.strength) if d.applied else "as is")
    contact_sheet(grid, output, cell=max(size, 96), labels=["crop"] + [
        "epoch %d" % e for e in range(epochs)], captions=captions, quality=85)
    return output


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", help="a folder of photos")
    src.add_argument("--generate", type=int, metavar="N", help="N synthetic photos instead")
    ap.add_argument("--output", required=True, help="the grid (.jpg or .png)")
    ap.add_argument("--size", type=int, default=160, help="crop side (px), default 160")
    ap.add_argument("--epochs", type=int, default=4, help="augmented samples per image")
    ap.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--p", type=float, default=1.0, help="probability of augmenting an image")
    ap.add_argument("--strength", type=float, nargs=2, default=transforms.AUGMENT_STRENGTH,
                    metavar=("LO", "HI"))
    ap.add_argument("--alpha", type=float, default=transforms.DIRICHLET_ALPHA,
                    help="Dirichlet concentration")
    ap.add_argument("--network", help="a style of the multi-style network (default: the first)")
    args = ap.parse_args(argv)
    start = time.time()
    try:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        images.check_output_path(args.output)
        arrays = read_images(args.images) if args.images else generated_images(args.generate,
                                                                               2 * args.size)
        run(arrays, args.output, size=args.size, epochs=args.epochs, workers=args.workers,
            seed=args.seed, p=args.p, strength=args.strength, alpha=args.alpha,
            network=args.network)
    except Error as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    print("wrote %s (%d images x %d epochs) in %.1f s"
          % (args.output, len(arrays), args.epochs, time.time() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
