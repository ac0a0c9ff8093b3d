"""Runtime setup: threads, the CPU's AMX units, contexts and interrupts.

Use every core: MXNet reads OMP_NUM_THREADS once, when it is first imported.
Without it MXNet's oneDNN kernels run on one thread (half speed on two cores).
This only fills in a default; a value the user set is kept.

Use AMX where the CPU has it (:func:`enable_amx`): the oneDNN inside MXNet 1.9 (2.4)
has AMX kernels for bfloat16 and int8 but leaves them off unless ``DNNL_MAX_CPU_ISA``
asks for them, and Linux (5.16 and later) lets a process use AMX's tile registers only
after it asks (``arch_prctl(ARCH_REQ_XCOMP_PERM)``); a kernel run without that
permission dies of SIGILL. With both, bfloat16 convolutions run ~2.4x faster than
float32 ones instead of ~0.6x (docs/precision.md). float32 work is unchanged.

Bound MXNet's kernel caches (:data:`KERNEL_CACHE`): a value the user set is kept.

Keep freed memory in the process, and one MXNet CPU temporary space
(:func:`keep_freed_memory`), for the package's own programs: photos of many sizes then
reuse the same pages.
"""
import contextlib
import os
import platform
import signal
import sys
import threading

#: the environment variables oneDNN reads its highest instruction set from
ISA_VARS = ("DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA")
#: what :func:`enable_amx` sets (oneDNN 2.x's name for AMX with bfloat16 and int8)
AMX_ISA = "AVX512_CORE_AMX"
#: set to 0 to leave AMX off
AMX_SWITCH = "GLUON_STYLE_AMX"

_SYS_ARCH_PRCTL = 158  # x86_64
_ARCH_REQ_XCOMP_PERM = 0x1023
_XFEATURE_XTILEDATA = 18

#: what :func:`enable_amx` found: ``on`` (bool), ``why`` (str), ``set`` (whether it
#: set ``DNNL_MAX_CPU_ISA`` itself, to be taken back by :func:`settle_cpu_isa`), ``late``
#: (MXNet was imported first: oneDNN may have read its ISA already)
AMX = {"on": False, "why": "not asked", "set": False, "late": False}


#: MXNet keeps the oneDNN kernels it made for each input shape in per-operator caches
#: without limit unless ``MXNET_MKLDNN_CACHE_NUM`` bounds them, and a transposed
#: convolution's entry holds its scratch space: photos of many sizes in one process
#: grew without end. With this bound memory levels off; it is above the most kernels of
#: one kind that one run of the package uses at one size (52 convolutions in a
#: two-scale optimization, 28 in a training step), so repeated work makes nothing
#: again (docs/precision.md, "Memory")
KERNEL_CACHE = 64


def bound_kernel_caches():
    """Default ``MXNET_MKLDNN_CACHE_NUM`` to :data:`KERNEL_CACHE` (MXNet reads it at
    its first cached kernel: in time even after ``import mxnet``)."""
    os.environ.setdefault("MXNET_MKLDNN_CACHE_NUM", str(KERNEL_CACHE))


#: temporary spaces MXNet keeps for the CPU in the package's own programs
#: (``MXNET_CPU_TEMP_COPY``, set by :func:`keep_freed_memory`; MXNet's default is 4).
#: Operators that need scratch (the concatenations of the pads, sums, transposed convs)
#: take the spaces in turn, each grows to the largest request it serves and is kept, and
#: MXNet's CPU engine runs one operator at a time: at ~1 MP each space grows to ~75 MB
#: (docs/precision.md, "Largest first")
CPU_TEMP_COPIES = 1

#: set to 0 to leave the C allocator as it is (:func:`keep_freed_memory`)
KEEP_MEMORY_SWITCH = "GLUON_STYLE_KEEP_MEMORY"
#: glibc's mallopt parameters (malloc.h) and what :func:`keep_freed_memory` gives them:
#: no block served by its own mmap, no trimming of the heap's top, one arena
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
KEEP_MEMORY_OPTIONS = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2 ** 31 - 1), (_M_ARENA_MAX, 1))
#: what :func:`keep_freed_memory` did: ``kept`` (bool), ``why`` (str)
MEMORY = {"kept": False, "why": "not asked", "temp_copies": None}


def _libc():
    import ctypes
    try:
        return ctypes.CDLL(None)
    except OSError:  # pragma: no cover - no C library to load
        return None


def keep_freed_memory(*, environ=None, libc=None):
    """Keep the memory the process frees for its own next allocations (glibc only).

    MXNet's CPU arrays are plain ``malloc`` blocks, and a photo of another size makes it
    allocate the network's buffers again. glibc hands big blocks back to the kernel when
    they are freed (their own ``mmap``, or a trimmed heap top), so the next size's buffers
    are new pages: faulted and zeroed by the kernel on first touch, and on a virtual
    machine that returns freed guest memory to its host, set up again by the host, which
    can cost more than the network (docs/precision.md, "Memory"). Here every block comes
    from the heap and the heap never shrinks: going from size to size reuses the same
    pages. One arena for every thread: a thread's own arena (MXNet's engine and OpenMP
    threads allocate too) grows in extra heaps that glibc unmaps as soon as they are
    free, whatever the trim threshold; the main arena's heap is only trimmed. Called
    before MXNet starts its threads, so they all take the main arena. The price: the
    process holds its high-water mark of memory until it exits (it mostly does anyway:
    MXNet keeps its buffers).

    It also sets ``MXNET_CPU_TEMP_COPY`` to :data:`CPU_TEMP_COPIES` unless it is set
    (MXNet reads it at the first operator that needs scratch, after this call). Not at
    import either: an inference pass lets oneDNN reorder the weights in place, and
    ``mx.nd.save`` of ``p.data()`` started before the pass ends can write some of them
    wrong; one space makes that far more frequent than four. The package's own saves
    copy the weights first, which waits for the pass.

    For the package's own programs (the command line and the app call it at start), not
    done at import: it sets the C allocator of the whole process.
    ``GLUON_STYLE_KEEP_MEMORY=0`` leaves both alone. Returns :data:`MEMORY`. `environ` and
    `libc` are parameters for the tests.
    """
    environ = os.environ if environ is None else environ
    libc = _libc() if libc is None else libc
    MEMORY.update(kept=False, temp_copies=None)
    if environ.get(KEEP_MEMORY_SWITCH, "1") == "0":
        MEMORY["why"] = "%s=0" % KEEP_MEMORY_SWITCH
        return MEMORY
    MEMORY["temp_copies"] = environ.setdefault("MXNET_CPU_TEMP_COPY", str(CPU_TEMP_COPIES))
    if libc is None or not hasattr(libc, "gnu_get_libc_version"):  # glibc has mallopt
        MEMORY["why"] = "not glibc"
    elif not all(libc.mallopt(opt, value) == 1 for opt, value in KEEP_MEMORY_OPTIONS):
        MEMORY["why"] = "mallopt refused"
    else:
        MEMORY.update(kept=True, why="freed memory kept (glibc: no mmap, no trim, one arena)")
    return MEMORY


def default_threads():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


#: how long (libgomp's ``GOMP_SPINCOUNT``, in spins) an OpenMP thread that waits for
#: work spins before it sleeps, when the package picks the wait policy: long enough to
#: span the gap between two small oneDNN primitives (with no spin, each one waits for
#: the other thread to wake), short enough that a busy neighbour on a shared core costs
#: little (figures: docs/precision.md, "OpenMP's waits")
OMP_SPIN_COUNT = 3000


def ensure_omp_threads():
    """Set OMP_NUM_THREADS to the usable core count unless already set.

    Also, unless OMP_WAIT_POLICY is set, sets it to ``passive`` with a short spin
    (``GOMP_SPINCOUNT`` = :data:`OMP_SPIN_COUNT`, unless set): OpenMP's own default
    spins long (libgomp: 300,000 spins), which makes a step several times slower
    whenever another process wants a core; with no spin at all, each of the network's
    small operators waits for the other thread to wake. Returns False
    when MXNet was imported before us with no setting, in which case it already chose
    one thread and nothing can be done in-process.
    """
    if "mxnet" in sys.modules and "OMP_NUM_THREADS" not in os.environ:
        return False
    os.environ.setdefault("OMP_NUM_THREADS", str(default_threads()))
    os.environ.update(omp_wait_defaults(os.environ))
    return True


def omp_wait_defaults(environ):
    """What the package adds to `environ` for OpenMP's waits: nothing when it sets a
    wait policy; else ``passive`` with :data:`OMP_SPIN_COUNT` spins (or its own
    ``GOMP_SPINCOUNT``). See :func:`ensure_omp_threads`."""
    if "OMP_WAIT_POLICY" in environ:
        return {}
    return {"OMP_WAIT_POLICY": "passive",
            "GOMP_SPINCOUNT": environ.get("GOMP_SPINCOUNT", str(OMP_SPIN_COUNT))}


def _request_amx():
    """Ask Linux for AMX's tile data (per process, kept by forks, dropped by exec);
    0 on success, else the errno."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(_SYS_ARCH_PRCTL, _ARCH_REQ_XCOMP_PERM, _XFEATURE_XTILEDATA) == 0:
        return 0
    return ctypes.get_errno() or -1


def enable_amx(*, flags=None, environ=None, request=_request_amx, machine=None):
    """Let MXNet's oneDNN use the CPU's AMX units, before any MXNet kernel has run.

    Where the CPU has AMX (``amx_tile`` and ``amx_bf16`` in `flags`, default
    /proc/cpuinfo) on Linux x86_64: asks the kernel for the tile registers and, if it
    grants them and no ``DNNL_MAX_CPU_ISA``/``ONEDNN_MAX_CPU_ISA`` is set, sets
    ``DNNL_MAX_CPU_ISA=AVX512_CORE_AMX`` (oneDNN reads it at its first kernel;
    :func:`settle_cpu_isa` then takes it back out of the environment, so programs
    started later do not inherit a setting without the permission that goes with it).
    An ISA the user set is kept, and the permission is still asked for when it allows
    AMX. ``GLUON_STYLE_AMX=0`` leaves all of it alone. Returns :data:`AMX`.
    `flags`, `environ`, `request` and `machine` are parameters for the tests.
    """
    from .precision import cpu_flags
    environ = os.environ if environ is None else environ
    flags = cpu_flags() if flags is None else flags
    machine = platform.machine() if machine is None else machine
    asked = next((environ[v] for v in ISA_VARS if environ.get(v)), None)
    # MXNet imported before the package may already have read its ISA: then AMX may not
    # take effect in this process (the speed probe keys its cache by this too)
    AMX.update(on=False, set=False, late="mxnet" in sys.modules)
    if environ.get(AMX_SWITCH, "1") == "0":
        AMX["why"] = "%s=0" % AMX_SWITCH
    elif not sys.platform.startswith("linux") or machine not in ("x86_64", "AMD64"):
        AMX["why"] = "not Linux on x86_64"
    elif not {"amx_tile", "amx_bf16"} <= set(flags):
        AMX["why"] = "no AMX on this CPU"
    elif asked is not None and not asked.upper().startswith(AMX_ISA) \
            and asked.upper() != "ALL":
        AMX["why"] = "the ISA is set to %s" % asked
    else:
        err = request()
        if err:
            AMX["why"] = "Linux refused AMX's registers (errno %s)" % err
        else:
            AMX["on"] = True
            AMX["why"] = "AMX on" if asked is None else "AMX on (the ISA is set to %s)" % asked
            if asked is None:
                environ[ISA_VARS[0]] = AMX_ISA
                AMX["set"] = True
    return AMX


def settle_cpu_isa(environ=None):
    """Make oneDNN read its instruction set now (one tiny convolution) and take the
    ``DNNL_MAX_CPU_ISA`` that :func:`enable_amx` set back out of the environment.
    Called before the package runs MXNet work; cheap after the first call."""
    environ = os.environ if environ is None else environ
    if not AMX["set"]:
        return
    import mxnet as mx
    x = mx.nd.ones((1, 1, 1, 1), ctx=mx.cpu())
    mx.nd.Convolution(x, x, kernel=(1, 1), num_filter=1, no_bias=True).wait_to_read()
    if environ.get(ISA_VARS[0]) == AMX_ISA:
        del environ[ISA_VARS[0]]
    AMX["set"] = False


def child_environ(environ=None):
    """A copy of the environment for a program this process starts: without the
    ``DNNL_MAX_CPU_ISA`` this package set (the child has no AMX permission yet; a
    gluon_style child asks for its own)."""
    env = dict(os.environ if environ is None else environ)
    if AMX["set"] and env.get(ISA_VARS[0]) == AMX_ISA:
        del env[ISA_VARS[0]]
    return env


def default_ctx():
    """``mx.gpu(0)`` when MXNet sees a GPU, else ``mx.cpu()``."""
    import mxnet as mx
    settle_cpu_isa()
    return mx.gpu(0) if _num_gpus() > 0 else mx.cpu()


def parse_ctx(spec):
    """Contexts from ``"cpu"``, ``"gpu"``, ``"gpu0,gpu1"``, ``"auto"`` or None.

    Returns a list of ``mx.Context``; an unknown word is an :class:`Error`.
    ``"cpu0,cpu1"`` gives two distinct CPU contexts (the same cores): it runs
    the multi-device code path (split batches, summed gradients) without a GPU.
    """
    import mxnet as mx
    from .errors import Error
    settle_cpu_isa()
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


def prime(ctx=None):
    """Push a tiny matrix product to MXNet's engine and return at once: its output, not
    waited for (None off the CPU).

    The process's first oneDNN operator sets up what every later one shares: OpenMP's
    threads and, for the first matrix product, the gemm kernels oneDNN generates once
    (the multi-style network's 1x1 convs and last interleave take that path; the cost
    is in ``docs/precision.md``). Pushed early, that runs on the engine's thread while
    the caller goes on (the command line checks its inputs and loads the style
    meanwhile) instead of inside the first photo's pass ("The first call's one-time
    work" there). oneDNN's instruction set is settled first (:func:`settle_cpu_isa`),
    as before any operator.
    """
    import mxnet as mx
    settle_cpu_isa()
    ctx = ctx or default_ctx()
    if ctx.device_type != "cpu":
        return None
    x, w, b = (mx.nd.zeros(s, ctx=ctx) for s in ((1, 3, 8, 8), (3, 3, 1, 1), (3,)))
    return mx.nd.Convolution(x, w, b, kernel=(1, 1), num_filter=3)


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
