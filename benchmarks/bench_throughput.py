"""Throughput as users see it: a folder of mixed-size photos and a 720p video, end to end.

    PYTHONPATH=. python benchmarks/bench_throughput.py --photos PHOTO_FOLDER
        [--model starry_night | --model STYLE.params] [--n 20] [--format jpg|png]
        [--rounds 2] [--fresh N] [--video-seconds 5] [--video-rounds N] [--no-folder]
        [--no-video]
        [--workdir DIR] [--json FILE]

(a) Folder: `--n` JPEGs (``--format png``: PNGs) made from the photos of
PHOTO_FOLDER (sorted; each centre-cropped and resized, deterministically, to a
long side spread evenly over 400..1280 px, landscape and portrait alternating,
aspect 4:3, 3:2, 16:9 or 1:1; each size twice, the second half of the folder
repeating the first's sizes; ``--sizes-each 1``: every size once)
are stylized through the ``fast`` CLI's own code path in this process
(``gluon_style.cli.fast.run_fast``; the process keeps the memory it frees, as the
CLI's does: ``gluon_style.runtime.keep_freed_memory``, ``GLUON_STYLE_KEEP_MEMORY=0`` to
compare). Start-up (import of the package and MXNet, and the style's load) is timed
on its own, first. Each round runs the CLI on the folder (images/s, s/image, and the
time spent in decode, forward, encode and write; the CLI decodes and encodes in its I/O
thread beside the forward passes, so those overlap), then
measures for the same images, separately, one decode + one forward pass at that
size (the second call at that shape; the first call's is printed too) + one
encode, and prints the ratio CLI / that sum (the goal: within 1.10), the same
ratio by CPU time (user + system of every thread, which a busy neighbour moves less
than the clock; the CLI's includes its check and its I/O thread), and the CLI's
forward calls (in input order) at sizes new to the run against
those at a size it ran before.

Memory the process has not touched yet costs the most in round 0: the CLI's growth
in resident memory is printed beside the cost of touching new memory on this machine
(on a virtual machine whose host takes back freed memory, pages new to the process
cost far more than a kernel's zeroing).

(a') ``--fresh N``: the same folder through N runs of ``python -m gluon_style.transfer
fast``, each in a new process, each followed by the reference above in this process: the
ratio of the seconds the CLI prints for its images (after its start-up, its check of the
inputs and its style load) to that sum, per run and the median.

(b) Video: a ``--video-seconds`` 1280x720 30 fps clip (a slow pan and zoom over
the first photo, made with the ``imageio-ffmpeg`` binary) through the ``video``
CLI's code path (``run_video``), stabilized (the default weight) and not:
frames/s end to end and the time in decode (waiting for the decoder's frames),
forward (the network and pixel conversion), flow/stabilization and encode
(waiting to write to the encoder), plus the CPU time of the ffmpeg children.

The machine may be shared: the load average is printed beside each table, and
the rounds alternate the CLI run and the reference measurements so a busy
neighbour slows both alike. ``--json FILE`` writes every figure.
"""
import argparse
import json
import os
import resource
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

ASPECTS = ((4, 3), (3, 2), (16, 9), (1, 1))


def load():
    return " ".join("%.2f" % x for x in os.getloadavg())


def rss_mb():
    """This process's resident memory, MB (Linux; None elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2 ** 20
    except (OSError, ValueError):
        return None


def cpu_s():
    """This process's CPU time, user + system, every thread (s): less moved by a busy
    neighbour than the clock (it leaves out the time others had the cores)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def touch_cost(mb=256):
    """Seconds per GB to touch memory new to a process, measured in a child process (so
    this one's heap is left as it is): a `memset` of `mb` MB from ``malloc``, allocated as
    the CLI's process allocates (:func:`gluon_style.runtime.keep_freed_memory`: from the
    heap, in small pages, as MXNet's arrays; numpy asks for huge pages for its large
    arrays, which cost several times more a GB on a VM like the one in
    ``docs/precision.md``, "Phase form")."""
    import subprocess
    code = ("import ctypes, sys, time; sys.path.insert(0, %r); from gluon_style import runtime; "
            "runtime.keep_freed_memory(); libc = ctypes.CDLL(None); "
            "libc.malloc.restype = ctypes.c_void_p; n = ctypes.c_size_t(%d << 20); "
            "p = ctypes.c_void_p(libc.malloc(n)); t = time.perf_counter(); "
            "libc.memset(p, 1, n); print(time.perf_counter() - t)" % (ROOT, mb))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return float(out) * 1024 / mb


def make_folder(photos, folder, n, lo=400, hi=1280, ext="jpg", each=2):
    """`n` JPEGs of mixed sizes in `folder` from the images of `photos` (deterministic),
    `each` of every size."""
    from PIL import Image
    exts = (".jpg", ".jpeg", ".png", ".bmp")
    srcs = sorted(os.path.join(photos, f) for f in os.listdir(photos)
                  if f.lower().endswith(exts))
    if not srcs:
        raise SystemExit("no photos in %s" % photos)
    os.makedirs(folder, exist_ok=True)
    made = []
    kinds = -(-n // each)  # each size `each` times, apart (as a camera's photos share sizes)
    for i in range(n):
        k = i % kinds
        long_side = round(lo + (hi - lo) * k / max(kinds - 1, 1))
        a, b = ASPECTS[k % len(ASPECTS)]
        w, h = long_side, max(16, round(long_side * b / a))
        if k % 2:
            w, h = h, w
        img = Image.open(srcs[(i * 7) % len(srcs)]).convert("RGB")
        s = max(w / img.width, h / img.height)
        cw, ch = min(img.width, round(w / s)), min(img.height, round(h / s))
        x0, y0 = (img.width - cw) // 2, (img.height - ch) // 2
        img = img.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.LANCZOS)
        path = os.path.join(folder, "%02d_%dx%d.%s" % (i, w, h, ext))
        img.save(path, **({"quality": 92} if ext == "jpg" else {}))
        made.append(path)
    return made


class Timers:
    """Seconds spent in wrapped functions, by stage name."""

    def __init__(self):
        self.t, self.patched = {}, []

    def wrap(self, owner, attr, stage, when=None, calls=None):
        """Time `owner.attr` as `stage` (`calls`, a function of the call's arguments: each
        call's ``(seconds, calls(*args))`` kept in ``self.calls``)."""
        real = getattr(owner, attr)
        self.calls = getattr(self, "calls", {})

        def timed(*a, **kw):
            if when is not None and not when():
                return real(*a, **kw)
            t0 = time.perf_counter()
            try:
                return real(*a, **kw)
            finally:
                dt = time.perf_counter() - t0
                self.t[stage] = self.t.get(stage, 0.0) + dt
                if calls:
                    self.calls.setdefault(stage, []).append((dt, calls(*a, **kw)))
        setattr(owner, attr, timed)
        self.patched.append((owner, attr, real))

    def wrap_generator(self, owner, attr, stage):
        """Time spent waiting in next() of the generators `owner.attr` returns."""
        real = getattr(owner, attr)
        timers = self

        def timed(*a, **kw):
            it = real(*a, **kw)

            def gen():
                try:
                    while True:
                        t0 = time.perf_counter()
                        try:
                            x = next(it)
                        except StopIteration:
                            return
                        finally:
                            timers.t[stage] = timers.t.get(stage, 0.0) + time.perf_counter() - t0
                        yield x
                finally:
                    it.close()
            return gen()
        setattr(owner, attr, timed)
        self.patched.append((owner, attr, real))

    def undo(self):
        for owner, attr, real in reversed(self.patched):
            setattr(owner, attr, real)
        self.patched = []


def folder_cli(inputs_dir, out_dir, model):
    """One ``fast`` CLI run on a folder, in process: (seconds, stage seconds, the forward
    calls' seconds, CPU seconds)."""
    from gluon_style import fast
    from gluon_style.cli import fast as cli
    from gluon_style.io import images
    timers, phase = Timers(), {"checking": False}
    real_check = fast.check_contents

    def check(*a, **kw):
        phase["checking"] = True
        t0 = time.perf_counter()
        try:
            return real_check(*a, **kw)
        finally:
            phase["checking"] = False
            timers.t["check (decode all first)"] = time.perf_counter() - t0
    fast.check_contents = check
    timers.wrap(cli, "load_style_source", "style load")
    timers.wrap(images, "load_image", "decode", when=lambda: not phase["checking"])
    timers.wrap(fast.FastStyle, "__call__", "forward",  # each call's image sizes
                calls=lambda self, imgs, *a, **kw: tuple(tuple(i.size) for i in imgs))
    timers.wrap(images, "encode_image", "encode")  # decode and encode: in the I/O thread,
    timers.wrap(images, "write_bytes", "write")    # beside the forward passes
    t0, c0 = time.perf_counter(), cpu_s()
    try:
        code = cli.run_fast(["--model", model, "--content", inputs_dir, "--output", out_dir,
                             "--quiet"])
    finally:
        seconds, cpu = time.perf_counter() - t0, cpu_s() - c0
        timers.undo()
        fast.check_contents = real_check
    if code != 0:
        raise SystemExit("fast CLI failed (%s)" % code)
    return seconds, timers.t, timers.calls.get("forward", []), cpu


def reference(paths, out_dir, style):
    """Per image, in the CLI's (input) order (the process's memory then goes the same
    way): decode, first and second forward at its size, encode (seconds
    each), and the CPU seconds of the decode, the second forward and the encode."""
    from gluon_style import fast
    from gluon_style.io import images
    rows = []
    for p in paths:
        c0, t0 = cpu_s(), time.perf_counter()
        img = fast.load_content(p)
        t1, c1 = time.perf_counter(), cpu_s()
        style(img)
        c2, t2 = cpu_s(), time.perf_counter()
        out = style(img)
        t3, c3 = time.perf_counter(), cpu_s()
        images.save_image(out, os.path.join(out_dir, os.path.basename(p)))
        t4, c4 = time.perf_counter(), cpu_s()
        rows.append({"image": os.path.basename(p), "size": list(img.size), "decode": t1 - t0,
                     "forward_first": t2 - t1, "forward": t3 - t2, "encode": t4 - t3,
                     "cpu": (c1 - c0) + (c3 - c2) + (c4 - c3)})
    return rows


def run_folder(args, work, result):
    from gluon_style import fast
    src = os.path.join(work, "folder")
    paths = make_folder(args.photos, src, args.n, ext=args.format, each=args.sizes_each)
    n = len(paths)
    style = fast.load_style(args.model)
    rounds = []
    print("\n(a) folder: %d %s files, long side 400..1280 px, model %s"
          % (n, args.format.upper(), args.model))
    for r in range(args.rounds):
        out = os.path.join(work, "out_cli_%d" % r)
        before, rss0 = load(), rss_mb()
        seconds, stages, calls, cpu = folder_cli(src, out, args.model)
        rss1 = rss_mb()
        per_gb = touch_cost()
        os.makedirs(os.path.join(work, "out_ref_%d" % r), exist_ok=True)
        ref = reference(paths, os.path.join(work, "out_ref_%d" % r), style)
        ref_sum = sum(x["decode"] + x["forward"] + x["encode"] for x in ref)
        ref_first = sum(x["decode"] + x["forward_first"] + x["encode"] for x in ref)
        stylize = seconds - stages.get("style load", 0.0) - stages.get(
            "check (decode all first)", 0.0)
        row = {"round": r, "load_before": before, "load_after": load(), "cli_seconds": seconds,
               "cli_stages": stages, "cli_images_per_s": n / seconds,
               "cli_s_per_image": seconds / n, "cli_stylize_s_per_image": stylize / n,
               "ref_s_per_image": ref_sum / n, "ref_first_s_per_image": ref_first / n,
               "ratio": seconds / ref_sum, "ratio_stylize": stylize / ref_sum,
               "reference": ref, "rss_mb": [rss0, rss1], "touch_s_per_gb": per_gb}
        rounds.append(row)
        print("round %d (load %s -> %s; resident memory %s -> %s MB over the CLI run; new "
              "memory costs %.2f s/GB here, so the growth about %.2f s)"
              % (r, before, row["load_after"], rss0, rss1, per_gb,
                 per_gb * max(0, (rss1 or 0) - (rss0 or 0)) / 1024))
        print("  CLI  %6.2f s  %5.3f images/s  %6.3f s/image  (stages: %s)"
              % (seconds, n / seconds, seconds / n,
                 ", ".join("%s %.2f s" % kv for kv in sorted(stages.items()))))
        print("  sum of decode + forward (2nd call at its size) + encode: %6.3f s/image "
              "(decode %.3f, forward %.3f [1st call %.3f], encode %.3f)"
              % (ref_sum / n, sum(x["decode"] for x in ref) / n,
                 sum(x["forward"] for x in ref) / n, sum(x["forward_first"] for x in ref) / n,
                 sum(x["encode"] for x in ref) / n))
        ref_cpu = sum(x["cpu"] for x in ref)
        row["cli_cpu_s"], row["ref_cpu_s"] = cpu, ref_cpu
        row["ratio_cpu"] = cpu / ref_cpu if ref_cpu else None
        print("  ratio CLI / sum: %.3f whole run, %.3f without style load and check "
              "(target <= 1.10); by CPU time (user + system) %.3f whole run"
              % (row["ratio"], row["ratio_stylize"], row["ratio_cpu"] or float("nan")))
        # the CLI's forward calls (in input order) at a size first seen in this run,
        # and at a size it ran before
        seen, first, again = set(), [], []
        for dt, sizes in calls:
            (again if sizes in seen else first).append(dt)
            seen.add(sizes)
        row["cli_forward_calls"] = [[dt, [list(s) for s in sizes]] for dt, sizes in calls]
        if first and again:
            print("  CLI forward calls: %d at a size new to the run %.2f s (%.3f s each), %d at "
                  "a size run before %.2f s (%.3f s each)"
                  % (len(first), sum(first), sum(first) / len(first), len(again), sum(again),
                     sum(again) / len(again)))
    result["folder"] = {"n": n, "model": args.model, "rounds": rounds,
                        "images": [os.path.basename(p) for p in paths]}
    print("folder: %.3f images/s, %.3f s/image, ratio %.3f in round 0 (every size new to the "
          "process, as in a fresh CLI run); best round %.3f images/s, ratio %.3f"
          % (rounds[0]["cli_images_per_s"], rounds[0]["cli_s_per_image"], rounds[0]["ratio"],
             max(x["cli_images_per_s"] for x in rounds), min(x["ratio"] for x in rounds)))
    return paths, style


def fresh_cli(inputs_dir, out_dir, model):
    """One ``fast`` CLI run on a folder in a new process (``python -m
    gluon_style.transfer``): (the process's seconds, the seconds the CLI prints for its
    images: after its start-up, the check of the inputs and the style's load)."""
    import re
    import subprocess
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gluon_style.transfer", "fast", "--model", model,
                           "--content", inputs_dir, "--output", out_dir, "--quiet"],
                          capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    found = re.search(r"in ([0-9.]+) s,", done.stdout)
    if done.returncode != 0 or not found:
        raise SystemExit("fast CLI failed (%s): %s" % (done.returncode, done.stderr.strip()))
    return wall, float(found.group(1))


def run_fresh(args, work, result, paths, style):
    """`--fresh N`: N CLI runs on the folder of `paths`, each in a new process, each
    followed by the reference in this one with `style` (every size seen by the rounds):
    the ratio of what the CLI prints for its images to the sum of decode + forward +
    encode, and the median."""
    import statistics
    src = os.path.dirname(paths[0])
    os.makedirs(os.path.join(work, "out_ref_fresh"), exist_ok=True)
    print("\n(a') folder in fresh processes: %d %s files, model %s"
          % (len(paths), args.format.upper(), args.model))
    runs = []
    for r in range(args.fresh):
        before = load()
        wall, cli_s = fresh_cli(src, os.path.join(work, "out_fresh_%d" % r), args.model)
        ref = reference(paths, os.path.join(work, "out_ref_fresh"), style)
        ref_sum = sum(x["decode"] + x["forward"] + x["encode"] for x in ref)
        runs.append({"process_s": wall, "cli_s": cli_s, "ref_s": ref_sum,
                     "ratio": cli_s / ref_sum, "load_before": before, "load_after": load()})
        print("  run %d (load %s): process %.2f s, the CLI's images %.2f s (%.3f images/s) "
              "against decode + forward + encode %.2f s: ratio %.3f"
              % (r, before, wall, cli_s, len(paths) / cli_s, ref_sum, cli_s / ref_sum))
    ratios = [x["ratio"] for x in runs]
    result["fresh"] = {"n": len(paths), "model": args.model, "runs": runs,
                       "median_ratio": statistics.median(ratios)}
    print("fresh processes: ratio median %.3f (%.3f-%.3f over %d runs; target <= 1.10)"
          % (statistics.median(ratios), min(ratios), max(ratios), len(ratios)))


def make_clip(photos, path, seconds, fps=30):
    """A 1280x720 clip: a slow pan and zoom over the first photo of `photos`."""
    import subprocess

    from gluon_style.fast import video
    exts = (".jpg", ".jpeg", ".png", ".bmp")
    src = sorted(os.path.join(photos, f) for f in os.listdir(photos)
                 if f.lower().endswith(exts))[0]
    frames = int(round(seconds * fps))
    vf = ("scale=2560:1440:force_original_aspect_ratio=increase,crop=2560:1440,"
          "zoompan=z='1.15+0.15*on/%d':x='(iw-iw/zoom)*on/%d':y='(ih-ih/zoom)/2':"
          "d=%d:s=1280x720:fps=%d" % (frames, frames, frames, fps))
    subprocess.run([video.ffmpeg_exe(), "-v", "error", "-y", "-i", src, "-vf", vf,
                    "-frames:v", str(frames), "-c:v", "libx264", "-crf", "18", "-pix_fmt",
                    "yuv420p", path], check=True)
    return path


def video_cli(src, dst, model, stabilize):
    """One ``video`` CLI run, in process: (seconds, frames, stage seconds)."""
    from gluon_style.cli import fast as cli
    from gluon_style.fast import video
    timers = Timers()
    timers.wrap_generator(video, "read_frames", "decode (wait)")
    timers.wrap(video.VideoJob, "_stylize", "forward + stabilization")
    timers.wrap(video.Stabilizer, "motion", "flow")
    timers.wrap(video.Stabilizer, "blend", "blend")
    real_write = video.VideoJob._write
    write_time = {"t": 0.0}

    def write(self, enc, batch, stab):
        stdin = enc.proc.stdin

        class Timed:
            def write(self, b):
                t0 = time.perf_counter()
                try:
                    return stdin.write(b)
                finally:
                    write_time["t"] += time.perf_counter() - t0

            def __getattr__(self, name):
                return getattr(stdin, name)
        enc.proc.stdin = Timed()
        try:
            yield from real_write(self, enc, batch, stab)
        finally:
            enc.proc.stdin = stdin
    video.VideoJob._write = write
    jobs = []
    real_init = video.VideoJob.__init__

    def init(self, *a, **kw):
        real_init(self, *a, **kw)
        jobs.append(self)
    video.VideoJob.__init__ = init
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        code = cli.run_video(["--model", model, "--input", src, "--output", dst, "--quiet"]
                             + ([] if stabilize else ["--no-stabilize"]))
    finally:
        seconds = time.perf_counter() - t0
        timers.undo()
        video.VideoJob._write = real_write
        video.VideoJob.__init__ = real_init
    if code != 0:
        raise SystemExit("video CLI failed (%s)" % code)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    stages = dict(timers.t)
    stages["forward"] = stages.pop("forward + stabilization", 0.0) - stages.get("flow", 0.0) \
        - stages.get("blend", 0.0)
    stages["encode (wait)"] = write_time["t"]
    stages["ffmpeg children cpu"] = (after.ru_utime + after.ru_stime - children.ru_utime
                                     - children.ru_stime)
    return seconds, jobs[-1].frames, jobs[-1].batch_size, stages


def run_video(args, work, result):
    src = make_clip(args.photos, os.path.join(work, "clip720.mp4"), args.video_seconds)
    print("\n(b) video: %s, 1280x720 30 fps %.3g s, model %s" % (src, args.video_seconds,
                                                                 args.model))
    rows = []
    for r in range(args.rounds if args.video_rounds is None else args.video_rounds):
        for stabilize in (True, False):
            before = load()
            dst = os.path.join(work, "out_%s_%d.mp4" % ("stab" if stabilize else "plain", r))
            seconds, frames, batch, stages = video_cli(src, dst, args.model, stabilize)
            row = {"round": r, "stabilize": stabilize, "seconds": seconds, "frames": frames,
                   "batch_size": batch, "frames_per_s": frames / seconds, "stages": stages,
                   "load_before": before, "load_after": load()}
            rows.append(row)
            print("  %-13s %4d frames (batch %d) %6.1f s %6.2f frames/s  (load %s -> %s)"
                  % ("stabilized" if stabilize else "not stabilized", frames, batch, seconds,
                     frames / seconds, before, row["load_after"]))
            print("      " + ", ".join("%s %.1f s (%.0f ms/frame)" % (k, v, 1000 * v / frames)
                                       for k, v in sorted(stages.items())))
    result["video"] = {"seconds": args.video_seconds, "rows": rows}
    for stabilize in (True, False):
        fps = [x["frames_per_s"] for x in rows if x["stabilize"] == stabilize]
        print("video %s: %.2f frames/s (best of %d)" % (
            "stabilized" if stabilize else "not stabilized", max(fps), len(fps)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--photos", required=True, help="a folder of photos to make the inputs from")
    p.add_argument("--model", default="starry_night",
                   help="a style name or a .params file (default: starry_night)")
    p.add_argument("--n", type=int, default=20, help="photos in the folder (default: 20)")
    p.add_argument("--format", choices=("jpg", "png"), default="jpg",
                   help="of the folder's photos, hence of the outputs (default: jpg)")
    p.add_argument("--sizes-each", type=int, default=2,
                   help="photos of each size in the folder (default: 2; 1: every size once)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--fresh", type=int, default=0, metavar="N",
                   help="also N runs of the CLI on the folder, each in a new process (default: 0)")
    p.add_argument("--video-rounds", type=int, help="default: --rounds")
    p.add_argument("--video-seconds", type=float, default=5.0)
    p.add_argument("--no-folder", action="store_true")
    p.add_argument("--no-video", action="store_true")
    p.add_argument("--workdir", help="keep inputs and outputs here (default: a temp folder)")
    p.add_argument("--json", metavar="FILE", help="write the figures to FILE")
    args = p.parse_args(argv)
    work = args.workdir or tempfile.mkdtemp(prefix="bench_throughput_")
    os.makedirs(work, exist_ok=True)
    result = {"load_start": load(), "model": args.model, "argv": sys.argv[1:]}
    t0 = time.perf_counter()
    from gluon_style import runtime
    # as the CLI's own process does (gluon_style.cli.main); GLUON_STYLE_KEEP_MEMORY=0: not
    memory = runtime.keep_freed_memory()
    result["memory"] = dict(memory)
    import gluon_style.fast  # noqa: F401  (MXNet too)
    from gluon_style.cli import fast as cli  # noqa: F401
    t1 = time.perf_counter()
    gluon_style.fast.load_style(args.model)
    t2 = time.perf_counter()
    result["startup"] = {"import": t1 - t0, "style_load": t2 - t1}
    print("start-up: import %.2f s, style load %.2f s (load %s); memory: %s"
          % (t1 - t0, t2 - t1, load(), memory["why"]))
    if not args.no_folder:
        paths, style = run_folder(args, work, result)
        if args.fresh:
            run_fresh(args, work, result, paths, style)
    if not args.no_video:
        run_video(args, work, result)
    result["load_end"] = load()
    print("\nload average %s; files in %s" % (load(), work))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
        print("wrote", args.json)


if __name__ == "__main__":
    main()
