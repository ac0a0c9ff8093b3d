"""Speed and memory of the fast-mode transformer (random weights, CPU).

Prints, per variant ("full", "small"):

* ``infer_S``: ms per image for one forward pass at S x S (batch 1,
  hybridized with static_alloc/static_shape, median of --reps after warm-up);
* ``train_b4_256``: ms per training step at batch 4, 256 x 256: transformer
  forward, VGG16 (model zoo ``features[:23]``, to relu4_3, random weights) on
  the output and, without gradient, on the input; content loss at relu2_2,
  Gram style losses at relu1_2/2_2/3_3/4_3, total variation; backward; Adam;
  once with the whole batch per pass, once (``.../m2``) in passes of
  ``--micro-batch`` images with gradients summed, as ``StyleTrainer`` does by
  default (the same step; the trainer also stops the input's VGG pass at the
  content layer, which this workload keeps, like the PyTorch one);
* with ``--precision float32 bfloat16``, each ``infer_S`` also in bfloat16
  (``infer_S/VARIANT/bf16``: the converted graph ``fast --precision bfloat16`` runs);
* the peak RSS of each configuration, each run in its own subprocess.

The workloads are the ones of the PyTorch reference ``pt_bench.py`` (keys
``tinfer_S/eager`` and ``train_b4_256/eager``); run it in the same sitting::

    python benchmarks/bench_transformer.py
    /tmp/ptv/bin/python <shared bench folder>/pt_bench.py --only tinfer train

``--pt results_pt.json`` (the file pt_bench.py writes) adds PyTorch's median
and the ratio to the table. (pt_bench.py stops before ``tinfer`` unless some
``gatys`` workload is selected too, e.g. ``--only tinfer train gatys_256/eager``;
its peak RSS is per process, not per workload.) Needs no network and no
pretrained weights. Timings on a shared 2-core machine swing by 2x or more
when another process is busy (the load average is printed before and after).
The package waits in OpenMP as ``OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=3000``
unless told otherwise; PyTorch, by its own default, spins long (libgomp: 300,000
spins), which is faster on an idle machine and up to 3-10x slower beside a busy
neighbour (``docs/precision.md``, "OpenMP's waits"): give both the same settings
when the machine is busy.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STYLE_TAPS = (3, 8, 15, 22)  # relu1_2, relu2_2, relu3_3, relu4_3 in vgg16().features
CONTENT_TAP = 8  # relu2_2
CONTENT_W, STYLE_W, TV_W = 1.0, 1e5, 1e-6  # the PyTorch reference's weights


def _time(fn, warmup, reps, budget_s):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < reps:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 3 and time.perf_counter() - start > budget_s:
            break
    return times


def _loss_net_class():
    from mxnet import gluon

    class LossNet(gluon.HybridBlock):
        """VGG16 to relu4_3 on the transformer output and the perceptual losses.

        Shapes are fixed at construction (batch, size), so every mean is a sum
        divided by a constant; sums are dot products (MXNet's reductions are
        slow on the CPU).
        """

        def __init__(self, batch, size, **kwargs):
            super().__init__(**kwargs)
            from mxnet.gluon.model_zoo import vision
            self._batch, self._size = batch, size
            with self.name_scope():
                self.vgg = vision.vgg16().features[:STYLE_TAPS[-1] + 1]

        def hybrid_forward(self, F, y, content, *style_grams):
            n, s = self._batch, self._size
            taps = _taps(self.vgg, y)
            loss = CONTENT_W * _sumsq(F, taps[1] - content) / (n * 128 * (s // 2) ** 2)
            for i, (f, g) in enumerate(zip(taps, style_grams)):
                c, side = 64 << i, s >> i
                d = F.broadcast_sub(gram(F, f, c * side * side), g)
                loss = loss + STYLE_W * _sumsq(F, d) / (n * c * c)
            dh = F.slice_axis(y, axis=2, begin=1, end=None) - F.slice_axis(y, 2, 0, -1)
            dw = F.slice_axis(y, axis=3, begin=1, end=None) - F.slice_axis(y, 3, 0, -1)
            return loss + TV_W * (_sumsq(F, dh) + _sumsq(F, dw)) / (n * 3 * (s - 1) * s)

    class Features(gluon.HybridBlock):
        """The loss net's VGG taps alone (for targets, outside autograd)."""

        def __init__(self, vgg, **kwargs):
            super().__init__(**kwargs)
            self.vgg = vgg

        def hybrid_forward(self, F, x):
            return tuple(_taps(self.vgg, x))

    return LossNet, Features


def _taps(vgg, x):
    taps = []
    for i, layer in enumerate(vgg):
        x = layer(x)
        if i in STYLE_TAPS:
            taps.append(x)
    return taps


def gram(F, f, chw):
    """Gram matrices ``(N, C, C)`` of features ``(N, C, H, W)``, divided by `chw`."""
    rows = f.reshape((0, 0, -1))
    return F.batch_dot(rows, rows, transpose_b=True) / chw


def _sumsq(F, d):
    d = d.reshape((1, -1))
    return F.dot(d, d, transpose_b=True).reshape((1,))


def run_worker(kind, variant, size, reps, micro=4, precision="float32"):
    """One configuration in this process; returns the result dict."""
    import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before MXNet loads)
    import mxnet as mx
    from mxnet import autograd, gluon, nd
    from gluon_style.nets.transformer import transformer_net

    mx.random.seed(0)
    net = transformer_net(variant)
    net.initialize()
    static = dict(static_alloc=True, static_shape=True)
    net.hybridize(**static)
    if kind == "infer":
        from gluon_style.precision import Precise
        x = nd.random.normal(shape=(1, 3, size, size))
        forward = Precise(net, precision)  # what fast --precision runs

        def step():
            forward(x).wait_to_read()
        times = _time(step, warmup=1 if size >= 1024 else 2,
                      reps=min(reps, 5) if size >= 1024 else reps, budget_s=15)
    else:
        batch = 4
        loss_cls, features_cls = _loss_net_class()
        loss_net = loss_cls(batch, size)
        loss_net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="out", magnitude=2))
        loss_net.collect_params().setattr("grad_req", "null")
        loss_net.hybridize(**static)
        features = features_cls(loss_net.vgg)
        features.hybridize(**static)
        trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 1e-3})
        style_grams = [gram(nd, f, f[0].size)
                       for f in features(nd.random.normal(shape=(batch, 3, size, size)))]
        style_grams = [g[:1] for g in style_grams]  # one style image, same graph shapes
        x = nd.random.normal(shape=(batch, 3, size, size))

        if micro < batch:  # as StyleTrainer: passes of `micro` images, gradients summed
            net.collect_params().setattr("grad_req", "add")
            loss_net = loss_cls(micro, size, params=loss_net.collect_params())
            loss_net.hybridize(**static)
        trained = [p for p in net.collect_params().values() if p.grad_req != "null"]

        def step():
            for p in trained:
                p.zero_grad()
            for i in range(0, batch, micro):
                xm = x[i:i + micro]
                content = features(xm)[STYLE_TAPS.index(CONTENT_TAP)]
                with autograd.record():
                    loss = loss_net(net(xm), content, *style_grams) * (micro / batch)
                loss.backward()
            trainer.step(batch)
            nd.waitall()
        times = _time(step, warmup=2, reps=min(reps, 5), budget_s=30)
    return {
        "key": "%s_%s/%s" % (kind, "b4_%d" % size if kind == "train" else size, variant)
               + ("/m%d" % micro if kind == "train" and micro < 4 else "")
               + ("/bf16" if precision == "bfloat16" else ""),
        "median_ms": statistics.median(times) * 1e3,
        "min_ms": min(times) * 1e3,
        "reps": len(times),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "threads": os.environ.get("OMP_NUM_THREADS"),
    }


def _trainer_micro_batch():
    import inspect
    sys.path.insert(0, ROOT)
    from gluon_style.fast.train import StyleTrainer
    return inspect.signature(StyleTrainer).parameters["micro_batch"].default


def _pt_results(path):
    if not path:
        return {}
    with open(path) as f:
        res = json.load(f)["results"]
    return {k.split("/")[0]: v for k, v in res.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024],
                    help="inference image sides (default: 256 512 1024)")
    ap.add_argument("--reps", type=int, default=7, help="timed runs per config (default: 7)")
    ap.add_argument("--quick", action="store_true",
                    help="256 and 512 only, 3 reps: a smoke run of a minute or two")
    ap.add_argument("--variants", nargs="+", default=["full", "small"], choices=["full", "small"])
    ap.add_argument("--only", nargs="+", choices=["infer", "train"], default=["infer", "train"])
    ap.add_argument("--micro-batch", type=int, nargs="+", default=[4, _trainer_micro_batch()],
                    help="training: images per forward/backward pass, as StyleTrainer's "
                         "micro_batch (default: 4, the whole batch, and the trainer's default)")
    ap.add_argument("--precision", nargs="+", default=["float32"],
                    choices=["float32", "bfloat16"], help="inference precision(s)")
    ap.add_argument("--pt", metavar="JSON", help="pt_bench.py results file, to print ratios")
    ap.add_argument("--json", metavar="FILE", help="also write the results here")
    ap.add_argument("--worker", nargs=3, metavar=("KIND", "VARIANT", "SIZE"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        kind, variant, size = args.worker
        print(json.dumps(run_worker(kind, variant, int(size), args.reps, args.micro_batch[0],
                                    args.precision[0])))
        return 0
    if args.quick:
        args.sizes, args.reps = [s for s in args.sizes if s <= 512] or [256], 3
    micros = sorted(set(args.micro_batch), reverse=True)
    configs = [(k, v, s, m, p) for v in args.variants
               for k, sizes in (("infer", args.sizes), ("train", [256])) if k in args.only
               for s in sizes for m in (micros if k == "train" else [4])
               for p in (args.precision if k == "infer" else ["float32"])]
    pt = _pt_results(args.pt)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    results = []
    print("load average %.2f %.2f %.2f" % os.getloadavg())
    print("%-25s %10s %10s %9s %12s %7s" % ("config", "median ms", "min ms", "peak MB",
                                             "pytorch ms", "ratio"), flush=True)
    for kind, variant, size, micro, prec in configs:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--reps", str(args.reps),
                               "--micro-batch", str(micro), "--precision", prec,
                               "--worker", kind, variant, str(size)],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            print("%s %s %d failed:\n%s" % (kind, variant, size, proc.stderr[-2000:]))
            return 1
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        ref = pt.get("tinfer_%d" % size if kind == "infer" else "train_b4_%d" % size)
        ref_ms = ref["median_ms"] if ref and variant == "full" else None
        print("%-25s %10.1f %10.1f %9.0f %12s %7s" % (
            r["key"], r["median_ms"], r["min_ms"], r["peak_rss_mb"],
            "%.1f" % ref_ms if ref_ms else "-",
            "%.2f" % (r["median_ms"] / ref_ms) if ref_ms else "-"), flush=True)
    print("OMP_NUM_THREADS=%s; ratio = MXNet / PyTorch median (full variant only); "
          "load average %.2f %.2f %.2f" % ((results[0]["threads"] if results else "?",)
                                           + os.getloadavg()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
