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
            "print(os.environ['OMP_NUM_THREADS'], os.environ.get('OMP_WAIT_POLICY'),"
            " os.environ.get('GOMP_SPINCOUNT'), os.environ.get('MXNET_MKLDNN_CACHE_NUM'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    return out.stdout.split()


def test_import_uses_every_core_and_bounds_the_kernel_caches_unless_told_otherwise():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMP_", "GOMP_")) and k != "MXNET_MKLDNN_CACHE_NUM"}
    assert _env_after_import(env) == [str(runtime.default_threads()), "passive",
                                      str(runtime.OMP_SPIN_COUNT), str(runtime.KERNEL_CACHE)]
    # a wait policy of the user's own: no spin count of ours beside it
    env.update(OMP_NUM_THREADS="1", OMP_WAIT_POLICY="active", MXNET_MKLDNN_CACHE_NUM="-1")
    assert _env_after_import(env) == ["1", "active", "None", "-1"]
    env.update(OMP_WAIT_POLICY="passive")
    assert _env_after_import(env)[1:3] == ["passive", "None"]
    # ours, with the user's spin count
    del env["OMP_WAIT_POLICY"]
    env.update(GOMP_SPINCOUNT="0")
    assert _env_after_import(env)[1:3] == ["passive", "0"]


def test_parse_ctx():
    assert runtime.parse_ctx("cpu") == [mx.cpu()]
    assert runtime.parse_ctx(None) == [runtime.default_ctx()]
    assert runtime.parse_ctx("cpu0, cpu1") == [mx.cpu(0), mx.cpu(1)]
    with pytest.raises(Error, match="unknown context 'tpu'"):
        runtime.parse_ctx("tpu")
    if mx.context.num_gpus() == 0:
        with pytest.raises(Error, match="sees 0 GPU"):
            runtime.parse_ctx("gpu1")


AMX_FLAGS = frozenset({"avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8"})


@pytest.fixture
def amx_state(monkeypatch):
    """A fresh record of what enable_amx found, the real one restored after."""
    monkeypatch.setattr(runtime, "AMX", {"on": False, "why": "not asked", "set": False,
                                         "late": False})
    return runtime


def asked(result=0):
    calls = []

    def request():
        calls.append(1)
        return result
    return request, calls


def test_amx_is_asked_for_and_its_isa_set_on_a_cpu_with_it(amx_state):
    env = {}
    request, calls = asked(0)
    got = amx_state.enable_amx(flags=AMX_FLAGS, environ=env, request=request,
                               machine="x86_64")
    assert calls == [1] and got["on"] and got["set"]
    assert env == {"DNNL_MAX_CPU_ISA": "AVX512_CORE_AMX"}
    child = amx_state.child_environ(env)  # a program started now: no inherited ISA
    assert "DNNL_MAX_CPU_ISA" not in child and env["DNNL_MAX_CPU_ISA"]
    amx_state.settle_cpu_isa(env)  # oneDNN has read it: taken back out
    assert env == {} and not amx_state.AMX["set"] and amx_state.AMX["on"]


@pytest.mark.parametrize("flags, env, machine, result, why", [
    (frozenset({"avx512f", "avx512_bf16"}), {}, "x86_64", 0, "no AMX"),
    (AMX_FLAGS, {"GLUON_STYLE_AMX": "0"}, "x86_64", 0, "GLUON_STYLE_AMX=0"),
    (AMX_FLAGS, {}, "aarch64", 0, "not Linux on x86_64"),
    (AMX_FLAGS, {"DNNL_MAX_CPU_ISA": "AVX512_CORE"}, "x86_64", 0, "set to AVX512_CORE"),
    (AMX_FLAGS, {"ONEDNN_MAX_CPU_ISA": "AVX2"}, "x86_64", 0, "set to AVX2"),
    (AMX_FLAGS, {}, "x86_64", 1, "refused"),
])
def test_amx_stays_off(amx_state, flags, env, machine, result, why):
    """Without AMX, when told not to, with another ISA asked for, or when Linux refuses
    the tile registers: the environment is left as it was."""
    before = dict(env)
    request, calls = asked(result)
    got = amx_state.enable_amx(flags=flags, environ=env, request=request, machine=machine)
    assert not got["on"] and not got["set"] and why in got["why"]
    assert env == before
    assert calls == ([1] if result else [])  # asked only where it could be used


def test_an_isa_the_user_set_to_amx_is_kept_and_gets_its_permission(amx_state):
    env = {"DNNL_MAX_CPU_ISA": "avx512_core_amx"}
    request, calls = asked(0)
    got = amx_state.enable_amx(flags=AMX_FLAGS, environ=env, request=request,
                               machine="x86_64")
    assert calls == [1] and got["on"] and not got["set"]
    amx_state.settle_cpu_isa(env)
    assert env == {"DNNL_MAX_CPU_ISA": "avx512_core_amx"}  # the user's, not taken back


def test_programs_started_after_the_package_ran_do_not_inherit_amx_without_permission():
    """In a fresh process: after the package's first MXNet work the ISA setting is out of
    the environment, bfloat16 convolutions run, and a child that imports MXNet alone and
    runs one (with no AMX permission of its own) does not die of SIGILL."""
    conv = ("import mxnet as mx\n"
            "from mxnet.contrib.amp.amp import bfloat16\n"
            "x = mx.nd.amp_cast(mx.nd.ones((1, 16, 8, 8)), dtype=bfloat16)\n"
            "w = mx.nd.amp_cast(mx.nd.ones((16, 16, 3, 3)), dtype=bfloat16)\n"
            "y = mx.nd.Convolution(x, w, kernel=(3, 3), num_filter=16, no_bias=True)\n"
            "print(float(mx.nd.amp_cast(y, dtype='float32').sum().asscalar()))\n")
    code = ("import os, subprocess, sys\n"
            "import gluon_style\n"
            "from gluon_style import runtime\n"
            "runtime.default_ctx()\n"
            "print(os.environ.get('DNNL_MAX_CPU_ISA'))\n"
            + conv +
            "r = subprocess.run([sys.executable, '-c', %r], capture_output=True, text=True)\n"
            "print(r.returncode, r.stdout.strip())\n" % conv)
    env = {k: v for k, v in os.environ.items() if k not in runtime.ISA_VARS}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    isa, parent, child = out.stdout.split("\n")[:3]
    total = str(16 * 16 * 9 * 6 * 6.0)
    assert isa == "None" and parent == total and child == "0 " + total


def test_amx_asked_for_after_mxnet_was_imported_is_marked_late(amx_state, monkeypatch,
                                                              tmp_path):
    """oneDNN may have read its ISA before: the probe's cache must not mix such a process
    with one where AMX surely took effect."""
    import gluon_style.precision as precision
    request, _ = asked(0)
    got = amx_state.enable_amx(flags=AMX_FLAGS, environ={}, request=request, machine="x86_64")
    assert got["on"] and got["late"]  # mxnet is imported in the test process
    seen = []
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    monkeypatch.setattr(precision, "has_bf16", lambda flags=None: True)
    precision.bf16_speedup(measure=lambda: seen.append(1) or 1.5)
    with open(precision._probe_file()) as f:
        import json
        assert any(k.endswith("| amx, late") for k in json.load(f))


class _Libc:
    """A C library stub: glibc's names, and mallopt answering `answer`."""

    def __init__(self, answer=1, glibc=True):
        self.calls, self.answer = [], answer
        if glibc:
            self.gnu_get_libc_version = lambda: b"2.36"

    def mallopt(self, param, value):
        self.calls.append((param, value))
        return self.answer


def test_freed_memory_is_kept_by_asking_glibc_for_no_mmap_no_trim_and_one_arena():
    libc, env = _Libc(), {}
    got = runtime.keep_freed_memory(environ=env, libc=libc)
    # M_MMAP_MAX, M_TRIM_THRESHOLD, M_ARENA_MAX
    assert got["kept"] and libc.calls == [(-4, 0), (-1, 2 ** 31 - 1), (-8, 1)]
    # and one CPU temporary space for MXNet, unless the user chose
    assert env == {"MXNET_CPU_TEMP_COPY": str(runtime.CPU_TEMP_COPIES)} == {
        "MXNET_CPU_TEMP_COPY": got["temp_copies"]}
    env = {"MXNET_CPU_TEMP_COPY": "4"}
    assert runtime.keep_freed_memory(environ=env, libc=_Libc())["temp_copies"] == "4"
    assert env == {"MXNET_CPU_TEMP_COPY": "4"}


@pytest.mark.parametrize("env, libc, why", [
    ({runtime.KEEP_MEMORY_SWITCH: "0"}, _Libc(), "GLUON_STYLE_KEEP_MEMORY=0"),
    ({}, _Libc(glibc=False), "not glibc"),
    ({}, _Libc(answer=0), "mallopt refused"),
])
def test_freed_memory_is_left_to_the_allocator(env, libc, why):
    switched_off = dict(env)
    got = runtime.keep_freed_memory(environ=env, libc=libc)
    assert not got["kept"] and got["why"] == why
    assert libc.calls == ([] if libc.answer else [(-4, 0)])
    if runtime.KEEP_MEMORY_SWITCH in switched_off:  # the switch leaves MXNet's spaces too
        assert env == switched_off and got["temp_copies"] is None


_REUSE = ("import ctypes, resource, sys, threading\n"
          "from gluon_style import runtime\n"
          "if sys.argv[1] != 'no':\n"
          "    if sys.argv[1] == 'own arenas':\n"
          "        runtime.KEEP_MEMORY_OPTIONS = runtime.KEEP_MEMORY_OPTIONS[:2]\n"
          "    assert runtime.keep_freed_memory(environ={})['kept']\n"
          "libc = ctypes.CDLL(None)\n"
          "libc.malloc.restype = ctypes.c_void_p\n"
          "libc.free.argtypes = [ctypes.c_void_p]\n"
          "n, faults = int(sys.argv[2]) << 20, []\n"
          "def rounds():\n"
          "    for _ in range(3):\n"
          "        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
          "        blocks = [libc.malloc(n) for _ in range(int(sys.argv[3]))]\n"
          "        for p in blocks:\n"
          "            ctypes.memset(p, 1, n)\n"
          "        for p in blocks:\n"
          "            libc.free(p)\n"
          "        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)\n"
          "thread = threading.Thread(target=rounds) if sys.argv[4] == 'thread' else None\n"
          "rounds() if thread is None else (thread.start(), thread.join())\n"
          "print(*faults)\n")


def _faults_of_three_rounds(keep, mb, blocks, where):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLIBC_TUNABLES")}
    out = subprocess.run([sys.executable, "-c", _REUSE, keep, str(mb), str(blocks), where],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    first, *later = map(int, out.stdout.split())
    assert first > 0
    return first, later


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc: Linux")
@pytest.mark.parametrize("keep", [True, False])
def test_a_block_freed_and_allocated_again_reuses_the_same_pages_when_kept(keep):
    """In a fresh process, with real glibc: 64 MB malloc'd, touched, freed, three times;
    the later rounds fault no new pages when memory is kept, as many as the first (every
    page: 16K of 4 KB) when not."""
    first, later = _faults_of_three_rounds("yes" if keep else "no", 64, 1, "main")
    if keep:
        assert max(later) <= first // 100, (first, later)
    else:
        assert min(later) >= first // 2, (first, later)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc: Linux")
@pytest.mark.parametrize("arenas", ["one arena", "own arenas"])
def test_blocks_freed_by_another_thread_are_kept_in_one_arena(arenas):
    """Three 40 MB blocks at a time in a thread of their own (MXNet's engine and OpenMP
    threads allocate too): a thread's arena grows in 64 MB heaps, and glibc unmaps a
    heap that becomes free whatever the trim threshold, so without one arena each later
    round faults the blocks that did not fit the arena's first heap again (10K pages
    here); with it (what keep_freed_memory asks), nothing."""
    first, later = _faults_of_three_rounds(arenas, 40, 3, "thread")
    if arenas == "one arena":
        assert max(later) <= first // 100, (first, later)
    else:
        assert min(later) >= first // 4, (first, later)


def test_the_command_line_keeps_freed_memory_and_a_library_call_does_not(monkeypatch, capsys):
    import gluon_style.cli as cli
    seen = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: seen.append("kept"))
    monkeypatch.setattr(cli, "stop_on_sigterm", lambda: None)
    assert cli.main(["--help"]) == 0 and seen == []
    monkeypatch.setattr(sys, "argv", ["gluon-style", "--help"])
    assert cli.main() == 0 and seen == ["kept"]


_TEMP_SPACE_CODE = """
import ctypes
from gluon_style import runtime
runtime.keep_freed_memory()
from gluon_style import fast
from PIL import Image
import numpy as np
class MI2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena ordblks smblks hblks hblkhd usmblks "
                                               "fsmblks uordblks fordblks keepcost").split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MI2
def used():
    m = libc.mallinfo2()
    return m.uordblks + m.hblkhd
style = fast.load_style("starry_night")
before = used()
for w, h in [(384, 288), (288, 384), (320, 320)]:
    style(Image.fromarray(np.zeros((h, w, 3), np.uint8)))
print(used() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallinfo2")
def test_the_programs_one_cpu_temp_space_holds_less_memory_than_mxnets_four():
    """The memory a program's process holds after three sizes through the multi-style
    network: with the one temporary space keep_freed_memory asks for, less than with
    four (a user's MXNET_CPU_TEMP_COPY, which it keeps)."""
    from gluon_style import fast
    try:
        fast.load_style("starry_night")
    except Error as e:
        pytest.skip("the shipped multi-style network cannot load here: %s" % e)
    held = {}
    for copies in (None, "4"):
        env = {k: v for k, v in os.environ.items()
               if k not in ("MXNET_CPU_TEMP_COPY", runtime.KEEP_MEMORY_SWITCH)}
        if copies:
            env["MXNET_CPU_TEMP_COPY"] = copies
        out = subprocess.run([sys.executable, "-c", _TEMP_SPACE_CODE], env=env,
                             capture_output=True, text=True, check=True, timeout=300)
        held[copies] = int(out.stdout.split()[-1])
    assert held[None] < 0.85 * held["4"], held


def test_prime_pushes_one_matrix_product_after_settling_the_isa(monkeypatch):
    """runtime.prime: oneDNN's instruction set settled first, then one 1x1 conv pushed to
    the engine (its output, zeros); nothing on another device."""
    import mxnet as mx
    order = []
    monkeypatch.setattr(runtime, "settle_cpu_isa", lambda *a: order.append("isa"))
    real = mx.nd.Convolution

    def conv(*a, **kw):
        order.append(("conv", kw["kernel"], kw["num_filter"]))
        return real(*a, **kw)
    monkeypatch.setattr(mx.nd, "Convolution", conv)
    out = runtime.prime(mx.cpu())
    assert order == ["isa", ("conv", (1, 1), 3)]
    assert out.shape == (1, 3, 8, 8) and not out.asnumpy().any()
    assert runtime.prime(mx.gpu(0)) is None and order[-1] == "isa"  # no operator pushed


def test_fast_and_video_prime_the_engine_before_the_checks_and_the_load(params_dir, tmp_path,
                                                                       monkeypatch, capsys):
    """The command line primes the engine first (the inputs' check and the style's load
    then run beside the set-up); a bad --ctx is still named by the style's load, in one
    line."""
    from gluon_style import fast, transfer
    from gluon_style.cli import fast as cli

    from .conftest import make_photo
    events = []
    real_prime, real_check, real_load = runtime.prime, fast.check_contents, cli.load_style_source
    monkeypatch.setattr(runtime, "prime", lambda ctx=None: events.append("prime")
                        or real_prime(ctx))
    monkeypatch.setattr(fast, "check_contents", lambda *a, **kw: events.append("check")
                        or real_check(*a, **kw))
    monkeypatch.setattr(cli, "load_style_source", lambda args: events.append("load")
                        or real_load(args))
    src = make_photo(tmp_path / "a.png", 40, 30)
    assert transfer.main(["fast", "--model", "dots", "--content", src, "--output",
                          str(tmp_path / "o.png"), "--quiet"]) == 0
    assert events == ["prime", "check", "load"]
    events.clear()
    transfer.main(["video", "--model", "dots", "--input", str(tmp_path / "missing.mp4"),
                   "--output", str(tmp_path / "o.mp4"), "--quiet"])
    assert events[:2] == ["prime", "load"]
    events.clear()
    capsys.readouterr()
    code = transfer.main(["fast", "--model", "dots", "--content", src, "--output",
                          str(tmp_path / "p.png"), "--ctx", "gpu7", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "gpu7" in err and events == ["check", "load"]
