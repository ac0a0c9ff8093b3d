"""Use every core: MXNet reads OMP_NUM_THREADS once, when it is first imported.

Without it MXNet's oneDNN kernels run on one thread (half speed on two cores).
This only fills in a default; a value the user set is kept.
"""
import os
import sys


def default_threads():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def ensure_omp_threads():
    """Set OMP_NUM_THREADS to the usable core count unless already set.

    Returns False when MXNet was imported before us with no setting, in which
    case it already chose one thread and nothing can be done in-process.
    """
    if "OMP_NUM_THREADS" in os.environ:
        return True
    if "mxnet" in sys.modules:
        return False
    os.environ["OMP_NUM_THREADS"] = str(default_threads())
    return True
