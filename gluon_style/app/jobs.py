"""The app's jobs: one folder each, fast transfers on one inference thread, optimization
in a worker.

A job is named by a random id (the only way to reach it) and owns one folder
under the work directory, named by that id; its files have fixed names
(:data:`FILES`), so nothing a client sends ever becomes part of a path.

MXNet work runs on two long-lived threads only: MXNet keeps memory for every
thread that ran a network and never gives it back (about 10 MB per thread for a
128x96 transfer), and the server answers each request on a new thread, so a
request hands its one-pass transfer (a trained style, or "your painting"
through Magenta's networks) to the inference thread (:meth:`Jobs.infer`) and
waits for it. MXNet work is serialized by :class:`Compute`: the optimization
worker holds it for one iteration at a time and steps aside whenever a fast
transfer is waiting, so fast mode stays interactive while an optimization runs.
"""
import concurrent.futures
import os
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field


from ..io import images
from ..errors import Error

#: The files a client may fetch from a job's folder.
FILES = ("result.png", "content.png", "preview.png")
ID_BYTES = 18  # 144 random bits, 24 URL-safe characters


def check_upload(path, name, role, max_pixels=None):
    """Validate an uploaded image with :func:`images.load_image`; messages name the
    client's file `name`, never the server's path. Returns the PIL image."""
    try:
        return images.load_image(path, role=role, max_pixels=max_pixels)
    except Error as e:
        raise Error(shown_names(str(e), [(path, name)])) from None


def shown_names(message, uploads):
    """`message` with the server path of each ``(path, client's name, ...)`` upload
    replaced by the client's file name."""
    for path, name, *_ in uploads:
        message = message.replace("'%s'" % path, "'%s'" % name)
    return message


class Busy(Error):
    """The optimization queue is full (answered with a 503)."""


class Compute:
    """A lock for MXNet work in which short tasks (fast transfers) go first."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting = 0
        self._count = threading.Lock()

    def urgent(self):
        """Context manager for a short task: waits at most one iteration."""
        return _Urgent(self)

    def step(self):
        """Context manager for one iteration of a long task."""
        while self._waiting:
            time.sleep(0.005)
        return self._lock


class _Urgent:
    def __init__(self, compute):
        self.c = compute

    def __enter__(self):
        with self.c._count:
            self.c._waiting += 1
        self.c._lock.acquire()

    def __exit__(self, *exc):
        self.c._lock.release()
        with self.c._count:
            self.c._waiting -= 1


@dataclass(eq=False)
class Job:
    """One transfer: its folder, state and progress (read by the status endpoint)."""
    folder: str
    mode: str  # "fast", "arbitrary" or "optimize"
    options: dict  # what the client chose (shown back in the status)
    id: str = field(init=False)  # the folder's name
    status: str = "queued"  # queued, running, done, error, cancelled
    message: str = ""
    step: int = 0
    losses: dict = field(default_factory=dict)
    preview_step: int = 0
    total: object = None  # iterations in all (every scale), once known
    created: float = field(default_factory=time.time)
    started: object = None
    finished: object = None
    cancelled: bool = False
    #: (path, client's name, role) of the photo and the painting of a queued optimization
    uploads: list = field(default_factory=list)
    seconds: float = 0.0  # compute time of a one-pass transfer

    def __post_init__(self):
        self.id = os.path.basename(self.folder)
        self.total = self.options.get("iterations")

    def path(self, name):
        """The path of one of the job's :data:`FILES`."""
        if name not in FILES:
            raise KeyError(name)
        return os.path.join(self.folder, name)

    def has(self, name):
        return name in FILES and os.path.isfile(os.path.join(self.folder, name))


class Jobs:
    """The jobs of one app: creation, lookup, the optimization queue and its worker.

    `run_optimization(job)` is called in the worker thread for each queued job;
    at most `max_queued` jobs wait for it, and at most `keep` jobs are kept (the
    oldest finished ones and their folders go).
    """

    def __init__(self, workdir, run_optimization, *, max_queued, keep=50):
        self.workdir, self._run, self.keep = workdir, run_optimization, keep
        self.max_queued = max_queued
        self._jobs = OrderedDict()
        self._queue = []
        self._lock = threading.Condition()
        self._worker = None
        self.compute = Compute()
        # its one thread starts with the first transfer and lives as long as the app
        self._inference = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="gluon_style-infer")

    def in_background(self, fn, *args):
        """``fn(*args)`` on the inference thread, not waited for: a Future."""
        return self._inference.submit(fn, *args)

    def infer(self, fn, *args):
        """``fn(*args)`` on the inference thread, ahead of the optimization's next
        iteration; returns its result (or raises its exception) in the caller."""
        with self.compute.urgent():
            return self._inference.submit(fn, *args).result()

    def create(self, mode, options):
        """A new job with a fresh random id and its own empty folder."""
        os.makedirs(self.workdir, exist_ok=True)
        while True:
            folder = os.path.join(self.workdir, secrets.token_urlsafe(ID_BYTES))
            try:
                os.mkdir(folder, 0o700)
                break
            except FileExistsError:  # pragma: no cover - 2^-144
                continue
        job = Job(folder, mode, options)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        return job

    def get(self, job_id):
        """The job named `job_id`, or None (any other string, including paths)."""
        with self._lock:
            return self._jobs.get(job_id) if isinstance(job_id, str) else None

    def discard(self, job):
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def _forget_old(self):
        done = [j for j in self._jobs.values() if j.status in ("done", "error", "cancelled")]
        for job in done[:max(0, len(self._jobs) - self.keep)]:
            del self._jobs[job.id]
            shutil.rmtree(job.folder, ignore_errors=True)

    # ------------------------------------------------------------ queue
    def check_room(self):
        """Raise :class:`Busy` when `max_queued` jobs wait already."""
        with self._lock:
            if len(self._queue) >= self.max_queued:
                raise Busy("the optimization queue is full (%d waiting, the most it holds): "
                           "try again when one has finished" % len(self._queue))

    def submit(self, job):
        """Queue an optimization job (:class:`Busy` when the queue is full); the worker
        thread starts on first use."""
        with self._lock:
            self.check_room()
            self._queue.append(job)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="gluon_style-optimize",
                                                daemon=True)
                self._worker.start()
            self._lock.notify_all()

    def ahead(self, job):
        """How many jobs run or wait before `job` starts (None when it is not queued)."""
        with self._lock:
            if job not in self._queue:
                return None
            running = any(j.status == "running" for j in self._jobs.values())
            return self._queue.index(job) + running

    def cancel(self, job):
        with self._lock:
            job.cancelled = True
            if job in self._queue:
                self._queue.remove(job)
                job.status, job.message = "cancelled", "cancelled before it started"

    def _work(self):
        while True:
            with self._lock:
                while not self._queue:
                    self._lock.wait()
                job = self._queue.pop(0)
                job.status, job.started = "running", time.time()
            try:
                self._run(job)
                if job.status == "running":
                    job.status = "cancelled" if job.cancelled else "done"
            except Error as e:
                job.status, job.message = "error", str(e)
            except Exception as e:  # a bug; the server goes on serving
                job.status = "error"
                job.message = "internal error: %s" % (" ".join(str(e).split()) or
                                                       type(e).__name__)
            job.finished = time.time()


def save_png(img, path):
    """Save a PIL image as PNG (atomically)."""
    images.save_image(img, path)


def run_optimization(jobs, job, network, previews=10):
    """Run an optimization job (in the worker thread): `previews` pictures along the way in
    ``preview.png``, the result in ``result.png``."""
    from ..optimization.optimizer import NonFiniteLoss
    last = None
    try:
        with jobs.compute.step():
            run = _start(job, network)
        job.total = run.total
        every = max(1, run.total // previews)
        while not job.cancelled:
            with jobs.compute.step():
                step = next(run, None)
                if step is None:
                    break
                last, job.step = step, step.step
                job.losses = {k: float(v) for k, v in step.losses.items()}
                if step.step % every == 0 and step.step < run.total:
                    save_png(run.picture(step.image), job.path("preview.png"))
                    job.preview_step = step.step
    except NonFiniteLoss as e:
        if e.step == 0:
            job.status, job.message = "error", "%s (the starting image's loss); no result" % e
        else:
            save_png(run.picture(e.image), job.path("result.png"))
            job.message = "%s; the result is the image of iteration %d" % (e, e.step)
        return
    if last is not None:
        with jobs.compute.urgent():
            save_png(run.picture(last.image), job.path("result.png"))
    if job.cancelled:
        job.message = "stopped at iteration %d of %d" % (job.step, job.total)


def _start(job, network):
    """The job's :func:`gatys.stylize_steps` on its upload files (``job.uploads``, the
    (path, client's name, role) of its photo and painting: a queued job holds no
    pictures); its errors name the client's files."""
    from ..optimization import gatys
    from ..options import OptimizeOptions
    from .server import APP_OPTIMIZE
    o = job.options
    try:
        options = OptimizeOptions.make(network=network, **{k: o[k] for k in APP_OPTIMIZE})
        return gatys.stylize_steps(*(path for path, *_ in job.uploads), options=options)
    except Error as e:
        raise Error(shown_names(str(e), job.uploads)) from None
