"""Threads and contexts."""
import os
import subprocess
import sys

import mxnet as mx
import pytest

from gluon_style import runtime
from gluon_style.errors import Error


def _env_after_import(env):
    code = ("import os, gluon_style, mxnet\n"
            "print(os.environ['OMP_NUM_THREADS'], os.environ.get('OMP_WAIT_POLICY'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    return out.stdout.split()


def test_import_uses_every_core_unless_told_otherwise():
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    assert _env_after_import(env) == [str(runtime.default_threads()), "passive"]
    env.update(OMP_NUM_THREADS="1", OMP_WAIT_POLICY="active")
    assert _env_after_import(env) == ["1", "active"]


def test_parse_ctx():
    assert runtime.parse_ctx("cpu") == [mx.cpu()]
    assert runtime.parse_ctx(None) == [runtime.default_ctx()]
    assert runtime.parse_ctx("cpu0, cpu1") == [mx.cpu(0), mx.cpu(1)]
    with pytest.raises(Error, match="unknown context 'tpu'"):
        runtime.parse_ctx("tpu")
    if mx.context.num_gpus() == 0:
        with pytest.raises(Error, match="sees 0 GPU"):
            runtime.parse_ctx("gpu1")
