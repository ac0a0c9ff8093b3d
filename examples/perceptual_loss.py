"""A VGG perceptual loss on another task: a tiny 2x super-resolution network.

    python examples/perceptual_loss.py --images /work/shared/images/photos \
        --output out/superres.jpg [--steps 100] [--crop 64] [--batch 4] [--lr 0.002] \
        [--network auto] [--pixel-weight 1]
    python examples/perceptual_loss.py --generate 2 --crop 32 --steps 2 \
        --network vgg16-random --output /tmp/sr.png

The network (yours: two 3x3 convs on the bilinear upscaling, a residual) is
trained with Adam for ``--steps`` steps on random crops (seeded): the input
is a crop shrunk 2x (2x2 averages), the target the crop itself, the loss
:class:`gluon_style.blocks.VGGLoss` -- Johnson et al.'s (2016) feature
reconstruction at relu2_2 of the store's VGG16 -- plus ``--pixel-weight``
times the mean squared pixel error. The VGG is frozen; only your parameters
train. Prints the batch loss every 10 steps, the loss on 8 held-out crops before
and after training (and bilinear upscaling's), and writes a grid of
held-out crops: input (nearest), bilinear, the network, the target. ``--generate N`` trains
on N synthetic photos instead of a folder.
"""
import argparse
import os
import sys
import time

import numpy as np

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
from gluon_style.io import images
from gluon_style.errors import Error

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_sibling(name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_sr_net():
    """Your network: bilinear 2x, then ``+ conv(relu(conv(.)))`` (RGB in [0, 1])."""
    from mxnet import gluon

    class TinySR(gluon.HybridBlock):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            with self.name_scope():
                self.conv1 = gluon.nn.Conv2D(16, 3, padding=1, activation="relu")
                self.conv2 = gluon.nn.Conv2D(3, 3, padding=1)

        def hybrid_forward(self, F, x):
            up = F.contrib.BilinearResize2D(x, scale_height=2.0, scale_width=2.0)
            return up + self.conv2(self.conv1(up))

    return TinySR()


def random_crops(arrays, n, crop, rng):
    """`n` random `crop` x `crop` crops (float32 NCHW in [0, 1]) of the uint8 HWC images."""
    out = []
    for _ in range(n):
        a = arrays[rng.randint(len(arrays))]
        y, x = rng.randint(a.shape[0] - crop + 1), rng.randint(a.shape[1] - crop + 1)
        out.append(a[y:y + crop, x:x + crop])
    return np.stack(out).astype(np.float32).transpose(0, 3, 1, 2) / 255.0


def shrink(hr):
    """2x2 averages: the low-resolution input."""
    import mxnet as mx
    return mx.nd.Pooling(hr, kernel=(2, 2), stride=(2, 2), pool_type="avg")


def train(arrays, *, steps, crop, batch, lr, network, pixel_weight, seed=0, log=print):
    """Train the tiny network; returns it and the losses per step."""
    import mxnet as mx
    from mxnet import autograd, gluon

    from gluon_style.blocks import VGGLoss
    mx.random.seed(seed)
    rng = np.random.RandomState(seed)
    net = tiny_sr_net()
    net.initialize(mx.init.Xavier(magnitude=0.5))
    net.hybridize()
    perceptual = VGGLoss(content_layers=("relu2_2",), network=network, input="unit")
    perceptual.hybridize()
    pixel = gluon.loss.L2Loss(weight=2.0 * pixel_weight)  # L2Loss halves the mean square
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": lr})
    log("loss network: %s" % perceptual.features.source)
    held = mx.nd.array(random_crops(arrays, 8, crop, np.random.RandomState(seed + 1)))

    def held_out(model):
        pred = model(shrink(held))
        return float((perceptual(pred, held) + pixel(pred, held)).mean().asscalar())

    bilinear = held_out(lambda x: mx.nd.contrib.BilinearResize2D(x, scale_height=2.0,
                                                                  scale_width=2.0))
    log("held-out loss: bilinear %.4f, the network before training %.4f"
        % (bilinear, held_out(net)))
    losses = []
    for step in range(1, steps + 1):
        hr = mx.nd.array(random_crops(arrays, batch, crop, rng))
        with autograd.record():
            pred = net(shrink(hr))
            loss = perceptual(pred, hr) + pixel(pred, hr)
        loss.backward()
        trainer.step(batch)
        losses.append(float(loss.mean().asscalar()))
        if step == 1 or step % 10 == 0 or step == steps:
            log("step %d: batch loss %.4f" % (step, losses[-1]))
    log("held-out loss after %d steps: %.4f (bilinear %.4f)" % (steps, held_out(net), bilinear))
    return net, losses


def grid_rows(net, arrays, crop, n=3, seed=1):
    """Rows of (input, bilinear, network, target) PIL images of held-out crops."""
    import mxnet as mx
    from PIL import Image
    hr = mx.nd.array(random_crops(arrays, n, crop, np.random.RandomState(seed)))
    lr = shrink(hr)
    bilinear = mx.nd.contrib.BilinearResize2D(lr, scale_height=2.0, scale_width=2.0)
    pred = net(lr)

    def pil(t):
        return [Image.fromarray(np.clip(np.rint(a * 255), 0, 255).astype(np.uint8)
                                .transpose(1, 2, 0)) for a in t.asnumpy()]
    small = [im.resize((crop, crop), Image.NEAREST) for im in pil(lr)]
    return [list(r) for r in zip(small, pil(bilinear), pil(pred), pil(hr))]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", help="a folder of photos")
    src.add_argument("--generate", type=int, metavar="N", help="N synthetic photos instead")
    ap.add_argument("--output", required=True, help="the grid of held-out crops")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--crop", type=int, default=64, help="target crop side (px, even)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--max-size", type=int, default=256,
                    help="photos are shrunk to this longer side first")
    ap.add_argument("--network", default="auto", help="the loss VGG (see gluon_style.nets.store)")
    ap.add_argument("--pixel-weight", type=float, default=1.0)
    args = ap.parse_args(argv)
    start = time.time()
    try:
        if args.crop % 2 or args.crop < 16:
            raise Error("--crop must be even and at least 16, got %d" % args.crop)
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        images.check_output_path(args.output)
        if args.images:
            paths = images.list_images(args.images)
            if not paths:
                raise Error("image folder %s: no images" % args.images)
            arrays = [np.asarray(images.resize_max_side(images.load_image(p), args.max_size,
                                                        upscale=False)) for p in paths]
        else:
            arrays = _load_sibling("augment_pipeline").generated_images(args.generate,
                                                                        2 * args.crop)
        if any(min(a.shape[:2]) < args.crop for a in arrays):
            raise Error("every photo must be at least --crop %d px on both sides" % args.crop)
        net, losses = train(arrays, steps=args.steps, crop=args.crop, batch=args.batch,
                            lr=args.lr, network=args.network, pixel_weight=args.pixel_weight)
        from gluon_style.plot import contact_sheet
        contact_sheet(grid_rows(net, arrays, args.crop), args.output, cell=max(args.crop, 96),
                      labels=["input", "bilinear", "network", "target"], quality=90)
    except Error as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    print("trained %d steps; wrote %s in %.1f s" % (len(losses), args.output,
                                                    time.time() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
