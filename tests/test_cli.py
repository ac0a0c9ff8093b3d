"""The command line, end to end on tiny images, and every bad input."""
import functools
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from PIL import Image

from gluon_style import transfer

FAST = ["--size", "24", "--iterations", "2", "--network", "vgg16-random",
        "--style-layers", "conv1_1", "conv2_1", "--content-layers", "conv2_2", "--quiet"]


def fast_argv(photo, painting, out, iterations=None):
    """The FAST command line for photo -> out, optionally with another iteration count."""
    argv = ["--content", photo, "--style", painting, "--output", str(out)] + FAST
    if iterations is not None:
        argv[argv.index("--iterations") + 1] = str(iterations)
    return argv


def run(argv, capsys):
    try:
        code = transfer.main(argv)
    except SystemExit as e:  # argparse's own errors end the process the same way
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_end_to_end_writes_the_image_and_reports_timing(photo, painting, tmp_path, capsys):
    out = tmp_path / "result.jpg"
    code, stdout, _ = run(["--content", photo, "--style", painting, "--output", str(out)] + FAST,
                          capsys)
    assert code == 0
    img = Image.open(out)
    assert img.size == (24, 20) and img.mode == "RGB"  # the photo is 48x40
    assert str(out) in stdout and "s/iteration" in stdout
    assert sorted(os.listdir(tmp_path)) == ["painting.png", "photo.png", "result.jpg"]


def test_plot_and_save_every(photo, painting, tmp_path, capsys):
    out = tmp_path / "r.png"
    argv = ["--content", photo, "--style", painting, "--output", str(out), "--plot",
            "--save-every", "1"] + FAST
    assert run(argv, capsys)[0] == 0
    names = set(os.listdir(tmp_path))
    assert {"r.png", "r_plot.png", "r_00001.png"} <= names
    assert "r_00002.png" not in names  # the last iteration is the output itself
    plot = Image.open(tmp_path / "r_plot.png")
    assert plot.size[0] >= 800 and np.asarray(plot.convert("L")).std() > 10  # not blank


def test_defaults_come_from_the_library():
    from gluon_style.optimization import gatys
    args = transfer.optimize_parser().parse_args(
        ["--content", "a", "--style", "b", "--output", "c"])
    options = transfer.optimize_options(args)
    for name in ("size", "iterations", "method", "tv_weight", "style_weight", "content_weight",
                 "network", "init", "scales", "pooling", "preserve_colors", "style_scale"):
        assert options[name] == transfer.default(gatys.stylize_steps, name), name
    # explicit scale sizes set the size
    args = transfer.optimize_parser().parse_args(
        ["--content", "a", "--style", "b", "--output", "c",
         "--scales", "64", "128", "--iterations", "9", "3"])
    options = transfer.optimize_options(args)
    assert (options["size"], options["scales"], options["iterations"]) == (128, [64, 128], [9, 3])


def test_interrupt_saves_the_current_image(photo, painting, tmp_path, capsys, monkeypatch):
    from gluon_style.optimization import gatys
    real = gatys.stylize_steps

    @functools.wraps(real)
    def interrupted(*a, **kw):
        run = real(*a, **kw)

        def steps():
            for step in run:
                yield step
                if step.step == 2:
                    raise KeyboardInterrupt

        return gatys.Run(steps(), run.total, run._finish)

    monkeypatch.setattr(gatys, "stylize_steps", interrupted)
    out = tmp_path / "o.png"
    argv = fast_argv(photo, painting, out, 50)
    code, _, err = run(argv, capsys)
    assert code == 130 and out.exists()
    assert "interrupted after 2 iterations" in err and "--init" in err


def _nan_at(monkeypatch, call, value=float("nan")):
    """The loss is `value` at the `call`-th evaluation."""
    from gluon_style.optimization import optimizer
    real, calls = optimizer._evaluate, []

    def sometimes_nan(loss_fn, x):
        calls.append(1)
        losses = real(loss_fn, x)
        if len(calls) == call:
            losses["total"] = value
        return losses

    monkeypatch.setattr(optimizer, "_evaluate", sometimes_nan)


def test_inf_at_the_first_iteration_writes_nothing_and_says_so(photo, painting, tmp_path,
                                                               capsys, monkeypatch):
    _nan_at(monkeypatch, 1, float("inf"))
    out = tmp_path / "o.png"
    code, _, err = run(fast_argv(photo, painting, out, 5), capsys)
    assert code == 2 and err.count("\n") == 1 and not out.exists(), err
    assert "loss became inf at iteration 1" in err and "nothing written" in err, err
    assert "kept" not in err


def test_nan_at_the_start_of_a_scale_keeps_the_last_scales_image(photo, painting, tmp_path,
                                                                  capsys, monkeypatch):
    _nan_at(monkeypatch, 3)  # gd evaluates once per iteration: the second scale's first
    out = tmp_path / "o.png"
    argv = fast_argv(photo, painting, out, 2) + ["--optimizer", "gd", "--scales", "16", "24"]
    code, _, err = run(argv, capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert "loss became nan at iteration 3; wrote %s (the image of iteration 2)" % out in err, err
    assert Image.open(out).size == (24, 20)


def test_nan_loss_keeps_last_good_image(photo, painting, tmp_path, capsys, monkeypatch):
    from gluon_style.optimization import optimizer
    real = optimizer._evaluate
    calls = []

    def sometimes_nan(loss_fn, x):
        calls.append(1)
        losses = real(loss_fn, x)
        if len(calls) == 3:
            losses["total"] = float("nan")
        return losses

    monkeypatch.setattr(optimizer, "_evaluate", sometimes_nan)
    out = tmp_path / "o.png"
    argv = fast_argv(photo, painting, out, 5) + ["--optimizer", "gd"]  # L-BFGS backtracks
    code, _, err = run(argv, capsys)
    assert code == 2 and out.exists()
    assert err.count("\n") == 1 and "loss became nan at iteration 3" in err


def _bad(kind, tmp_path, photo):
    """(argv changes, text the one-line error must hold) for each bad input."""
    p = tmp_path
    if kind == "missing":
        return {"--content": str(p / "nope.jpg")}, "nope.jpg"
    if kind == "directory":
        return {"--content": str(p)}, "directory"
    if kind == "empty":
        (p / "empty.jpg").write_bytes(b"")
        return {"--content": str(p / "empty.jpg")}, "empty"
    if kind == "text":
        (p / "notes.jpg").write_text("hello, not a picture\n")
        return {"--style": str(p / "notes.jpg")}, "notes.jpg"
    if kind == "truncated":
        pixels = np.random.RandomState(0).randint(0, 255, (64, 64, 3), np.uint8)
        Image.fromarray(pixels).save(p / "t.jpg")
        data = (p / "t.jpg").read_bytes()
        (p / "t.jpg").write_bytes(data[: len(data) // 2])
        return {"--content": str(p / "t.jpg")}, "t.jpg"
    if kind == "tiny":
        Image.new("RGB", (1, 1)).save(p / "dot.png")
        return {"--content": str(p / "dot.png")}, "dot.png"
    if kind == "output_is_input":
        return {"--output": photo}, "photo.png"
    if kind == "output_dir_missing":
        return {"--output": str(p / "no" / "where.png")}, "where.png"
    if kind == "output_bad_ext":
        return {"--output": str(p / "r.xyz")}, ".xyz"
    if kind == "layer":
        return {"--style-layers": "conv9_9"}, "unknown layer 'conv9_9'"
    if kind == "size":
        return {"--size": "0"}, "--size"
    if kind == "iterations":
        return {"--iterations": "-3"}, "--iterations"
    if kind == "params":
        mx.nd.save(str(p / "w.params"), {"features.0.weight": mx.nd.ones((64, 3, 3, 3))})
        return {"--network": str(p / "w.params")}, "w.params"
    raise AssertionError(kind)


BAD = ["missing", "directory", "empty", "text", "truncated", "tiny", "output_is_input",
       "output_dir_missing", "output_bad_ext", "layer", "size", "iterations", "params"]


@pytest.mark.parametrize("kind", BAD)
def test_bad_input_is_one_line_exit_2_and_no_output(kind, photo, painting, tmp_path, capsys):
    out = tmp_path / "out" / "result.png"
    out.parent.mkdir()
    changes, expect = _bad(kind, tmp_path, photo)
    opts = {"--content": photo, "--style": painting, "--output": str(out)}
    opts.update({k: v for k, v in changes.items() if k in opts})
    argv = [x for kv in opts.items() for x in kv] + FAST
    for k, v in changes.items():
        if k not in opts:
            argv[argv.index(k) + 1] = v
    before = {f: os.path.getmtime(os.path.join(tmp_path, f)) for f in os.listdir(tmp_path)
              if os.path.isfile(os.path.join(tmp_path, f))}
    code, stdout, err = run(argv, capsys)
    assert code == 2
    assert err.count("\n") == 1 and expect in err, err
    assert os.listdir(out.parent) == []  # nothing written, not even a temp file
    after = {f: os.path.getmtime(os.path.join(tmp_path, f)) for f in before}
    assert after == before  # inputs untouched


def test_decompression_bomb_is_refused(photo, painting, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)  # the 48x40 photo is a 'bomb' now
    out = tmp_path / "r.png"
    code, _, err = run(["--content", photo, "--style", painting, "--output", str(out)] + FAST,
                       capsys)
    assert code == 2 and "photo.png" in err and err.count("\n") == 1 and not out.exists()


def test_no_traceback_from_a_real_process(tmp_path):
    (tmp_path / "bad.jpg").write_text("text")
    proc = subprocess.run([sys.executable, "-m", "gluon_style.transfer", "--content",
                           str(tmp_path / "bad.jpg"), "--style", str(tmp_path / "bad.jpg"),
                           "--output", str(tmp_path / "o.png")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "bad.jpg" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_gif_of_the_progress(photo, painting, tmp_path, capsys):
    out = tmp_path / "r.png"
    argv = ["--content", photo, "--style", painting, "--output", str(out), "--gif"] + FAST
    argv[argv.index("--iterations") + 1] = "6"
    assert run(argv, capsys)[0] == 0
    gif = Image.open(tmp_path / "r_progress.gif")
    assert gif.n_frames >= 4  # iteration 1, then one per iteration here, and the result
    first = np.asarray(gif.convert("RGB"), float)
    gif.seek(gif.n_frames - 1)
    last = np.asarray(gif.convert("RGB"), float)
    assert first.shape == (20, 24, 3) and np.abs(first - last).mean() > 0.5
    bad = run(["--content", photo, "--style", painting, "--output", str(out), "--gif",
               str(tmp_path / "x.png")] + FAST, capsys)
    assert bad[0] == 2 and ".gif" in bad[2]


def test_sigterm_saves_like_ctrl_c(photo, painting, tmp_path):
    import signal
    import time
    out = tmp_path / "o.png"
    argv = [sys.executable, "-m", "gluon_style.transfer", "--content", photo, "--style", painting,
            "--output", str(out), "--save-every", "1"] + FAST
    argv[argv.index("--iterations") + 1] = "100000"
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 90
    while not list(tmp_path.glob("o_*.png")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)  # until iterations are running
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert out.exists() and "interrupted after" in err


def test_train_output_mapping_defaults_to_the_library_and_a_bad_one_is_one_line(
        photo, painting, tmp_path, capsys):
    from gluon_style.fast.train import StyleTrainer
    args = transfer.train_parser().parse_args(["--style", "s", "--dataset", "d", "--name", "n"])
    assert args.output == transfer.default(StyleTrainer.__init__, "output") == "linear"
    code, out, err = run(["train", "--style", painting, "--dataset", str(tmp_path), "--name", "n",
                          "--output", "tanh", "--params-dir", str(tmp_path / "p"),
                          "--checkpoint-dir", str(tmp_path / "ck")], capsys)
    assert code == 2
    assert err.strip().splitlines() == [
        "error: unknown output mapping 'tanh' (valid: linear, sigmoid)"]
    assert not (tmp_path / "ck").exists()
def _noise(path, w, h):
    Image.fromarray(np.random.RandomState(0).randint(0, 255, (h, w, 3), np.uint8)).save(path)
    return str(path)


def test_an_image_too_narrow_for_the_pooling_names_the_size_it_needs(photo, painting, tmp_path,
                                                                     capsys):
    import re

    from gluon_style.optimization import gatys
    narrow = _noise(tmp_path / "narrow.jpg", 640, 128)
    out = tmp_path / "o.png"
    base = ["--output", str(out), "--iterations", "1", "--network", "vgg16-random", "--quiet"]

    def needed(argv):
        code, _, err = run(argv + base, capsys)
        assert code == 2 and err.count("\n") == 1 and not out.exists(), err
        return err, int(re.search(r"a size of at least (\d+)", err).group(1))

    err, size = needed(["--content", narrow, "--style", painting, "--size", "64", "--scales", "1"])
    assert "content image '%s' (640x128) is 64x13 at size 64" % narrow in err, err
    assert "at least 16 px (up to relu5_1)" in err, err
    assert needed(["--content", narrow, "--style", painting, "--size", str(size - 1),
                   "--scales", "1"])[1] == size
    assert run(["--content", narrow, "--style", painting, "--size", str(size),
                "--scales", "1"] + base, capsys)[0] == 0  # the size it names is enough
    assert Image.open(out).size == (78, 16)
    out.unlink()
    err, total = needed(["--content", narrow, "--style", painting, "--size", "256",
                         "--scales", "3"])  # 64x13 at the first scale
    assert "64x13 at size 64" in err and "with 3 scales" in err, err
    assert gatys.scale_sizes(total - 1, 3)[0] < size <= gatys.scale_sizes(total, 3)[0]
    err, _ = needed(["--content", photo, "--style", _noise(tmp_path / "thin.jpg", 3000, 90),
                     "--size", "64", "--scales", "1"])
    assert "style image '%s' (3000x90) is 64x2 at size 64" % (tmp_path / "thin.jpg") in err, err


def test_sigterm_before_the_first_iteration_is_a_clean_stop(photo, painting, tmp_path, capsys,
                                                            monkeypatch):
    import signal

    from gluon_style.optimization import gatys
    real = gatys.stylize_steps

    @functools.wraps(real)
    def stopped(*a, **kw):
        run = real(*a, **kw)

        def steps():  # SIGTERM while the first iteration runs
            signal.raise_signal(signal.SIGTERM)
            yield from run
        return gatys.Run(steps(), run.total, run._finish)

    monkeypatch.setattr(gatys, "stylize_steps", stopped)
    out = tmp_path / "o.png"
    monkeypatch.setattr(sys, "argv", ["gluon_style.transfer"] + fast_argv(photo, painting, out))
    handler = signal.getsignal(signal.SIGTERM)
    try:
        code = transfer.main()  # the real command line: SIGTERM is handled like Ctrl-C
    finally:
        signal.signal(signal.SIGTERM, handler)
    err = capsys.readouterr().err
    assert code == 130 and err.count("\n") == 1 and "interrupted" in err, err
    assert "nothing written" in err and not out.exists()


@pytest.mark.parametrize("option, value", [("--lr", "nan"), ("--lr", "-1"), ("--lr-decay", "2"),
                                           ("--style-scale", "inf"), ("--seed", "-1")])
def test_numeric_options_are_refused_by_the_parser(photo, painting, tmp_path, capsys, option,
                                                   value):
    out = tmp_path / "o.png"
    code, _, err = run(fast_argv(photo, painting, out) + [option, value], capsys)
    assert code == 2 and err.count("\n") == 1 and option in err and value in err, err
    assert not out.exists()


def test_top_level_help_lists_the_subcommands_and_unknown_ones_get_a_suggestion(capsys):
    assert transfer.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(c in out for c in ("optimize", "train", "multistyle", "fast", "video", "styles",
                                  "export")), out
    assert transfer.main(["trian", "--style", "s"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown command 'trian'" in err
    assert "did you mean 'train'?" in err, err
