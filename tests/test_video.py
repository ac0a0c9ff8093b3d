"""Video stylization: frames, size, fps and audio kept, stabilization, bad input.

Every clip is made here with the ffmpeg binary of imageio-ffmpeg: a drawn,
moving pattern (optionally with per-frame noise and a sine tone), tiny and short.
"""
import os
import signal
import subprocess
import sys
import time

import mxnet as mx
import numpy as np
import pytest

from gluon_style import fast, transfer
from gluon_style.fast import video
from gluon_style.errors import Error

from .conftest import make_style

FFMPEG = video.ffmpeg_exe()


def make_clip(path, w=64, h=48, rate="12", frames=18, audio=False, noise=0.0, seed=0, cut=None):
    """A moving pattern (blobs and a bar drifting 1.5 px/frame) piped to ffmpeg as H.264;
    from frame `cut` on, another scene (a checkerboard of other colours)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    args = [FFMPEG, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
            "%dx%d" % (w, h), "-framerate", rate, "-i", "-"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050", "-c:a", "aac",
                 "-shortest"]
    pix = "yuv420p" if w % 2 == 0 and h % 2 == 0 else "yuv444p"
    args += ["-c:v", "libx264", "-crf", "8", "-pix_fmt", pix, str(path)]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE)
    for t in range(frames):
        x = xx - 1.5 * t
        r = 128 + 90 * np.sin(x / 5.0) * np.cos(yy / 7.0)
        g = 128 + 90 * np.cos((x + yy) / 9.0)
        b = np.where((x % 24) < 8, 220.0, 40.0)
        img = np.stack([r, g, b], -1)
        if cut is not None and t >= cut:
            img = np.where(((xx // 8 + yy // 8) % 2 == 0)[..., None], [250, 30, 90], [20, 90, 30])
        img = img + rng.normal(0, noise, (h, w, 3))
        proc.stdin.write(np.clip(img, 0, 255).astype(np.uint8).tobytes())
    proc.stdin.close()
    assert proc.wait() == 0
    return str(path)


def count_frames(path):
    info = video.probe(path)
    return sum(1 for _ in video.read_frames(info, (info.width, info.height)))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_style(tmp_path_factory.mktemp("params"), "dots")


@pytest.fixture(scope="module")
def style(model):
    return fast.load_style(model, ctx=mx.cpu())


def run(argv, capsys):
    try:
        code = transfer.main(["video"] + argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_keeps_frames_size_fps_and_audio(model, tmp_path, capsys):
    src = make_clip(tmp_path / "in.mp4", audio=True)
    out = tmp_path / "out.mp4"
    code, stdout, _ = run(["--model", model, "--input", src, "--output", str(out), "--quiet"],
                          capsys)
    assert code == 0
    assert stdout.startswith("wrote %s (18 frames, 64x48, 12 fps)" % out)
    info = video.probe(str(out))
    assert (info.width, info.height, info.rate, info.codec) == (64, 48, "12/1", "h264")
    assert info.audio == "aac"
    assert count_frames(str(out)) == 18
    assert sorted(os.listdir(tmp_path)) == ["in.mp4", "out.mp4"]  # no temp file left


def test_no_audio_ntsc_rate_odd_size_and_max_size(style, tmp_path, monkeypatch):
    make_clip(tmp_path / "-odd: clip.mp4", w=65, h=49, rate="30000/1001", frames=7)
    monkeypatch.chdir(tmp_path)
    src = "-odd: clip.mp4"  # relative: must reach ffmpeg as a file, not an option or protocol
    job = video.stylize_video(style, src, str(tmp_path / "out.mkv"), batch_size=3)
    assert list(job) == list(range(1, 8))
    info = video.probe(str(tmp_path / "out.mkv"))
    assert (info.width, info.height, info.rate, info.audio) == (64, 48, "30000/1001", None)
    assert count_frames(str(tmp_path / "out.mkv")) == 7
    list(video.stylize_video(style, src, str(tmp_path / "small.mp4"), max_size=32))
    small = video.probe(str(tmp_path / "small.mp4"))
    assert (small.width, small.height) == (32, 24)


def test_batch_size_does_not_change_the_frames(style, tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=5)
    outs = []
    for bs in (1, 4):
        dst = str(tmp_path / ("b%d.mkv" % bs))
        list(video.stylize_video(style, src, dst, batch_size=bs, temporal_weight=0, crf=0))
        info = video.probe(dst)
        outs.append(np.stack(list(video.read_frames(info, (64, 48)))).astype(int))
    assert outs[0].shape == (5, 48, 64, 3)
    assert np.abs(outs[0] - outs[1]).max() <= 2  # float rounding of a batched forward pass


def test_flicker_definition():
    rng = np.random.default_rng(0)
    ins = [rng.integers(0, 256, (8, 8, 3)) for _ in range(4)]
    for outs, expected in [(ins, 1.0), ([np.full((8, 8, 3), 7)] * 4, 0.0),
                           ([i * 0.5 for i in ins], 0.5)]:
        meter = video.Flicker()
        for o, i in zip(outs, ins):
            meter.add(o, i)
        assert meter.pairs == 3 and meter.ratio == pytest.approx(expected, abs=1e-6)
    diffs = [np.abs(ins[k + 1].astype(float) - ins[k]).mean() for k in range(3)]
    assert meter.input_change == pytest.approx(np.mean(diffs))


def test_stabilized_mode_flickers_measurably_less(style, tmp_path):
    src = make_clip(tmp_path / "noisy.mp4", frames=16, noise=12.0, seed=3)
    jobs = {}
    for name, weight in [("plain", 0.0), ("stable", 0.7)]:
        jobs[name] = video.stylize_video(style, src, str(tmp_path / (name + ".mp4")),
                                         temporal_weight=weight, crf=10)
        assert len(list(jobs[name])) == 16
    plain, stable = jobs["plain"].flicker.ratio, jobs["stable"].flicker.ratio
    assert stable < 0.7 * plain, (plain, stable)
    # the same holds on the encoded files, as the benchmark measures them
    on_files = [video.flicker(str(tmp_path / (n + ".mp4")), src).ratio for n in jobs]
    assert on_files[1] < 0.75 * on_files[0], on_files
    # and the stabilized video still moves with the input: its last frame is
    # much closer to the per-frame last frame than to the first one
    frames = {n: np.stack(list(video.read_frames(video.probe(str(tmp_path / (n + ".mp4"))),
                                                 (64, 48)))).astype(float) for n in jobs}
    to_last = np.abs(frames["stable"][-1] - frames["plain"][-1]).mean()
    to_first = np.abs(frames["stable"][-1] - frames["plain"][0]).mean()
    assert to_last < 0.6 * to_first, (to_last, to_first)


def test_stabilization_lets_go_at_a_scene_cut(style, tmp_path):
    src = make_clip(tmp_path / "cut.mp4", frames=8, cut=5)
    out = {}
    for weight in (0.0, 0.7):
        dst = str(tmp_path / ("w%s.mkv" % weight))
        list(video.stylize_video(style, src, dst, temporal_weight=weight, crf=0))
        out[weight] = np.stack(list(video.read_frames(video.probe(dst), (64, 48)))).astype(float)
    same = np.abs(out[0.7] - out[0.0]).mean(axis=(1, 2, 3))
    change = np.abs(out[0.0][5] - out[0.0][4]).mean()
    assert same[0] < 1 and same[4] > 0.5  # blended before the cut ...
    assert same[5] < 0.1 * change, (same, change)  # ... and not across it


def test_interrupted_run_leaves_no_output(model, tmp_path, capsys, monkeypatch):
    src = make_clip(tmp_path / "in.mp4", frames=12)
    real, calls, children = video.VideoJob._stylize, [], []
    real_ffmpeg = video._Ffmpeg.__init__

    def stylize(self, batch, stab):
        calls.append(len(batch))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, batch, stab)

    def ffmpeg(self, *a, **kw):
        real_ffmpeg(self, *a, **kw)
        children.append(self.proc)

    monkeypatch.setattr(video.VideoJob, "_stylize", stylize)
    monkeypatch.setattr(video._Ffmpeg, "__init__", ffmpeg)
    code, stdout, err = run(["--model", model, "--input", src, "--output",
                             str(tmp_path / "out.mp4"), "--batch-size", "2", "--quiet"], capsys)
    assert code == 130 and stdout == ""
    assert err.strip() == "interrupted after 4 frames; nothing written"
    assert os.listdir(tmp_path) == ["in.mp4"]
    assert len(children) == 2 and all(p.poll() is not None for p in children)


def test_sigterm_stops_a_real_run_and_leaves_nothing(model, tmp_path):
    src = make_clip(tmp_path / "long.mp4", w=96, h=64, frames=400)
    out = tmp_path / "out.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "gluon_style.transfer", "video", "--model",
                             model, "--input", src, "--output", str(out), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not any(n.startswith(".out.tmp-") for n in os.listdir(tmp_path)):
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.5)  # let it write some frames
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.decode().strip().startswith("interrupted after ")
    assert os.listdir(tmp_path) == ["long.mp4"]


def _text(path):
    path.write_text("not a video\n")


def _truncated(path):  # a header with a video stream, and no frame data
    make_clip(path.with_name("whole.mp4"), frames=6)
    subprocess.run([FFMPEG, "-v", "error", "-i", str(path.with_name("whole.mp4")), "-c", "copy",
                    "-movflags", "+faststart", str(path)], check=True)
    data = path.read_bytes()
    path.write_bytes(data[:data.index(b"mdat") + 4])
    os.remove(path.with_name("whole.mp4"))


def _unknown_codec(path):
    make_clip(path, frames=4)
    path.write_bytes(path.read_bytes().replace(b"avc1", b"zzzz"))


def _audio_only(path):
    subprocess.run([FFMPEG, "-v", "error", "-f", "lavfi", "-i", "sine=duration=0.5", "-c:a",
                    "aac", str(path)], check=True)


@pytest.mark.parametrize("make, output, message", [
    (_text, "out.mp4", "not a video ffmpeg can read"),
    (_truncated, "out.mp4", "no frames could be decoded"),
    (_unknown_codec, "out.mp4", "unknown video codec 'zzzz'"),
    (_audio_only, "out.mp4", "has no video stream"),
    (make_clip, "in.mp4", "is the same file as input"),
    (make_clip, "out.avi", "unsupported extension '.avi'"),
    (None, "out.mp4", "no such file"),
])
def test_bad_input_one_line_exit_2_nothing_written(model, tmp_path, capsys, make, output, message):
    src = tmp_path / "in.mp4"
    if make:
        make(src)
    before = sorted(os.listdir(tmp_path))
    code, stdout, err = run(["--model", model, "--input", str(src), "--output",
                             str(tmp_path / output), "--quiet"], capsys)
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err
    named = "in.mp4" if output in ("out.mp4", "in.mp4") else output
    assert named in err
    assert sorted(os.listdir(tmp_path)) == before


def test_library_errors_and_cli_defaults(style, tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=2)
    with pytest.raises(Error, match="temporal weight"):
        video.stylize_video(style, src, str(tmp_path / "o.mp4"), temporal_weight=1.0)
    with pytest.raises(Error, match="too small"):
        video.stylize_video(style, src, str(tmp_path / "o.mp4"), max_size=8)
    args = transfer.video_parser().parse_args(["--model", "m", "--input", "i", "--output", "o"])
    for opt in ("temporal_weight", "batch_size", "max_size", "crf", "preset"):
        assert getattr(args, opt) == transfer.default(video.VideoJob.__init__, opt)
    assert transfer.video_parser().parse_args(
        ["--model", "m", "--input", "i", "--output", "o", "--no-stabilize"]).temporal_weight == 0
    assert os.listdir(tmp_path) == ["in.mp4"]


def _frames(n=2, w=40, h=32):
    rng = np.random.RandomState(5)
    return [rng.randint(0, 255, (h, w, 3)).astype(np.uint8) for _ in range(n)]


def test_the_styles_controls_act_on_every_frame(model, tmp_path):
    from PIL import Image

    from gluon_style import color
    src = make_clip(tmp_path / "in.mp4", frames=2)
    frames = _frames()

    def stylized(**controls):
        job = video.VideoJob(fast.load_style(model, ctx=mx.cpu(), **controls), src,
                             str(tmp_path / "o.mp4"), temporal_weight=0)
        return job._stylize(frames, None)

    full = stylized()
    assert all(np.abs(o - f).mean() > 10 for o, f in zip(full, frames))  # it does paint
    for o, f in zip(stylized(strength=0.0), frames):
        assert np.array_equal(o, f)  # strength 0: the frame itself
    for o, f, s in zip(stylized(strength=0.25), frames, full):
        want = 0.25 * np.round(s) + 0.75 * f
        assert np.abs(o - want).max() <= 0.5 + 1e-6
    for o, f, s in zip(stylized(preserve_colors="luminance"), frames, full):
        want = color.luminance_only(Image.fromarray(np.round(s).astype(np.uint8)),
                                    Image.fromarray(f))
        assert np.array_equal(o, np.asarray(want, np.float32))


def test_cli_video_strength_zero_gives_the_input_back(model, tmp_path, capsys):
    src = make_clip(tmp_path / "in.mp4", frames=6)
    outs = {}
    for strength in ("1", "0"):
        out = tmp_path / ("s%s.mp4" % strength)
        code, _, err = run(["--model", model, "--input", src, "--output", str(out),
                            "--no-stabilize", "--strength", strength, "--quiet"], capsys)
        assert code == 0, err
        info = video.probe(str(out))
        outs[strength] = np.stack(list(video.read_frames(info, (info.width, info.height))))
    info = video.probe(src)
    inp = np.stack(list(video.read_frames(info, (info.width, info.height)))).astype(float)
    assert np.abs(outs["0"] - inp).mean() < 3  # the input, but for the encoder's loss
    assert np.abs(outs["1"] - inp).mean() > 10
    code, _, err = run(["--model", model, "--input", src, "--output", str(tmp_path / "x.mp4"),
                        "--strength", "2"], capsys)
    assert code == 2 and err.count("\n") == 1 and "--strength" in err
    assert not (tmp_path / "x.mp4").exists()


def test_the_library_refuses_a_crf_out_of_range_as_the_cli_does(style, tmp_path, capsys):
    src = make_clip(tmp_path / "in.mp4", frames=2)
    with pytest.raises(Error, match="crf must be a whole number in 0..51, got 99"):
        video.VideoJob(style, src, str(tmp_path / "o.mp4"), crf=99)
    code, _, err = run(["--model", "x", "--input", src, "--output", str(tmp_path / "o.mp4"),
                        "--crf", "99"], capsys)
    assert code == 2 and err.count("\n") == 1 and "--crf: must be in 0..51" in err


def test_the_preset_reaches_the_encoder_and_a_wrong_one_is_refused(style, tmp_path, capsys):
    src = make_clip(tmp_path / "in.mp4", frames=2)
    job = video.VideoJob(style, src, str(tmp_path / "o.mp4"), preset="veryfast")
    enc = job._encoder(str(tmp_path / "t.mp4"))
    args = enc.proc.args
    enc.close()
    assert args[args.index("-preset") + 1] == "veryfast"
    with pytest.raises(Error, match="unknown x264 preset 'fastest'.*did you mean"):
        video.VideoJob(style, src, str(tmp_path / "o.mp4"), preset="fastest")
    code, _, err = run(["--model", "x", "--input", src, "--output", str(tmp_path / "o.mp4"),
                        "--preset", "fastest"], capsys)
    assert code == 2 and err.count("\n") == 1 and "--preset" in err
    assert not (tmp_path / "o.mp4").exists()
