"""PyTorch reference of Magenta's arbitrary-style networks, for speed (random weights).

Runs in its own venv, never the project's (a CPU wheel of this version is on
local disk here)::

    python3 -m venv /tmp/ptv && /tmp/ptv/bin/pip install torch==2.13.0

The same networks as :mod:`gluon_style.nets.magenta`, written as Magenta defines
them, in plain PyTorch: the transformer (reflect-padded convs 9x9/8, 3x3/16
and 3x3/32 at stride 2 with ReLU, 5 residual blocks of 32 channels, two
nearest-upsample + reflect-pad + 3x3 convs, a 9x9 conv to RGB, conditional
instance norms: ``InstanceNorm2d`` then the scale and shift of two linear
maps of the style vector, a sigmoid) and the style predictor (MobileNet-v2
with TensorFlow's SAME padding, mean over the image, 1x1 conv to the 100
numbers). Input and output normalized as the package's tensors, like the
Gluon networks. Random weights: the speed does not depend on them.

``benchmarks/bench_arbitrary.py --pytorch /tmp/ptv/bin/python`` starts this
script as a worker (``--worker``: one JSON request per line on stdin,
``{"net": "transformer"|"predictor", "size": S, "reps": N, "layout":
"contiguous"|"channels_last"}``, answered by ``{"times": [seconds, ...]}``
after one untimed warm-up run per configuration) and alternates it with the
Gluon networks in one sitting. Alone, it prints the median of each workload::

    /tmp/ptv/bin/python benchmarks/pt_arbitrary.py [--reps 5]
"""
import argparse
import json
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

STYLE_DIM = 100
CHANNELS = (8, 16, 32)
N_RESIDUAL = 5
MOBILENET_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class CondConv(nn.Module):
    """[nearest-up x2,] reflect-pad, conv, conditional instance norm, [ReLU]."""

    def __init__(self, cin, cout, k, up=False, relu=True):
        super().__init__()
        self.up, self.relu, self.pad = up, relu, k // 2
        self.conv = nn.Conv2d(cin, cout, k)
        self.norm = nn.InstanceNorm2d(cout, eps=1e-5, affine=False)
        self.gamma = nn.Linear(STYLE_DIM, cout)
        self.beta = nn.Linear(STYLE_DIM, cout)

    def forward(self, x, style):
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        y = self.norm(self.conv(F.pad(x, (self.pad,) * 4, mode="reflect")))
        y = y * self.gamma(style)[:, :, None, None] + self.beta(style)[:, :, None, None]
        return F.relu(y) if self.relu else y


class CondResidual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.conv2 = CondConv(c, c, 3), CondConv(c, c, 3, relu=False)

    def forward(self, x, style):
        return x + self.conv2(self.conv1(x, style), style)


class StyleTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        c1, c2, c3 = CHANNELS
        self.contract = nn.ModuleList([nn.Conv2d(cin, cout, k, s) for cin, cout, k, s in
                                       [(3, c1, 9, 1), (c1, c2, 3, 2), (c2, c3, 3, 2)]])
        self.steps = nn.ModuleList([CondResidual(c3) for _ in range(N_RESIDUAL)] + [
            CondConv(c3, c2, 3, up=True), CondConv(c2, c1, 3, up=True),
            CondConv(c1, 3, 9, relu=False)])

    def forward(self, x, style):
        h = x * STD + MEAN
        for conv in self.contract:
            k = conv.kernel_size[0]
            h = F.relu(conv(F.pad(h, (k // 2,) * 4, mode="reflect")))
        for step in self.steps:
            h = step(h, style)
        out = torch.sigmoid(h[:, :, :x.shape[2], :x.shape[3]])
        return (out - MEAN) / STD


def _same(k, s):
    """TensorFlow's SAME padding for even sides (F.pad order: left, right, top, bottom)."""
    if s == 1:
        return (k // 2,) * 4
    lo = (k - s) // 2
    return (lo, k - s - lo, lo, k - s - lo)


class ConvAct(nn.Module):
    def __init__(self, cin, cout, k=1, s=1, groups=1, relu6=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, groups=groups)
        self.padding, self.relu6 = _same(k, s), relu6

    def forward(self, x):
        y = self.conv(F.pad(x, self.padding) if any(self.padding) else x)
        return F.hardtanh(y, 0.0, 6.0) if self.relu6 else y


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, t, s):
        super().__init__()
        hidden = cin * t
        layers = [ConvAct(cin, hidden)] if t != 1 else []
        layers += [ConvAct(hidden, hidden, 3, s, groups=hidden), ConvAct(hidden, cout, relu6=False)]
        self.body, self.add = nn.Sequential(*layers), s == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.add else y


class StylePredictor(nn.Module):
    def __init__(self):
        super().__init__()
        layers, cin = [ConvAct(3, 32, 3, 2)], 32
        for t, c, n, s in MOBILENET_STAGES:
            for r in range(n):
                layers.append(InvertedResidual(cin, c, t, s if r == 0 else 1))
                cin = c
        layers.append(ConvAct(cin, 1280))
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(1280, STYLE_DIM, 1)

    def forward(self, x):
        h = self.body(x * STD + MEAN).mean(dim=(2, 3), keepdim=True)
        return self.out(h).flatten(1)


class Bench:
    """The networks and their inputs, built once per configuration."""

    def __init__(self):
        torch.manual_seed(0)
        self.nets = {"transformer": StyleTransformer().eval(),
                     "predictor": StylePredictor().eval()}
        self.ready = {}

    def fn(self, net, size, layout):
        key = (net, size, layout)
        if key not in self.ready:
            fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
            model = self.nets[net].to(memory_format=fmt)
            x = torch.rand(1, 3, size, size).contiguous(memory_format=fmt)
            style = torch.rand(1, STYLE_DIM)

            def run():
                with torch.no_grad():
                    return model(x, style) if net == "transformer" else model(x)
            run()  # warm-up
            self.ready[key] = run
        return self.ready[key]

    def times(self, net, size, reps, layout="contiguous"):
        fn = self.fn(net, size, layout)
        out = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return out


def worker():
    bench = Bench()
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}),
          flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        print(json.dumps({"times": bench.times(req["net"], req["size"], req["reps"],
                                               req.get("layout", "contiguous"))}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", action="store_true")
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args()
    if args.worker:
        return worker()
    bench = Bench()
    print("torch %s, %d threads" % (torch.__version__, torch.get_num_threads()))
    for net, size in (("transformer", 512), ("transformer", 1024), ("predictor", 256)):
        for layout in ("contiguous", "channels_last"):
            ms = 1000 * statistics.median(bench.times(net, size, args.reps, layout))
            print("%s_%d %-14s %8.1f ms" % (net, size, layout, ms))


if __name__ == "__main__":
    main()
