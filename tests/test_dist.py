"""Distributed training on MXNet's parameter server, on loopback (gluon_style.launch).

2 workers + 1 server train the small transformer with dist_sync; the weights equal
those of one process reading the same two shards (``data_shards=2``) with the same
global batch. A worker that dies makes the launcher fail at once with one line.
"""
import csv
import json
import os
import subprocess
import sys
import time

import mxnet as mx
import numpy as np
import pytest

from gluon_style.fast import MANIFEST
from gluon_style.fast.train import FAIL_ENV, StyleTrainer

from .conftest import make_painting, make_photo
from .test_train import _assert_same_updates

#: every launch here is stopped after this many seconds (a hang fails, it does not block)
TIMEOUT = 80
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(not mx.runtime.Features().is_enabled("DIST_KVSTORE"),
                                reason="MXNet built without DIST_KVSTORE")


@pytest.fixture
def job(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):  # shard 0: p0 p2, shard 1: p1 p3
        make_photo(photos / ("p%d.png" % i), 36 + 4 * i, 32 + 2 * i, seed=i)
    style = make_painting(tmp_path / "painting.png")
    opts = dict(variant="small", image_size=24, batch_size=4, micro_batch=2, seed=1, lr=1e-3,
                network="vgg16-random", workers=0, ctx="cpu")
    return tmp_path, str(photos), style, opts


def _flags(opts):
    return [w for k, v in opts.items() for w in ("--" + k.replace("_", "-"), str(v))]


def _launch(tmp_path, argv, n=2, env=None, timeout=TIMEOUT):
    cmd = [sys.executable, "-m", "gluon_style.launch", "-n", str(n), "-s", "1",
           "--timeout", str(timeout), "--"] + argv
    e = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
             **(env or {}))
    t0 = time.monotonic()
    # the outer timeout only guards the launcher itself
    r = subprocess.run(cmd, cwd=str(tmp_path), env=e, capture_output=True, text=True,
                       timeout=timeout + 40)
    return r, time.monotonic() - t0


def _train_argv(tmp_path, photos, style, opts, **more):
    return ["train", "--style", style, "--dataset", photos, "--name", "d", "--quiet",
            "--kvstore", "dist_sync", "--checkpoint-dir", str(tmp_path / "ck"),
            "--params-dir", str(tmp_path / "params")] + _flags(dict(opts, **more))


def _start_weights(tmp_path, photos, style, opts):
    """The weights every run of `opts` starts from (the seed's initialization)."""
    start = StyleTrainer(style, photos, name="start", steps=1,
                         checkpoint_dir=str(tmp_path / "start"), **opts)
    return {k: v.data().asnumpy() for k, v in start.net._collect_params_with_prefix().items()}


def _weights(path):
    return {k: v.asnumpy() for k, v in mx.nd.load(str(path)).items() if k != "output_mapping"}


def _log(path):
    with open(path, newline="") as f:
        return [{k: float(r[k]) for k in ("step", "total", "content", "style", "tv")}
                for r in csv.DictReader(f)]


def test_two_workers_train_as_one_process_on_their_union_and_resume(job):
    tmp_path, photos, style, opts = job
    # 2 steps, then a resume to 3: rank 0's checkpoint, read by both workers
    for steps, resume in ((2, []), (3, ["--resume"])):
        r, seconds = _launch(tmp_path, _train_argv(tmp_path, photos, style, opts, steps=steps,
                                                   checkpoint_every=2) + resume)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "worker rank 1 of 2: %d steps" % steps in r.stdout
        print("dist_sync run to step %d: %.1f s" % (steps, seconds))
    ck = tmp_path / "ck" / "d"
    assert sorted(os.listdir(ck)) == ["log.csv", "model.params", "state.json", "trainer.states"]
    assert os.path.isfile(tmp_path / "params" / "d.params")  # registered once, by rank 0

    # the reference: one process (fresh, one thread as each worker) reading both shards
    argv = [a if a != "dist_sync" else "device" for a in _train_argv(
        tmp_path, photos, style, opts, steps=3, checkpoint_every=100, data_shards=2)]
    argv[argv.index("--checkpoint-dir") + 1] = str(tmp_path / "single")
    argv[argv.index("--name") + 1] = "one"
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "gluon_style"] + argv, cwd=str(tmp_path), env=env,
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr[-2000:]
    dist, single = _weights(ck / "model.params"), _weights(tmp_path / "single/one/model.params")
    assert dist.keys() == single.keys()
    # the log: rank 0's rows, the losses averaged over both workers
    a, b = _log(ck / "log.csv"), _log(tmp_path / "single/one/log.csv")
    assert [r["step"] for r in a] == [1, 2, 3]
    for ra, rb in zip(a, b):
        for k in ("total", "content", "style", "tv"):
            assert ra[k] == pytest.approx(rb[k], rel=1e-3), (ra, rb)
    start = _start_weights(tmp_path, photos, style, opts)
    # equal updates to float tolerance: element-wise, Adam makes a step of rounding noise
    # in a near-zero gradient (as test_train's checks of split batches)
    _assert_same_updates(start, single, dist)


def test_a_worker_that_dies_stops_the_run_with_one_line(job):
    tmp_path, photos, style, opts = job
    r, seconds = _launch(tmp_path, _train_argv(tmp_path, photos, style, opts, steps=4),
                         env={FAIL_ENV: "1:2"})
    print("failed run: %.1f s" % seconds)
    assert r.returncode == 3
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("launch: worker ") and last.endswith(
        "exited with status 3; stopped the other processes"), r.stderr[-2000:]
    assert seconds < TIMEOUT  # failed at once, not by the timeout


def test_the_launcher_stops_a_run_past_its_timeout(tmp_path):
    r, seconds = _launch(tmp_path, [sys.executable, "-c", "import time; time.sleep(60)"], n=1,
                         timeout=3)
    assert r.returncode == 124 and seconds < 20
    assert r.stderr.strip().splitlines()[-1] == (
        "launch: timed out after 3 s (worker 1/1 still running); stopped every process")


def test_dist_async_trains_checkpoints_on_rank_0_and_resumes_to_the_new_step(job):
    tmp_path, photos, style, opts = job
    ck, params = tmp_path / "ck" / "d", tmp_path / "params"
    for steps, resume in ((2, []), (3, ["--resume"])):
        argv = [a if a != "dist_sync" else "dist_async" for a in _train_argv(
            tmp_path, photos, style, opts, steps=steps, checkpoint_every=2)] + resume
        r, seconds = _launch(tmp_path, argv)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "worker rank 1 of 2: %d steps" % steps in r.stdout
        assert r.stdout.count("wrote %s" % (params / "d.params")) == 1  # rank 0 alone
        print("dist_async run to step %d: %.1f s" % (steps, seconds))
        # no optimizer state: Adam runs on the servers, and restarts on resume
        assert sorted(os.listdir(ck)) == ["log.csv", "model.params", "state.json"]
        with open(ck / "state.json") as f:
            assert json.load(f)["step"] == steps
        with open(params / MANIFEST) as f:
            assert list(json.load(f)["styles"]) == ["d"]
    assert "no optimizer state (dist_async keeps it on the servers)" in r.stderr
    assert [row["step"] for row in _log(ck / "log.csv")] == [1, 2, 3]  # rank 0's rows
    start = _start_weights(tmp_path, photos, style, opts)
    for path in (ck / "model.params", params / "d.params"):
        trained = _weights(path)
        assert trained.keys() == start.keys()
        assert all(np.isfinite(v).all() for v in trained.values())
        assert sum(not np.array_equal(trained[k], start[k]) for k in start) >= len(start) // 2


def test_the_local_kvstore_trains_as_the_default_device_one(job):
    # two contexts, so that the kvstore sums (and, for local, updates) something
    tmp_path, photos, style, opts = job
    opts = dict(opts, ctx="cpu0,cpu1", tv_weight=0.5)  # tv 0.5: as test_train's split batches
    runs = [StyleTrainer(style, photos, name=kv, steps=3, checkpoint_every=100, kvstore=kv,
                         checkpoint_dir=str(tmp_path / "ck"), **opts) for kv in ("device", "local")]
    losses = [[s.losses for s in t.steps()] for t in runs]
    kvs = [t.trainer._kvstore for t in runs]  # set up by the first step
    assert kvs[0].type == "device" and kvs[1].type == "local"
    for a, b in zip(*losses):
        for k in a:
            assert b[k] == pytest.approx(a[k], rel=1e-4), k
    device, local = ({k: v.data().asnumpy() for k, v in t.net._collect_params_with_prefix().items()}
                     for t in runs)
    _assert_same_updates(_start_weights(tmp_path, photos, style, opts), device, local)
