"""Speed and flicker of video stylization, per-frame vs stabilized, by batch size.

    python benchmarks/bench_video.py --model STYLE.params IN.mp4 [IN2.mp4 ...]
        [--batch-sizes 1 2 4] [--weights 0 0.7] [--max-size N] [--frames N]
        [--save-frame K --save-dir DIR]

For each input, each temporal weight (0 = per-frame) and each batch size, the
whole job (decode, stylize, stabilize, encode) is timed and printed as
frames/s, with the flicker ratio (see ``gluon_style.fast.video.Flicker``: mean
absolute change between consecutive output frames over the input's) both on
the frames before encoding and on the encoded file. ``--save-frame K`` also
saves frame K of every weight's output as a PNG (and of the input) to look at,
with a detail figure (mean absolute Laplacian; stabilization softens a little).
A stabilization-only timing (flow + mask + blend, no network) and a network-only
timing per batch size (interleaved rounds, median) are printed too.
Outputs go to a temp folder unless ``--save-dir`` is given. Timings on a shared
2-core machine swing a lot with other load: the load average is printed.
"""
import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from gluon_style import fast  # noqa: E402  (sets OMP_NUM_THREADS first)
from gluon_style.fast import video  # noqa: E402  (sets OMP_NUM_THREADS first)


def _frame(path, k, size):
    info = video.probe(path)
    for i, f in enumerate(video.read_frames(info, size)):
        if i == k:
            return f
    raise SystemExit("%s has no frame %d" % (path, k))


def _detail(frame):
    """Mean absolute Laplacian of the gray frame: lower is blurrier."""
    import cv2
    import numpy as np
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(gray, cv2.CV_32F)).mean())


def _clip(src, frames, folder):
    """The first `frames` frames of `src` (stream copy is not exact: re-encode near-lossless)."""
    import subprocess
    dst = os.path.join(folder, "first%d_%s" % (frames, os.path.basename(src)))
    subprocess.run([video.ffmpeg_exe(), "-v", "error", "-y", "-i", src, "-frames:v", str(frames),
                    "-c:v", "libx264", "-crf", "10", "-c:a", "copy", dst], check=True)
    return dst


def bench_stabilizer(src, size, weight, n=30):
    """Seconds per frame of Stabilizer.motion + blend alone."""
    import numpy as np
    stab = video.Stabilizer(weight)
    frames = []
    for f in video.read_frames(video.probe(src), size):
        frames.append(f)
        if len(frames) == n:
            break
    t0 = time.perf_counter()
    for f in frames:
        stab.blend(f.astype(np.float32), stab.motion(f))
    return (time.perf_counter() - t0) / len(frames)


def bench_net(style, size, batch_sizes, rounds=3):
    """Median seconds per frame of the network alone (normalized input to NDArray
    output) per batch size; the batch sizes are interleaved in each round, so a
    busy neighbour slows them alike."""
    import statistics

    import mxnet as mx
    times = {bs: [] for bs in batch_sizes}
    for bs in batch_sizes:  # warm-up: one trace per shape
        style.net(mx.nd.zeros((bs, 3, size[1], size[0]), ctx=style.ctx)).wait_to_read()
    for _ in range(rounds):
        for bs in batch_sizes:
            x = mx.nd.random.normal(shape=(bs, 3, size[1], size[0]), ctx=style.ctx)
            t0 = time.perf_counter()
            style.net(x).wait_to_read()
            times[bs].append((time.perf_counter() - t0) / bs)
    return {bs: statistics.median(t) for bs, t in times.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("inputs", nargs="+", help="video files")
    p.add_argument("--model", required=True, help="a style name or .params file")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4],
                   help="0 means the library's choice (video.auto_batch_size)")
    p.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.7])
    p.add_argument("--max-size", type=int)
    p.add_argument("--frames", type=int, help="use only the first N frames of each input")
    p.add_argument("--save-frame", type=int, metavar="K")
    p.add_argument("--save-dir", help="keep the outputs (and PNGs) here")
    args = p.parse_args(argv)
    style = fast.load_style(args.model)
    folder = args.save_dir or tempfile.mkdtemp(prefix="bench_video_")
    os.makedirs(folder, exist_ok=True)
    print("model %s (%s), load average %s" % (args.model, style.variant,
                                              " ".join("%.2f" % x for x in os.getloadavg())))
    for src in args.inputs:
        if args.frames:
            src = _clip(src, args.frames, folder)
        info = video.probe(src)
        size = video.output_size(info.width, info.height, args.max_size)
        print("\n%s: %dx%d -> %dx%d, %s fps, ~%s frames, audio %s"
              % (src, info.width, info.height, size[0], size[1], info.rate, info.frames,
                 info.audio))
        print("stabilizer alone: %.1f ms/frame" % (1000 * bench_stabilizer(src, size, 0.7)))
        net = bench_net(style, size, [bs for bs in args.batch_sizes if bs > 0])
        print("network alone: " + ", ".join("batch %d %.0f ms/frame" % (bs, 1000 * t)
                                            for bs, t in net.items()))
        print("%-7s %-6s %9s %14s %14s" % ("weight", "batch", "frames/s", "flicker(raw)",
                                           "flicker(file)"))
        for weight in args.weights:
            for bs in args.batch_sizes:
                stem = os.path.splitext(os.path.basename(src))[0]
                dst = os.path.join(folder, "%s_w%g_b%d.mp4" % (stem, weight, bs))
                job = video.stylize_video(style, src, dst, temporal_weight=weight,
                                          batch_size=bs or None, max_size=args.max_size)
                t0 = time.perf_counter()
                for _ in job:
                    pass
                fps = job.frames / (time.perf_counter() - t0)
                on_file = video.flicker(dst, src)
                print("%-7g %-6d %9.2f %14.3f %14.3f" % (weight, job.batch_size, fps,
                                                         job.flicker.ratio, on_file.ratio),
                      flush=True)
            if args.save_frame is not None:
                from PIL import Image
                png = os.path.join(folder, "%s_w%g_frame%d.png" % (stem, weight, args.save_frame))
                frame = _frame(dst, args.save_frame, size)
                Image.fromarray(frame).save(png)
                print("saved %s (detail: mean |Laplacian| %.2f)" % (png, _detail(frame)))
        if args.save_frame is not None:
            from PIL import Image
            png = os.path.join(folder, "%s_input_frame%d.png" % (stem, args.save_frame))
            Image.fromarray(_frame(src, args.save_frame, size)).save(png)
            print("saved", png)
    print("\nload average %s; outputs in %s"
          % (" ".join("%.2f" % x for x in os.getloadavg()), folder))


if __name__ == "__main__":
    main()
