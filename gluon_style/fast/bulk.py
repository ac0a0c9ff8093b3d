"""Bulk stylization on Dask (the optional extra ``gluon_style[dask]``).

:func:`stylize_many` maps a folder, or a list of URIs fsspec can read, over the
workers of a Dask cluster: one task per image reads its size, then one task per
batch, the batches of the single-process folder run
(:func:`gluon_style.fast.plan_batches`), so each image gets the pixels of the
single-process run, within one level in a few of them (a worker's one thread sums
the batch norms' statistics in another order):

* the style travels as a small :class:`StyleSpec` (a name or ``.params`` path and
  the controls), never as a network: each worker process loads it once, into a
  worker-local cache keyed by the spec (:func:`worker_style`); workers find a
  style by name as the client does (``$GLUON_STYLE_PARAMS``, ``./params``...), so
  on several hosts give them the same params folder or a shared ``.params`` path;
* outputs are named as by the single-process folder run
  (:func:`gluon_style.fast.output_paths`: the same relative paths, GIF as PNG) and
  written whole or not at all (:func:`gluon_style.io.images.save_image`), into a
  folder every worker can write (a shared file system on several hosts);
* an output that already exists is skipped before any task is made, so a rerun
  resumes where the last one stopped;
* a file that fails (unreadable, corrupt, too small, a lost worker) is reported
  with its message and the others are still written.

Workers run one thread each (MXNet's operators use ``OMP_NUM_THREADS`` cores);
``local:N`` starts N such worker processes on this host with an equal share of
the cores each.
"""
import dataclasses
import logging
import os
import posixpath
import tempfile
import threading
import time
from dataclasses import dataclass

from ..errors import Error
from ..options import FastOptions, takes

__all__ = ["StyleSpec", "BulkResult", "stylize_many", "connect", "list_sources",
           "worker_style"]


def _require(name):
    import importlib
    try:
        return importlib.import_module(name)
    except ImportError:
        raise Error("%s is not installed: pip install 'gluon_style[dask]'" % name) from None


@dataclass(frozen=True)
class StyleSpec:
    """What a worker needs to load a style itself: `model` (a style name or a
    ``.params`` path) or `weights` (a blend of multi-style names,
    ``"starry_night:0.5,wave:0.5"``) or `style_image` (paintings, arbitrary mode,
    with `style_blend`, `style_size`, `style_scale`), the controls, `precision` and `ctx`.
    Hashable: it keys the worker-local cache."""
    model: str = None
    weights: str = None
    style_image: tuple = None
    style_blend: tuple = None
    style_size: int = FastOptions.style_size
    style_scale: float = FastOptions.style_scale
    strength: float = FastOptions.strength
    preserve_colors: str = FastOptions.preserve_colors
    precision: str = FastOptions.precision
    ctx: str = "cpu"

    def __post_init__(self):
        if sum(x is not None for x in (self.model, self.weights, self.style_image)) != 1:
            raise Error("a style: give one of model, weights or style_image")
        for name in ("style_image", "style_blend"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, tuple):
                object.__setattr__(self, name, tuple([v] if isinstance(v, (str, int, float))
                                                     else v))

    def load(self):
        """The style (a callable on PIL images), as ``fast`` on the command line loads it."""
        from types import SimpleNamespace

        from ..cli.fast import load_style_source
        return load_style_source(SimpleNamespace(
            model=self.model, style_weights=self.weights,
            style_image=list(self.style_image) if self.style_image else None,
            style_blend=list(self.style_blend) if self.style_blend else None,
            style_size=self.style_size, style_scale=self.style_scale, strength=self.strength,
            preserve_colors=self.preserve_colors, precision=self.precision, ctx=self.ctx))


_STYLES, _LOCK = {}, threading.Lock()
#: how many times this process loaded a style (the tests check "once per worker")
loads = 0


def worker_style(spec):
    """The style of `spec`, loaded at most once per process (per worker)."""
    global loads
    with _LOCK:
        if spec not in _STYLES:
            _STYLES[spec] = spec.load()
            loads += 1
        return _STYLES[spec]


def _is_url(src):
    return "://" in str(src)


def _load_source(src, max_size):
    """A content image from a local path or any URI fsspec reads (fetched to a temp file
    so that it is checked and decoded exactly as a local one)."""
    from . import load_content
    if not _is_url(src):
        return load_content(src, max_size)
    fsspec = _require("fsspec")
    ext = os.path.splitext(posixpath.basename(src.split("?")[0]))[1]
    fd, tmp = tempfile.mkstemp(prefix="gluon_style-", suffix=ext)
    try:
        try:
            with os.fdopen(fd, "wb") as f, fsspec.open(src, "rb") as g:
                f.write(g.read())
        except Exception as e:
            raise Error("content image '%s': cannot read (%s)" % (src, " ".join(str(e).split())
                                                                   or type(e).__name__))
        try:
            return load_content(tmp, max_size)
        except Error as e:
            raise Error(str(e).replace(tmp, src)) from None
    finally:
        os.remove(tmp)


def _message(src, e):
    msg = " ".join(str(e).split()) or type(e).__name__
    return msg if str(src) in msg else "%s: %s" % (src, msg)


def content_size(src, max_size=None):
    """Task 1: the size `src` is stylized at, or ``("failed", message)``: a file that
    cannot be used is reported here, before any batch is planned."""
    try:
        return tuple(_load_source(src, max_size).size)
    except Exception as e:
        return "failed", _message(src, e)


def stylize_batch(batch, spec, max_size=None):
    """Task 2: one batch of :func:`gluon_style.fast.plan_batches` (``[(src, dst)]``, the
    same images as the single-process run's batch) on this worker;
    writes the outputs that do not exist. Returns ``[(status, what)]``: ``"written"``
    dst, ``"skipped"`` dst or ``"failed"`` message; never raises, one bad file stops
    nothing."""
    from ..io import images
    out, imgs, dsts = [], [], []
    for src, dst in batch:
        try:
            imgs.append(_load_source(src, max_size))
            dsts.append(dst)
        except Exception as e:
            out.append(("failed", _message(src, e)))
    if not any(not os.path.exists(d) for d in dsts):
        return out + [("skipped", d) for d in dsts]
    try:
        results = worker_style(spec)(imgs)
    except Exception as e:
        return out + [("failed", _message(s, e)) for s, d in batch if d in dsts]
    for img, dst in zip(results, dsts):
        if os.path.exists(dst):
            out.append(("skipped", dst))
            continue
        try:
            images.save_image(img, dst)
            out.append(("written", dst))
        except Exception as e:
            out.append(("failed", _message(dst, e)))
    return out


def list_sources(content):
    """(sources, top) of `content`: a local folder (as the single-process run lists it),
    a folder URL fsspec can list (``s3://bucket/photos``), or an iterable of paths/URIs
    (top: their common folder)."""
    from ..io import images
    if isinstance(content, (str, os.PathLike)):
        content = os.fspath(content)
        if not _is_url(content):
            return images.list_images(content, role="content folder"), content
        fsspec = _require("fsspec")
        fs, root = fsspec.core.url_to_fs(content)
        found = sorted(p for p in fs.find(root) if os.path.splitext(p)[1].lower()
                       in images.IMAGE_EXTENSIONS
                       and not any(part.startswith(".") for part in
                                   posixpath.relpath(p, root).split("/")))
        if not found:
            raise Error("content folder '%s': no image files found (looked for %s)"
                        % (content, " ".join(images.IMAGE_EXTENSIONS)))
        return [fs.unstrip_protocol(p) for p in found], fs.unstrip_protocol(root)
    sources = [os.fspath(s) for s in content]
    if not sources:
        raise Error("no content images given")
    return sources, None


def _strip(src):
    from fsspec.core import split_protocol
    return split_protocol(src)[1] if _is_url(src) else os.path.abspath(src)


def output_names(sources, top, output_dir):
    """Where each source is written under `output_dir`: as the single-process folder run
    names them (:func:`gluon_style.fast.output_paths`), relative to `top` (default: the
    sources' common folder)."""
    from . import output_paths
    stripped = [_strip(s) for s in sources]
    if top is None:
        top = os.path.commonpath([os.path.dirname(s) for s in stripped]) if all(
            s.startswith("/") for s in stripped) else posixpath.commonpath(
            [posixpath.dirname(s) for s in stripped])
    else:
        top = _strip(top)
    return output_paths(stripped, top, os.path.abspath(output_dir))


@dataclass
class BulkResult:
    """What :func:`stylize_many` did: the outputs `written` and `skipped` (they existed),
    `failed` (one message per file), the stylizing `tasks` submitted (batches; the
    size pass before them reads each source in a small task of its own) and the
    `seconds` taken, the cluster's start included."""
    written: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)
    failed: list = dataclasses.field(default_factory=list)
    tasks: int = 0
    seconds: float = 0.0


def default_workers():
    from ..runtime import default_threads
    return max(1, int(default_threads()))


def connect(address):
    """A ``distributed.Client`` and the cluster it started (None for a remote scheduler)
    for `address`: ``local`` or ``local:N`` (N worker processes on this host, default
    one per core, one thread and an equal share of the cores each) or a scheduler's
    address (``tcp://host:8786``)."""
    distributed = _require("distributed")
    address = str(address)
    if address == "local" or address.startswith("local:"):
        n = address.partition(":")[2]
        if n and not (n.isdigit() and int(n) > 0):
            raise Error("--dask local:N: N must be a whole number > 0, got %r" % n)
        n = int(n) if n else default_workers()
        omp = str(max(1, default_workers() // n))
        cluster = distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=":0", silence_logs=logging.ERROR,
            env={"OMP_NUM_THREADS": omp, "OMP_WAIT_POLICY": "passive"})
        return distributed.Client(cluster), cluster
    try:
        return distributed.Client(address, timeout=30), None
    except (OSError, TimeoutError) as e:
        raise Error("dask scheduler %s: cannot connect (%s)" % (address, " ".join(
            str(e).split()) or type(e).__name__)) from None


@takes(FastOptions, 2)
def stylize_many(sources, output_dir, options, *, style, client=None, top=None,
                 on_result=None):
    """Stylize `sources` (a folder, a folder URL or a list of paths/URIs, see
    :func:`list_sources`) into `output_dir` on Dask workers; returns a :class:`BulkResult`.

    `style`: a :class:`StyleSpec`, or a style name or ``.params`` path (with the
    options' controls). `client`: a ``distributed.Client``; None: one for the option
    ``dask`` (``local``, ``local:N`` or a scheduler address), closed at the end.
    Outputs that exist are skipped without a task; `on_result(status, what)` is called
    as each task ends (status ``"written"``, ``"skipped"`` or ``"failed"``).
    """
    distributed = _require("distributed")
    t0 = time.perf_counter()
    if not isinstance(style, StyleSpec):
        style = StyleSpec(model=os.fspath(style), strength=options.strength,
                          preserve_colors=options.preserve_colors,
                          precision=options.precision)
    if isinstance(sources, (str, os.PathLike)):
        sources, found_top = list_sources(sources)
        top = found_top if top is None else top
    else:
        sources, _ = list_sources(sources)
    outputs = output_names(sources, top, output_dir)
    result, todo = BulkResult(), []
    for src, dst in zip(sources, outputs):
        if os.path.exists(dst):
            result.skipped.append(dst)
            if on_result is not None:
                on_result("skipped", dst)
        else:
            todo.append((src, dst))
    missing = {dst for _, dst in todo}
    from ..io import images
    local = [s for s in sources if not _is_url(s)]
    for d in sorted({os.path.dirname(dst) for _, dst in todo}):
        try:
            os.makedirs(d, exist_ok=True)
        except OSError as e:
            raise Error("output folder %s: cannot create it (%s)" % (d, e.strerror))
    for _, dst in todo:
        images.check_output_path(dst, inputs=local)
    if not todo:
        result.seconds = time.perf_counter() - t0
        return result
    own = client is None
    if own:
        if not options.dask:
            raise Error("stylize_many: give a client or dask='local[:N]' or a scheduler address")
        client, cluster = connect(options.dask)

    def report(status, what):
        getattr(result, status).append(what)
        if on_result is not None:
            on_result(status, what)
    try:
        # the batches of the single-process run over every source (existing outputs too, as
        # they shape the batches), from the sizes; a task only for those with work to do
        sized = []
        for src, dst, fut in zip(sources, outputs, client.map(
                content_size, sources, max_size=options.max_size, pure=False)):
            try:
                size = tuple(fut.result())
            except Exception as e:  # the task itself was lost (a worker died, ...)
                size = ("failed", _message(src, e))
            if size[0] == "failed":
                if not os.path.exists(dst):
                    report("failed", size[1])
            else:
                sized.append((size, (src, dst)))
        from . import plan_batches
        batches = [b for b in plan_batches(sized) if any(d in missing for _, d in b)]
        futures = client.map(stylize_batch, batches, spec=style, max_size=options.max_size,
                             pure=False)
        result.tasks = len(futures)
        where = dict(zip(futures, batches))
        for fut in distributed.as_completed(futures):
            try:
                done = fut.result()
            except Exception as e:  # the task itself was lost (a worker died, ...)
                done = [("failed", _message(s, e)) for s, d in where[fut] if d in missing]
            for status, what in done:
                if status != "skipped" or what in missing:
                    report(status, what)
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
    result.written.sort()
    result.failed.sort()
    result.seconds = time.perf_counter() - t0
    return result
