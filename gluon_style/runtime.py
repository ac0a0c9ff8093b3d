"""Runtime setup: threads, contexts and interrupts.

Use every core: MXNet reads OMP_NUM_THREADS once, when it is first imported.

Without it MXNet's oneDNN kernels run on one thread (half speed on two cores).
This only fills in a default; a value the user set is kept.
"""
import contextlib
import os
import signal
import sys
import threading


def default_threads():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def ensure_omp_threads():
    """Set OMP_NUM_THREADS to the usable core count unless already set.

    Also defaults OMP_WAIT_POLICY to ``passive``: with OpenMP's spinning
    waits, a step runs 4-9x slower whenever another process wants a core
    (measured with a training run beside it), for ~5% gained on an idle machine.
    Returns False when MXNet was imported before us with no setting, in which
    case it already chose one thread and nothing can be done in-process.
    """
    if "mxnet" in sys.modules and "OMP_NUM_THREADS" not in os.environ:
        return False
    os.environ.setdefault("OMP_NUM_THREADS", str(default_threads()))
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    return True


def default_ctx():
    """``mx.gpu(0)`` when MXNet sees a GPU, else ``mx.cpu()``."""
    import mxnet as mx
    return mx.gpu(0) if _num_gpus() > 0 else mx.cpu()


def parse_ctx(spec):
    """Contexts from ``"cpu"``, ``"gpu"``, ``"gpu0,gpu1"``, ``"auto"`` or None.

    Returns a list of ``mx.Context``; an unknown word is an :class:`Error`.
    ``"cpu0,cpu1"`` gives two distinct CPU contexts (the same cores): it runs
    the multi-device code path (split batches, summed gradients) without a GPU.
    """
    import mxnet as mx
    from .errors import Error
    if spec is None or spec == "auto":
        return [default_ctx()]
    if isinstance(spec, mx.Context):
        return [spec]
    if not isinstance(spec, str):
        return [c for s in spec for c in parse_ctx(s)]
    out = []
    for word in spec.replace(" ", "").split(","):
        kind, num = word.rstrip("0123456789"), word[len(word.rstrip("0123456789")):]
        if kind not in ("cpu", "gpu") or not word:
            raise Error("unknown context %r (use cpu, gpu, gpu0, gpu0,gpu1 or auto)" % word)
        index = int(num) if num else 0
        if kind == "gpu" and index >= _num_gpus():
            raise Error("context %s: MXNet sees %d GPU(s)" % (word, _num_gpus()))
        out.append(mx.gpu(index) if kind == "gpu" else mx.cpu(index))
    return out


def _num_gpus():
    import mxnet as mx
    try:  # a CPU-only build may answer with an error
        return mx.context.num_gpus()
    except mx.base.MXNetError:
        return 0


@contextlib.contextmanager
def interrupts_held():
    """Hold Ctrl-C (and SIGTERM where Python handles it) while the block runs.

    For work that must not stop halfway, such as a training step (the update of
    the weights and the Adam state, the step count and the log) or a checkpoint:
    an interrupt that arrives meanwhile is delivered, to the handler that was in
    place, when the block has finished; if the block raises, its exception goes
    on instead. Blocks nest. Outside the main thread (where Python delivers
    signals) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held, handlers = [], {}

    def hold(signum, frame):
        held.append((signum, frame))
    for sig in (signal.SIGINT, signal.SIGTERM):
        if callable(signal.getsignal(sig)):  # not SIG_DFL, SIG_IGN or set outside Python
            handlers[sig] = signal.signal(sig, hold)
    try:
        yield
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    if held:
        signum, frame = held[0]
        handlers[signum](signum, frame)
