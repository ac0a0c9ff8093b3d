"""The layout by mode (io, nets, optimization, fast) and the old module names."""
import importlib
import os
import pickle
import subprocess
import sys

import pytest

import gluon_style

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("old", sorted(gluon_style.MOVED))
def test_an_old_module_name_is_the_module_at_its_new_path(old):
    new = importlib.import_module("gluon_style." + gluon_style.MOVED[old])
    assert importlib.import_module("gluon_style." + old) is new
    assert getattr(gluon_style, old) is new
    assert new.__name__ == new.__spec__.name == "gluon_style." + gluon_style.MOVED[old]
    assert sys.modules["gluon_style." + old] is new


def test_old_names_in_a_fresh_process_import_lazily_and_alias():
    code = ("import sys, gluon_style\n"
            "assert 'mxnet' not in sys.modules and 'gluon_style.io' not in sys.modules\n"
            "from gluon_style import images, fileio\n"
            "from gluon_style.images import MEAN\n"
            "import gluon_style.fileio as f\n"
            "import gluon_style.io.images as new\n"
            "assert images is new and MEAN is new.MEAN\n"
            "assert f is sys.modules['gluon_style.io.fileio']\n"
            "import gluon_style.fast, gluon_style.arbitrary, gluon_style.gatys\n"
            "assert gluon_style.arbitrary is gluon_style.fast.arbitrary\n"
            "assert gluon_style.gatys is gluon_style.optimization.gatys\n"
            "assert callable(gluon_style.fast.load_style)\n"
            "assert callable(gluon_style.stylize_steps)\n")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)


def test_a_pickle_naming_an_old_module_loads():
    from gluon_style.io.fileio import digest
    # protocol 0 names the function by module and name: the old module name resolves
    old = b"cgluon_style.fileio\ndigest\n."
    assert pickle.loads(old) is digest


def test_setup_ships_the_subpackages():
    from setuptools import find_packages
    found = find_packages(ROOT, include=["gluon_style", "gluon_style.*"])
    for package in ("gluon_style.io", "gluon_style.nets", "gluon_style.optimization",
                    "gluon_style.fast", "gluon_style.cli", "gluon_style.app"):
        assert package in found
