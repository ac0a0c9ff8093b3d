"""gluon_style: neural style transfer in MXNet/Gluon.

Two modes:

* optimization (Gatys et al.): :func:`stylize` optimizes the image itself
  against VGG features of a content and a style image;
* fast (Johnson et al.): :class:`~gluon_style.fast.train.StyleTrainer` trains a
  feed-forward transformer per style (``python -m gluon_style train``),
  :func:`~gluon_style.fast.load_style` loads one to stylize in one forward pass.

Importing the package is cheap: MXNet is imported on first use. Two things are
done at import, both for MXNet's oneDNN, which reads them before its first use: a
default for ``OMP_NUM_THREADS`` (every usable core), and, on a CPU with AMX, the
permission to use it (:func:`gluon_style.runtime.enable_amx`; ``GLUON_STYLE_AMX=0``
leaves it off). Values you set are kept.

The package is laid out by mode: ``io`` (pictures, files), ``nets`` (the
networks and their weights), ``optimization`` (Gatys), ``fast`` (trained
styles, multi-style, arbitrary, video); the flat module names of earlier
versions (``gluon_style.images``, ``gluon_style.gatys``, ...) still import, as
the same modules (:data:`MOVED`).
"""
import sys as _sys

from .runtime import ensure_omp_threads as _ensure_omp_threads
from .runtime import bound_kernel_caches as _bound_kernel_caches
from .runtime import enable_amx as _enable_amx
from .errors import Error

_ensure_omp_threads()
_bound_kernel_caches()
_enable_amx()

__version__ = "0.1.0"

_LAZY = {
    "stylize": ("optimization.gatys", "stylize"),
    "stylize_steps": ("optimization.gatys", "stylize_steps"),
}

__all__ = ["Error", "__version__"] + sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module("." + module, __name__), attr)
    if name in MOVED:
        import importlib

        return importlib.import_module("." + name, __name__)
    raise AttributeError("module 'gluon_style' has no attribute %r" % name)

#: Modules that moved when the package was laid out by mode (``io``, ``nets``,
#: ``optimization``, ``fast``): old name -> new name, both under ``gluon_style``.
#: ``import gluon_style.images`` (or ``from gluon_style import images``) gives the
#: module at its new path, the same object, so patches and pickles see one module.
MOVED = {
    "images": "io.images", "fileio": "io.fileio",
    "features": "nets.features", "store": "nets.store", "transformer": "nets.transformer",
    "magenta": "nets.magenta", "onnx_weights": "nets.onnx_weights",
    "gatys": "optimization.gatys", "losses": "optimization.losses",
    "optimizer": "optimization.optimizer",
    "arbitrary": "fast.arbitrary", "multistyle": "fast.multistyle", "data": "fast.data",
    "train": "fast.train", "export": "fast.export", "video": "fast.video",
}


class _MovedModules:
    """Meta-path finder and loader of the old names in :data:`MOVED`: the module
    is imported at its new path and bound to the old name too; nothing is imported
    until an old name is."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        package, _, name = fullname.partition(".")
        if package == __name__ and name in MOVED:
            from importlib.machinery import ModuleSpec

            return ModuleSpec(fullname, cls())
        return None

    def create_module(self, spec):
        import importlib

        module = importlib.import_module("%s.%s" % (__name__, MOVED[spec.name.partition(".")[2]]))
        self._spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self._spec  # the import system set the alias's spec on it


# first, so an old name never finds a stale file (or an editable install's finder);
# one finder, also after a reload
_sys.meta_path[:] = [_MovedModules] + [f for f in _sys.meta_path
                                       if getattr(f, "__qualname__", None) != "_MovedModules"
                                       or getattr(f, "__module__", None) != __name__]
