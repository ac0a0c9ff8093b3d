"""gluon_style: neural style transfer in MXNet/Gluon.

Two modes:

* optimization (Gatys et al.): :func:`stylize` optimizes the image itself
  against VGG features of a content and a style image;
* fast (Johnson et al.): :class:`~gluon_style.train.StyleTrainer` trains a
  feed-forward transformer per style (``python -m gluon_style train``),
  :func:`~gluon_style.fast.load_style` loads one to stylize in one forward pass.

Importing the package is cheap: MXNet is imported on first use. The one thing
done at import is a default for ``OMP_NUM_THREADS`` (every usable core), which
MXNet only reads when it is first imported; a value you set is kept.
"""
from .runtime import ensure_omp_threads as _ensure_omp_threads
from .errors import Error

_ensure_omp_threads()

__version__ = "0.1.0"

_LAZY = {
    "stylize": ("gatys", "stylize"),
    "stylize_steps": ("gatys", "stylize_steps"),
}

__all__ = ["Error", "__version__"] + sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module("." + module, __name__), attr)
    raise AttributeError("module 'gluon_style' has no attribute %r" % name)
