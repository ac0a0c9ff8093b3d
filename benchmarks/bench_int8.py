"""int8 (oneDNN, MXNet's quantize_net_v2) for the fast-mode networks: quality and speed.

The study behind ``docs/int8.md``. For the Johnson TransformerNet (a trained
``.params``) or the shipped multi-style network (Magenta's transformer; quantized
with two inputs, photo and style vector, and calibrated over all its styles),
quantizes each ``--variant`` (calibration photos from ``--calib``, centre crops)
and prints, against the float32 output rounded to 8 bits, on held-out photos:
max |diff|, mean |diff| (levels 0..255), share of values more than 1 and 2
levels off; writes ``crops_NET_VARIANT.png`` (256 px centre crops of
tubingen and flowers: fp32 | int8 | |diff| x 16). ``--time``: float32 and the
variants interleaved at 512^2 and 1024^2, batch 1 (medians and minima, load
printed). Variant names: ``MODE_GRAN_DTYPE[_SUFFIX]``, e.g.
``entropy_t_auto``, ``naive_c_int8_allconv`` (see :func:`variants`)::

    python benchmarks/bench_int8.py --net johnson --params runs/sn_long/step_01200.params \\
        --calib DATASET_DIR --photos PHOTO ... --variant naive_t_auto entropy_t_auto --time
    python benchmarks/bench_int8.py --net magenta --calib DATASET_DIR --photos PHOTO ... \\
        --variant entropy_t_auto_res5
"""
import argparse
import collections
import glob
import json
import subprocess
import time

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
import mxnet as mx
import numpy as np
from PIL import Image

from gluon_style import fast
from gluon_style.io import images
from gluon_style.nets.transformer import load_weights, transformer_net

CTX = mx.cpu()
#: every op the norms are made of, and the statistics' matrix products (under their fused
#: name too: the MKLDNN_QUANTIZE pass renames FullyConnected before exclusion is checked)
NORM_OPS = ["FullyConnected", "_sg_mkldnn_fully_connected", "elemwise_mul", "elemwise_add",
            "Concat"]
FIRST_LAST = {"johnson": ["down1_convolution", "out_convolution"],
              "magenta": ["contract1_", "expand3_"]}


def variants(net):
    """{name: (calib_mode, granularity, dtype, layer name parts kept fp32, (n, crop))}."""
    first, last = FIRST_LAST[net]
    if net == "johnson":
        parts = {"": [first, last], "_allconv": [], "_first": [first], "_last": [last],
                 "_resonly": [first, last, "down2_", "down3_"],
                 "_res1to4": [first, last, "down2_", "down3_", "res0_"],
                 "_res2to4": [first, last, "down2_", "down3_", "res0_", "res1_"]}
    else:
        parts = {"": [first, last], "_allconv": [], "_last": [last],
                 "_contract23": ["_res", "expand", first], "_contract123": ["_res", "expand"],
                 "_resonly": ["contract", "expand"],
                 "_res5": ["contract", "expand"] + ["_res%d_" % i for i in range(1, 5)]}
    out = {}
    for mode in ("naive", "entropy"):
        for gran in ("t", "c"):
            for dtype in ("int8", "auto"):
                for suffix, ex in parts.items():
                    for n, s in ((20, 256), (50, 256), (20, 512), (50, 512)):
                        size = "" if (n, s) == (20, 256) else "_n%d_s%d" % (n, s)
                        out["%s_%s_%s%s%s" % (mode, gran, dtype, suffix, size)] = (
                            mode, {"t": "tensor-wise", "c": "channel-wise"}[gran], dtype, ex,
                            (n, s))
    return out


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def tensor(img):
    return images.to_tensor([img], ctx=CTX)


def u8(out):
    return np.asarray(images.to_images(out)[0], np.int16)


def square(img, s):
    w, h = img.size
    m = min(w, h)
    box = ((w - m) // 2, (h - m) // 2, (w - m) // 2 + m, (h - m) // 2 + m)
    return img.crop(box).resize((s, s), Image.BICUBIC)


def calib_batch(folder, n, size):
    files = sorted(glob.glob(folder + "/*.jpg"))
    files = files[::max(1, len(files) // n)][:n]
    return mx.nd.concat(*[tensor(square(images.load_image(f), size)) for f in files], dim=0)


def diff(a, b):
    d = np.abs(a - b)
    return dict(max=int(d.max()), mean=float(d.mean()), gt1=float((d > 1).mean()),
                gt2=float((d > 2).mean()))


def fmt(ds):
    return "max %3d | mean %.3f | >1 %5.2f%% | >2 %6.3f%% (worst photo %.3f%%)" % (
        max(d["max"] for d in ds), np.mean([d["mean"] for d in ds]),
        100 * np.mean([d["gt1"] for d in ds]), 100 * np.mean([d["gt2"] for d in ds]),
        100 * max(d["gt2"] for d in ds))


def quantized_ops(block):
    nodes = json.loads(block._cached_graph[1].tojson())["nodes"]
    return collections.Counter(n["op"] for n in nodes)["_contrib_quantize_v2"]


def crops(pairs, path):
    tiles = []
    for ref, o in pairs:
        h, w = ref.shape[:2]
        cy, cx = h // 2 - 128, w // 2 - 128
        a, b = ref[cy:cy + 256, cx:cx + 256], o[cy:cy + 256, cx:cx + 256]
        tiles.append(np.concatenate([a, b, np.clip(np.abs(a - b) * 16, 0, 255)], axis=1))
    Image.fromarray(np.concatenate(tiles, axis=0).astype(np.uint8)).save(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--net", choices=("johnson", "magenta"), default="johnson")
    ap.add_argument("--params",
                    help="the Johnson network's weights")
    ap.add_argument("--variant", nargs="+", default=["entropy_t_auto"])
    ap.add_argument("--calib", required=True, help="a folder of training photos")
    ap.add_argument("--photos", nargs="+", required=True, help="held-out photos")
    ap.add_argument("--full", action="store_true", help="also at full size (max side 1120)")
    ap.add_argument("--time", action="store_true")
    args = ap.parse_args(argv)
    from mxnet.contrib.quantization import quantize_net_v2

    if args.net == "johnson":
        def fresh():
            net = transformer_net("full")
            load_weights(net, args.params, ctx=CTX)
            net.hybridize(static_alloc=True)
            return net
        styles = [None]
    else:
        ms = fast.load_multistyle()
        from gluon_style.fast.multistyle import load_net
        table_path = fast.list_styles()[ms.names[0]]["path"]

        def fresh():
            return load_net(table_path, ctx=CTX).transformer
        styles = [mx.nd.array(ms.table[i:i + 1]) for i in (0, 3, 6)]

    def run(net, x, style):
        return net(x) if style is None else net(x, style)

    print(uptime(), flush=True)
    ref = fresh()
    sizes = [512] + ([1120] if args.full else [])
    xs = {(p, s): tensor(images.resize_max_side(images.load_image(p), s, upscale=False))
          for p in args.photos for s in sizes}
    refs = {(k, i): u8(run(ref, x, st)) for k, x in xs.items() for i, st in enumerate(styles)}
    table = variants(args.net)
    nets, cals = {"fp32": ref}, {}
    for name in args.variant:
        mode, gran, dtype, ex, key = table[name]
        if key not in cals:
            cals[key] = calib_batch(args.calib, *key)
        cal = cals[key]
        if args.net == "johnson":
            data = cal
        else:  # each calibration photo with one of the styles in turn
            vec = np.stack([ms.table[i % len(ms.names)] for i in range(cal.shape[0])])
            data = {"data0": cal, "data1": mx.nd.array(vec)}
        t = time.time()
        qnet = fresh()
        qnet.batch_norms = False  # the matrix-product norms (NormAux): what oneDNN quantizes
        q = quantize_net_v2(qnet, quantized_dtype=dtype, quantize_granularity=gran,
                            calib_mode=mode, calib_data=mx.io.NDArrayIter(data, batch_size=1),
                            num_calib_examples=cal.shape[0], ctx=CTX,
                            exclude_operators=NORM_OPS,
                            exclude_layers_match=["fullyconnected"] + ex)
        q.hybridize(static_alloc=True)
        nets[name] = q
        for s in sizes:
            ds, pairs = [], []
            for (p, size), x in xs.items():
                if size != s:
                    continue
                for i, st in enumerate(styles):
                    o = u8(run(q, x, st))
                    ds.append(diff(refs[(p, size), i], o))
                    if s == 512 and i == 0 and p.endswith(("tubingen.jpg", "flowers.jpg")):
                        pairs.append((refs[(p, size), i], o))
            if pairs:
                crops(pairs, "crops_%s_%s.png" % (args.net, name))
            print("%-28s %4d %s [quantized in %.0f s, %d int8 convs]" % (
                name, s, fmt(ds), time.time() - t, quantized_ops(q)), flush=True)
    if args.time:
        base = images.load_image(args.photos[-1])
        for size, rounds in ((512, 6), (1024, 4)):
            x = tensor(base.resize((size, size)))
            fns = {k: (lambda b=b: run(b, x, styles[0]).wait_to_read()) for k, b in nets.items()}
            for f in fns.values():
                f()
                f()
            times = {k: [] for k in fns}
            print(uptime(), flush=True)
            for _ in range(rounds):
                for k, f in fns.items():
                    t0 = time.perf_counter()
                    f()
                    times[k].append(time.perf_counter() - t0)
            med0, min0 = np.median(times["fp32"]), np.min(times["fp32"])
            for k, v in times.items():
                print("time %4d %-28s median %.3f s  min %.3f s  speedup med %.2fx  min %.2fx"
                      % (size, k, np.median(v), np.min(v), med0 / np.median(v),
                         min0 / np.min(v)), flush=True)
            print(uptime(), flush=True)


if __name__ == "__main__":
    main()
