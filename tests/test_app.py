"""The web app over HTTP (Flask's test client): limits, errors, isolation, both modes."""
import io
import json
import os
import time

import numpy as np
import pytest
from PIL import Image

from gluon_style import fast
from gluon_style.app import cli, create_app
from gluon_style.errors import Error
from tests.conftest import make_painting, make_photo
from tests.test_arbitrary import installed_synthetic, synthetic  # noqa: F401  (fixtures)

H = {"X-Gluon-Style": "1"}


@pytest.fixture
def params(params_dir):
    return params_dir


@pytest.fixture
def work(tmp_path):
    return tmp_path / "work"


@pytest.fixture
def client(params, work):
    app = create_app(str(work), max_upload_mb=1, network="vgg16-random")
    return app.test_client()


def _post_fast(client, photo, style="dots", **fields):
    with open(photo, "rb") as f:
        data = dict(fields, style=style, photo=(io.BytesIO(f.read()), os.path.basename(photo)))
        return client.post("/api/fast", data=data, headers=H, content_type="multipart/form-data")


def _one_line_error(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    msg = resp.get_json()["error"]
    assert msg and "\n" not in msg
    return msg


def test_default_bind_address_is_loopback():
    args = cli.parser().parse_args([])
    assert args.host == "127.0.0.1" and not args.allow_public
    assert cli.is_loopback("127.0.0.1") and cli.is_loopback("::1") and cli.is_loopback("localhost")
    assert not cli.is_loopback("0.0.0.0") and not cli.is_loopback("192.168.1.5")
    with pytest.raises(Error, match="--allow-public"):
        cli.main(["--host", "0.0.0.0", "--port", "0"])
    cli.check_host("0.0.0.0", True)  # allowed when asked for (with a warning)


def test_a_port_in_use_is_one_line_exit_2_and_leaves_no_folder(tmp_path, monkeypatch, capfd):
    import socket
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the app's folder would go
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as stop:
            cli.main_exit(["--port", str(port)])
    assert stop.value.code == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "port %d" % port in err and "in use" in err, err
    assert os.listdir(tmp_path) == []


def test_the_app_keeps_freed_memory_before_it_serves(tmp_path, monkeypatch):
    """Its process stylizes photos of many sizes: the memory it frees stays for the next
    (gluon_style.runtime.keep_freed_memory), set before the first request is served."""
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    order = []
    monkeypatch.setattr(cli, "stop_on_sigterm", lambda: None)
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: order.append("kept"))
    monkeypatch.setattr(cli, "_serve", lambda httpd, *a: order.append("served"))
    assert cli.main(["--port", "0"]) == 0
    assert order == ["kept", "served"] and os.listdir(tmp_path) == []


def test_sigterm_stops_the_server_and_removes_its_folder(tmp_path):
    import signal
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "gluon_style.app", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TMPDIR=str(tmp_path), PYTHONUNBUFFERED="1"))
    try:
        banner = proc.stdout.readline()
        assert "http://127.0.0.1:" in banner and len(os.listdir(tmp_path)) == 1, banner
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0 and err.strip() == "stopped", err
    assert os.listdir(tmp_path) == []


def test_upload_too_large_is_a_413_with_one_line(client, work):
    big = np.random.default_rng(0).integers(0, 255, (700, 700, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(big).save(buf, format="BMP")  # ~1.5 MB, over the 1 MB limit
    resp = client.post("/api/fast", headers=H, content_type="multipart/form-data",
                       data={"style": "dots", "photo": (io.BytesIO(buf.getvalue()), "big.bmp")})
    msg = _one_line_error(resp, 413)
    assert "too large" in msg and "1 MB" in msg
    assert not work.exists() or not os.listdir(work)  # no job left behind


def test_invalid_upload_gives_the_image_error(client, tmp_path, work):
    fake = tmp_path / "notes.png"
    fake.write_text("this is a text file, not a picture\n")
    msg = _one_line_error(_post_fast(client, str(fake)), 400)
    assert msg == "photo 'notes.png': not an image file (cannot identify format)"
    assert str(work) not in msg
    assert not os.listdir(work)  # the failed job's folder is gone


def test_unknown_style_missing_photo_and_bad_numbers(client, tmp_path):
    photo = make_photo(tmp_path / "p.png")
    assert "unknown style 'nope'" in _one_line_error(_post_fast(client, photo, "nope"), 400)
    resp = client.post("/api/fast", headers=H, data={"style": "dots"})
    assert _one_line_error(resp, 400) == "no photo uploaded"
    msg = _one_line_error(_post_fast(client, photo, strength="lots"), 400)
    assert msg == "strength must be a number, got 'lots'"
    assert "between 0 and 1" in _one_line_error(_post_fast(client, photo, strength="2"), 400)


def test_posts_need_the_page_header(client, tmp_path):
    photo = make_photo(tmp_path / "p.png")
    with open(photo, "rb") as f:
        resp = client.post("/api/fast", data={"style": "dots", "photo": (f, "p.png")})
    assert "X-Gluon-Style" in _one_line_error(resp, 403)


def test_unknown_job_ids(client):
    for job_id in ("A" * 24, "nope", "..", "%2e%2e%2f%2e%2e%2fetc"):
        resp = client.get("/api/jobs/%s" % job_id)
        assert resp.status_code == 404 and resp.is_json, job_id
        assert resp.get_json()["error"]
    assert client.get("/api/jobs/%s/result.png" % ("B" * 24)).status_code == 404
    assert client.post("/api/jobs/%s/cancel" % ("C" * 24), headers=H).status_code == 404


def test_fast_transfer_returns_a_png_of_the_photo_size(client, tmp_path):
    photo = make_photo(tmp_path / "p.png", 64, 48)
    resp = _post_fast(client, photo)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    job = resp.get_json()
    assert job["status"] == "done" and job["mode"] == "fast"
    png = client.get(job["result"])
    assert png.status_code == 200 and png.mimetype == "image/png"
    out = Image.open(io.BytesIO(png.data))
    assert out.format == "PNG" and out.size == (64, 48)
    before = np.asarray(Image.open(photo).convert("RGB"), np.float64)
    assert np.abs(np.asarray(out.convert("RGB"), np.float64) - before).mean() > 5
    dl = client.get(job["result"] + "?download=1")
    assert dl.headers["Content-Disposition"].startswith("attachment") and dl.data == png.data
    # strength 0 keeps the photo; a size shrinks it
    keep = _post_fast(client, photo, strength="0").get_json()
    same = Image.open(io.BytesIO(client.get(keep["result"]).data)).convert("RGB")
    assert np.array_equal(np.asarray(same, np.float64), before)
    small = _post_fast(client, photo, size="32").get_json()
    assert Image.open(io.BytesIO(client.get(small["result"]).data)).size == (32, 24)


def test_jobs_are_isolated(client, tmp_path, work):
    photo = make_photo(tmp_path / "p.png", 40, 32)
    a, b = (_post_fast(client, photo).get_json() for _ in range(2))
    assert a["id"] != b["id"] and len(a["id"]) == len(b["id"]) == 24
    assert sum(x == y for x, y in zip(a["id"], b["id"])) < 8  # random, not sequential
    assert str(work) not in json.dumps(a)  # no server paths in answers
    secret = client.get(b["result"]).data
    tricks = ["/api/jobs/%s/..%%2F%s%%2Fresult.png" % (a["id"], b["id"]),
              "/api/jobs/%s/../%s/result.png" % (a["id"], b["id"]),
              "/api/jobs/..%%2F%s/result.png" % b["id"],
              "/api/jobs/%s/photo.upload" % a["id"],
              "/api/jobs/%s/%%2E%%2E" % a["id"],
              "/api/jobs/%s/result.png" % b["id"][:-1],
              "/api/jobs/%s/result.png" % b["id"].lower(),
              "/static/../%s/result.png" % b["id"]]
    for url in tricks:
        resp = client.get(url)
        assert resp.data != secret and resp.status_code in (400, 404), url
    assert client.get("/api/jobs/%s" % a["id"]).get_json()["id"] == a["id"]


def test_thumbnails_and_no_styles(client, params, monkeypatch, tmp_path):
    assert client.get("/api/styles/dots/thumbnail").mimetype == "image/png"  # a swatch
    fast.write_thumbnail(make_painting(tmp_path / "art.png"), str(params), "dots")
    entry = fast.read_manifest(str(params))["styles"]["dots"]
    fast.register_style(str(params), "dots", os.path.join(str(params), entry["file"]),
                        variant="small", thumbnail="dots.jpg")
    thumb = client.get("/api/styles/dots/thumbnail")
    assert thumb.mimetype == "image/jpeg" and Image.open(io.BytesIO(thumb.data)).format == "JPEG"
    assert [s["name"] for s in client.get("/api/styles").get_json()["styles"]] == ["dots"]
    monkeypatch.setattr(fast, "params_dirs", lambda: [])
    assert client.get("/api/styles").get_json()["styles"] == []
    page = client.get("/").get_data(as_text=True)
    assert 'id="no-styles"' in page and "No trained styles" in page
    msg = _one_line_error(_post_fast(client, make_photo(tmp_path / "p.png")), 400)
    assert "none installed" in msg


def _wait(client, job_id, timeout=60):
    seen, t0 = [], time.time()
    while time.time() - t0 < timeout:
        status = client.get("/api/jobs/%s" % job_id).get_json()
        seen.append(status)
        if status["status"] in ("done", "error", "cancelled"):
            return seen
        time.sleep(0.05)
    raise AssertionError("job %s did not finish: %s" % (job_id, seen[-1]))


def test_optimization_job_reports_progress_and_finishes(client, tmp_path):
    photo, painting = make_photo(tmp_path / "p.png", 48, 40), make_painting(tmp_path / "s.png")
    form = lambda: {"photo": (open(photo, "rb"), "p.png"),  # noqa: E731
                    "painting": (open(painting, "rb"), "s.png"), "size": "32",
                    "iterations": "20", "preserve_colors": "luminance"}
    first = client.post("/api/optimize", data=form(), headers=H)
    assert first.status_code == 202, first.get_data(as_text=True)
    second = client.post("/api/optimize", data=form(), headers=H).get_json()
    assert second["status"] == "queued" and second["ahead"] == 1  # one at a time
    assert client.post("/api/jobs/%s/cancel" % second["id"], headers=H).get_json()["status"] \
        == "cancelled"
    seen = _wait(client, first.get_json()["id"])
    done = seen[-1]
    assert done["status"] == "done", done
    steps = [s["step"] for s in seen]
    assert steps == sorted(steps) and done["step"] == 20
    assert any(s["status"] == "running" and 0 < s["step"] < 20 for s in seen)
    assert set(done["losses"]) >= {"total", "content", "style"}
    result = Image.open(io.BytesIO(client.get(done["result"]).data))
    before = Image.open(io.BytesIO(client.get(done["content"]).data))
    assert result.format == "PNG" and result.size == before.size == (32, 27)
    assert _wait(client, second["id"])[-1]["result"] is None  # cancelled before it ran
    bad = dict(form(), preserve_colors="sepia")
    assert "sepia" in _one_line_error(client.post("/api/optimize", data=bad, headers=H), 400)
    nopaint = {k: v for k, v in form().items() if k != "painting"}
    assert _one_line_error(client.post("/api/optimize", data=nopaint, headers=H), 400) \
        == "no painting uploaded"


def test_untrusted_host_header_is_refused(params, work):
    app = create_app(str(work), trusted_hosts=["127.0.0.1", "localhost"])
    c = app.test_client()
    config = c.get("/api/config")
    assert config.status_code == 200
    assert 0 < config.get_json()["fast"]["preview"] < config.get_json()["fast"]["size"]
    assert c.get("/api/config", headers={"Host": "attacker.example"}).status_code == 400


def test_a_failing_optimization_reports_its_error(params, work, tmp_path):
    c = create_app(str(work), network="no-such-net").test_client()
    form = {"photo": (open(make_photo(tmp_path / "p.png"), "rb"), "p.png"),
            "painting": (open(make_painting(tmp_path / "s.png"), "rb"), "s.png"),
            "size": "32", "iterations": "2"}
    job = c.post("/api/optimize", data=form, headers=H).get_json()
    done = _wait(c, job["id"])[-1]
    assert done["status"] == "error" and "unknown network 'no-such-net'" in done["message"]
    assert done["result"] is None


@pytest.fixture
def magenta_installed(tmp_path, monkeypatch):
    """Magenta's networks converted from the synthetic ONNX files standing in for the
    wheel's (their own sha256)."""
    from gluon_style.nets import magenta, store
    from tests import magenta_onnx
    paths = magenta_onnx.write(tmp_path)
    monkeypatch.setattr(store, "magenta_onnx_path",
                        lambda f: paths["predictor" if "predict" in f else "transformer"])
    monkeypatch.setattr(store, "MAGENTA_SHA256", {
        magenta.NETWORKS[n][1]: store.digest(p, "sha256") for n, p in paths.items()})
    return paths


def _post_arbitrary(client, photo, painting, **fields):
    return client.post("/api/arbitrary", headers=H, data=dict(
        fields, photo=(open(photo, "rb"), os.path.basename(photo)),
        painting=(open(painting, "rb"), os.path.basename(painting))),
        content_type="multipart/form-data")


def test_your_painting_in_one_pass(client, tmp_path, monkeypatch, magenta_installed):
    """"Your painting" answers at once in fast mode."""
    from gluon_style.nets import store
    cfg = client.get("/api/config").get_json()["arbitrary"]
    assert cfg["available"] and "Ghiasi" in cfg["credit"] and cfg["strength"] == 1.0
    photo, painting = make_photo(tmp_path / "p.png", 60, 44), make_painting(tmp_path / "s.png")
    r = client.post("/api/arbitrary", headers=H, data=dict(
        photo=(open(photo, "rb"), "p.png"), painting=(open(painting, "rb"), "my art.png"),
        size="0", strength="0.7"), content_type="multipart/form-data")
    job = r.get_json()
    assert r.status_code == 200 and job["status"] == "done", job
    assert job["options"]["painting"] == "my art.png" and job["options"]["strength"] == 0.7
    img = Image.open(io.BytesIO(client.get(job["result"]).data))
    assert img.size == (60, 44)
    r = client.post("/api/arbitrary", headers=H, data=dict(photo=(open(photo, "rb"), "p.png")),
                    content_type="multipart/form-data")
    assert r.status_code == 400 and r.get_json()["error"] == "no painting uploaded"
    monkeypatch.setattr(store, "magenta_onnx_path", lambda f: None)
    assert client.get("/api/config").get_json()["arbitrary"]["available"] is False


def _rss_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the RSS from /proc")
def test_fast_transfers_on_the_threaded_server_keep_memory_flat(params, work):
    # The real server answers each request on a new thread, and MXNet keeps memory for
    # every thread that ran a style: 30 transfers of 128x96 grew the RSS by 300 MB.
    import threading
    import urllib.request

    from werkzeug.datastructures import FileStorage
    from werkzeug.serving import make_server
    from werkzeug.test import encode_multipart

    httpd = make_server("127.0.0.1", 0, create_app(str(work)), threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    photo = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 128, 3), np.uint8)).save(
        photo, format="PNG")

    def transfer():
        boundary, body = encode_multipart({"style": "dots", "photo": FileStorage(
            io.BytesIO(photo.getvalue()), "p.png", content_type="image/png")})
        req = urllib.request.Request(
            "http://127.0.0.1:%d/api/fast" % httpd.server_port, data=body,
            headers=dict(H, **{"Content-Type": "multipart/form-data; boundary=" + boundary}))
        with urllib.request.urlopen(req, timeout=60) as resp:
            assert json.load(resp)["status"] == "done"

    try:
        for _ in range(3):  # the style loaded, its graph built
            transfer()
        before = _rss_mb()
        for _ in range(30):
            transfer()
        grown = _rss_mb() - before
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert grown < 60, "RSS grew by %.0f MB over 30 transfers" % grown


def test_your_painting_runs_on_the_inference_thread_within_the_pixel_cap(
        params, work, tmp_path, monkeypatch, magenta_installed):
    import threading

    from gluon_style.fast import arbitrary
    threads = []
    real = arbitrary.ArbitraryStyle.__init__
    monkeypatch.setattr(arbitrary.ArbitraryStyle, "__init__", lambda self, *a, **k: (
        threads.append(threading.current_thread().name), real(self, *a, **k))[1])
    real_paint = arbitrary.ArbitraryStyle.paint
    monkeypatch.setattr(arbitrary.ArbitraryStyle, "paint", lambda self, *a, **k: (
        threads.append(threading.current_thread().name), real_paint(self, *a, **k))[1])
    c = create_app(str(work), max_pixels=40 * 30).test_client()
    photo, painting = make_photo(tmp_path / "wide.png", 48, 40), make_painting(tmp_path / "s.png")
    msg = _one_line_error(_post_arbitrary(c, photo, painting), 400)
    assert "photo 'wide.png'" in msg and "48x40" in msg and "1200" in msg, msg
    assert threads == [] and os.listdir(work) == []  # refused before any work, nothing left
    # the painting is read at the style size (256 px): over 1200 pixels as well
    msg = _one_line_error(_post_arbitrary(c, photo, painting, size="32"), 400)
    assert "painting 's.png'" in msg and "1200" in msg, msg
    c = create_app(str(work), max_pixels=256 * 256).test_client()
    job = _post_arbitrary(c, photo, painting, size="32").get_json()
    assert job["status"] == "done" and job["options"]["painting"] == "s.png", job
    assert threads and set(threads) == {"gluon_style-infer_0"}, threads


def test_pixels_per_transfer_are_capped(params, work, tmp_path):
    from gluon_style.app import server
    c = create_app(str(work), max_pixels=40 * 30).test_client()
    config = c.get("/api/config").get_json()
    assert config["max_pixels"] == 1200 and config["optimize"]["max_queued"] == server.MAX_QUEUED
    defaults = create_app(str(work)).test_client().get("/api/config").get_json()
    assert defaults["max_pixels"] == server.MAX_PIXELS  # the page shows these (see app.js)
    assert 'id="limits"' in c.get("/").get_data(as_text=True)
    photo = make_photo(tmp_path / "wide.png", 48, 40)  # 1920 pixels at its own size
    msg = _one_line_error(_post_fast(c, photo), 400)
    assert "'wide.png'" in msg and "48x40" in msg and "1200" in msg, msg
    assert _post_fast(c, photo, size="32").status_code == 200  # 32x27 fits
    form = {"photo": (open(photo, "rb"), "wide.png"), "size": "48", "iterations": "1",
            "painting": (open(make_painting(tmp_path / "s.png"), "rb"), "s.png")}
    msg = _one_line_error(c.post("/api/optimize", data=form, headers=H), 400)
    assert "'wide.png'" in msg and "48x40" in msg, msg
    assert len(os.listdir(work)) == 1  # the fast job that ran; no refused one left


def test_uploads_are_refused_before_decoding_above_the_upload_cap(client, tmp_path,
                                                                  monkeypatch):
    from gluon_style.app import server
    monkeypatch.setattr(server, "MAX_UPLOAD_PIXELS", 1000)
    msg = _one_line_error(_post_fast(client, make_photo(tmp_path / "big.png")), 400)
    assert msg == "photo 'big.png': image is 48x40 = 1920 pixels, over the limit of 1000"


def test_the_optimization_queue_is_bounded(params, work, tmp_path):
    app = create_app(str(work), network="vgg16-random", max_queued=1)
    c, jobs = app.test_client(), app.extensions["gluon_style_jobs"]
    photo, painting = make_photo(tmp_path / "p.png"), make_painting(tmp_path / "s.png")

    def submit():
        return c.post("/api/optimize", headers=H, data={
            "photo": (open(photo, "rb"), "p.png"), "painting": (open(painting, "rb"), "s.png"),
            "size": "32", "iterations": "2"})

    with jobs.compute.urgent():  # the worker takes the first job and waits for MXNet
        first = submit().get_json()
        deadline = time.time() + 30
        while c.get("/api/jobs/" + first["id"]).get_json()["status"] != "running":
            assert time.time() < deadline
            time.sleep(0.01)
        second = submit().get_json()
        assert second["status"] == "queued" and second["ahead"] == 1
        msg = _one_line_error(submit(), 503)
        assert "queue is full" in msg and "1 " in msg, msg
        assert len(os.listdir(work)) == 2  # the refused job left nothing
    assert _wait(c, first["id"])[-1]["status"] == "done"
    assert _wait(c, second["id"])[-1]["status"] == "done"


def test_a_photo_too_narrow_for_the_network_fails_with_the_reason(params, work, tmp_path):
    c = create_app(str(work), network="vgg16-random").test_client()
    form = {"photo": (open(make_photo(tmp_path / "strip.png", 200, 20), "rb"), "strip.png"),
            "painting": (open(make_painting(tmp_path / "s.png"), "rb"), "s.png"),
            "size": "64", "iterations": "1"}
    job = c.post("/api/optimize", data=form, headers=H).get_json()
    done = _wait(c, job["id"])[-1]
    assert done["status"] == "error" and "internal error" not in done["message"], done
    assert "'strip.png'" in done["message"] and "at least 16 px" in done["message"], done
    assert str(work) not in done["message"]


def test_inf_at_the_first_iteration_is_an_error_with_no_result(params, work, tmp_path,
                                                                monkeypatch):
    from gluon_style.optimization import optimizer
    real = optimizer._evaluate
    monkeypatch.setattr(optimizer, "_evaluate",
                        lambda f, x: dict(real(f, x), total=float("inf")))
    c = create_app(str(work), network="vgg16-random").test_client()
    form = {"photo": (open(make_photo(tmp_path / "p.png"), "rb"), "p.png"),
            "painting": (open(make_painting(tmp_path / "s.png"), "rb"), "s.png"),
            "size": "32", "iterations": "2"}
    done = _wait(c, c.post("/api/optimize", data=form, headers=H).get_json()["id"])[-1]
    assert done["status"] == "error" and done["result"] is None, done
    assert done["message"].startswith("loss became inf at iteration 1") and "kept" not in \
        done["message"], done


def test_a_job_declares_its_attributes_and_the_strength_blend_is_the_librarys(tmp_path):
    import dataclasses

    from gluon_style.app import jobs
    names = {f.name for f in dataclasses.fields(jobs.Job)}
    assert {"uploads", "seconds", "status", "preview_step", "cancelled"} <= names
    job = jobs.Job(str(tmp_path / "abc"), "fast", {})
    assert job.id == "abc" and job.uploads == [] and job.seconds == 0.0
    assert not hasattr(jobs, "blend")  # fast mode's strength: fast.apply_controls


def test_fast_blend_of_multistyle_styles_and_preserve_colors(
        installed_synthetic, tmp_path, monkeypatch):  # noqa: F811  (a fixture)
    import mxnet as mx

    from gluon_style import color
    from gluon_style.fast import multistyle
    d = tmp_path / "params"
    d.mkdir()
    names = ["dots", "waves"]
    rows = np.random.RandomState(0).standard_normal((2, multistyle._dim())).astype(np.float32)
    multistyle.add_styles(str(d), rows, names,
                          paintings=[make_painting(tmp_path / ("%s.png" % n), seed=i)
                                     for i, n in enumerate(names)],
                          credits=["test"] * 2, training=[{"steps": 0}] * 2)
    monkeypatch.setenv("GLUON_STYLE_PARAMS", str(d))
    client = create_app(str(tmp_path / "work"), network="vgg16-random").test_client()
    listed = client.get("/api/styles").get_json()["styles"]
    assert {s["name"] for s in listed} == set(names)
    assert len({s["network"] for s in listed}) == 1 and listed[0]["network"]  # one network
    cfg = client.get("/api/config").get_json()["fast"]
    assert cfg["preserve_colors"] == "none" and "luminance" in cfg["preserve_colors_choices"]
    photo = make_photo(tmp_path / "p.png", 40, 30)
    content = Image.open(photo).convert("RGB")

    def result(**fields):
        resp = _post_fast(client, photo, **fields)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return np.asarray(Image.open(io.BytesIO(client.get(resp.get_json()["result"]).data)),
                          np.int16)

    def library(weights, **controls):
        return np.asarray(fast.load_style(None, weights=weights, ctx=mx.cpu(), **controls)(
            content), np.int16)

    dots, waves = result(style="dots"), result(style="waves")
    assert not np.array_equal(dots, waves)
    assert np.array_equal(result(style="dots", blend="waves", mix="0"), dots)
    assert np.array_equal(result(style="dots", blend="waves", mix="1"), waves)
    half = result(style="dots", blend="waves", mix="0.5")
    assert np.array_equal(half, library({"dots": 1, "waves": 1}))
    assert not np.array_equal(half, dots) and not np.array_equal(half, waves)
    lum = result(style="dots", preserve_colors="luminance")
    want = color.luminance_only(Image.fromarray(dots.astype(np.uint8)), content)
    assert np.array_equal(lum, np.asarray(want, np.int16))
    for fields, words in [(dict(style="dots", blend="nope"), "unknown style 'nope'"),
                          (dict(style="dots", blend="waves", mix="2"), "between 0 and 1"),
                          (dict(style="dots", preserve_colors="sepia"),
                           "unknown preserve colors mode 'sepia'")]:
        assert words in _one_line_error(_post_fast(client, photo, **fields), 400)


def test_a_johnson_style_does_not_blend(client, params, tmp_path):
    photo = make_photo(tmp_path / "p.png", 40, 30)
    listed = client.get("/api/styles").get_json()["styles"]
    assert all(s["network"] == "" for s in listed)  # nothing to blend with in the page
    msg = _one_line_error(_post_fast(client, photo, blend="dots", mix="0.5"), 400)
    assert "cannot be blended: only styles of one multi-style network can" in msg


def test_the_app_warms_up_the_style_its_page_picks_first(params, work, tmp_path, monkeypatch):
    """create_app(warm_up=True) (the app's command line): on the inference thread, the
    first listed style is loaded and its network run once; the first transfer of it
    uses that loaded style and runs no warm-up of its own."""
    warmed = []
    real = fast.FastStyle.warm_up

    def warm_up(self):
        warmed.append(self)
        return real(self)
    monkeypatch.setattr(fast.FastStyle, "warm_up", warm_up)
    loads = []
    real_load = fast.load_style
    monkeypatch.setattr(fast, "load_style",
                        lambda *a, **kw: loads.append(a) or real_load(*a, **kw))
    app = create_app(str(work), warm_up=True)
    assert app.extensions["gluon_style_warm_up"].result(60) == "dots"
    assert len(warmed) == 1 and loads == [("dots",)]
    assert warmed[0]._forward._traced  # its graph was traced and folded
    photo = make_photo(tmp_path / "p.png", 40, 30)
    assert _post_fast(app.test_client(), photo).status_code == 200
    assert loads == [("dots",)] and len(warmed) == 1  # the loaded style, not a new one
    # an app with no style to warm up starts all the same
    monkeypatch.setattr(fast, "list_styles", lambda: {})
    assert create_app(str(tmp_path / "w2"), warm_up=True).extensions[
        "gluon_style_warm_up"].result(60) is None
