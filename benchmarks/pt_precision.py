"""PyTorch's bfloat16 autocast on a gluon_style per-style network, against float32.

Started by ``benchmarks/bench_precision.py --pt-python ... --pt-bench ...`` in
PyTorch's own venv (``python3 -m venv /tmp/ptv && /tmp/ptv/bin/pip install
torch==2.13.0 numpy``), never the project's. ``--data``: an ``.npz`` of the network's
float32 weights (``w:<gluon_style name>``), the photos (``photoI``, uint8 HxWx3) and
gluon_style's outputs for them (``ours32_I``, ``ours16_I``). The network is
``pt_bench.py``'s ``TransformerNet`` (pytorch/examples' architecture, the same as
``transformer_net("full")``: reflection pads, affine instance norms, nearest upsampling)
with those weights and gluon_style's linear output mapping (``0.5 + z / 4``, clipped).
Prints, in 8-bit levels over all photos: PyTorch float32 against gluon_style float32
(the same network: a level at most), PyTorch bfloat16 autocast against its float32,
gluon_style bfloat16 against its float32.
"""
import argparse
import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import numpy as np  # noqa: E402
import torch  # noqa: E402


def load_net(bench, w):
    sys.path.insert(0, os.path.dirname(os.path.abspath(bench)))
    import pt_bench
    net = pt_bench.TransformerNet().eval()
    body = net.body

    def put(layer, norm, name):
        layer.conv.weight.data.copy_(w[name + ".weight"])
        layer.conv.bias.data.copy_(w[name + ".bias"])
        if norm is not None:
            norm.weight.data.copy_(w[name + ".gamma"])
            norm.bias.data.copy_(w[name + ".beta"])
    for i, name in ((0, "down1"), (3, "down2"), (6, "down3"), (14, "up1"), (17, "up2")):
        put(body[i], body[i + 1], name)
    for r in range(5):
        block = body[9 + r]
        put(block.c1, block.n1, "res.%d.conv1" % r)
        put(block.c2, block.n2, "res.%d.conv2" % r)
    put(body[20], None, "out")
    return net, pt_bench.normalize


def paint(net, normalize, photo, bf16):
    x = torch.from_numpy(photo.astype(np.float32) / 255).permute(2, 0, 1)[None]
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        z = net(normalize(x)).float()
    y = torch.clamp(0.25 * z + 0.5, 0, 1)[0].permute(1, 2, 0).numpy() * 255
    return np.clip(np.round(y), 0, 255).astype(np.int16)[:photo.shape[0], :photo.shape[1]]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pt-bench", required=True)
    p.add_argument("--data", required=True)
    args = p.parse_args(argv)
    data = np.load(args.data)
    w = {k[2:]: torch.from_numpy(data[k]) for k in data.files if k.startswith("w:")}
    net, normalize = load_net(args.pt_bench, w)
    rows = {"PyTorch float32 vs ours float32": [], "PyTorch bf16 autocast vs its float32": [],
            "ours bfloat16 vs ours float32": []}
    for i in range(sum(k.startswith("photo") for k in data.files)):
        photo = data["photo%d" % i]
        p32, p16 = paint(net, normalize, photo, False), paint(net, normalize, photo, True)
        o32, o16 = (data["ours%s_%d" % (b, i)].astype(np.int16) for b in ("32", "16"))
        for key, (u, v) in zip(rows, ((p32, o32), (p16, p32), (o16, o32))):
            rows[key].append(np.abs(u - v).ravel())
    print("beside PyTorch %s (same weights, %d photos; 8-bit levels)" % (
        torch.__version__, len(rows[next(iter(rows))])))
    for key, parts in rows.items():
        d = np.concatenate(parts)
        print("  %-38s max %3d  mean %.3f  >1 %6.3f%%  >2 %6.3f%%" % (
            key, d.max(), d.mean(), 100 * (d > 1).mean(), 100 * (d > 2).mean()))


if __name__ == "__main__":
    main()
