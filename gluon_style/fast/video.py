"""Video stylization with a trained style, streamed through ffmpeg.

Frames are decoded by the ffmpeg binary of the ``imageio-ffmpeg`` package into
raw RGB through a pipe, stylized a batch at a time and piped into a second
ffmpeg that encodes H.264 (yuv420p) at the input's frame rate and size and
copies (or re-encodes to AAC) the input's first audio track. Memory is bounded
by one batch whatever the length. The output is written to a temp file beside
it and renamed at the end, so a failed or interrupted run leaves nothing.

Stylizing each frame alone flickers: tiny changes of the input (noise,
compression) change the strokes. The stabilized mode blends each stylized
frame with the previous output warped by optical flow (OpenCV DIS on the input
frames) where that flow is reliable, see :class:`Stabilizer`; :class:`Flicker`
measures the result.
"""
import collections
import fractions
import os
import re
import subprocess
import threading

import numpy as np

from ..errors import Error, check_whole
from ..io.fileio import atomic_path, where as _where
from ..options import VideoOptions

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv")  # written (H.264 in each)
_MP4_AUDIO = ("aac", "mp3", "alac", "ac3", "eac3")  # copied as is into mp4/mov

VideoInfo = collections.namedtuple("VideoInfo", "path width height fps rate frames audio codec")
VideoInfo.__doc__ = """What :func:`probe` found: display size (after rotation), frame rate
as a float and as ffmpeg text (``"30000/1001"``), estimated frame count (None
if unknown), audio codec name (None if no audio) and video codec name."""


def ffmpeg_exe():
    """Path of the ffmpeg binary shipped by ``imageio-ffmpeg``."""
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as e:
        raise Error("video needs the ffmpeg of the imageio-ffmpeg package (pip install "
                    "imageio-ffmpeg): %s" % e) from None


def _file(path):
    """A path ffmpeg takes as a plain file (not an option, protocol or pattern)."""
    return "file:" + os.path.abspath(os.fspath(path))


def _rate(text):
    """ffmpeg's "29.97 fps" text to (float, exact rational text); NTSC rates recognized."""
    value = float(text[:-1]) * 1000 if text.endswith("k") else float(text)
    for base in (24, 30, 48, 60, 120, 240):
        if abs(value - base * 1000 / 1001) < 0.006:
            return base * 1000 / 1001, "%d/1001" % (base * 1000)
    r = fractions.Fraction(value).limit_denominator(1000)
    return float(r), "%d/%d" % (r.numerator, r.denominator)


def _why(lines):
    """The most telling ffmpeg message, as one line without its [component @ 0x..] tag."""
    lines = [re.sub(r"^\[[^\]]*\]\s*", "", x).strip() for x in lines if x.strip()]
    keys = ("partial file", "Invalid data", "no decoder", "not found", "rror", "moov")
    hits = [x for x in lines if any(k in x for k in keys)]
    return (hits or lines or ["no message"])[0][:160]


def probe(path, *, role="input video"):
    """Read a video's header with ffmpeg; :class:`VideoInfo`.

    Raises :class:`Error` (one line naming the file) for a missing file, a file
    ffmpeg cannot read, no video stream or a video codec ffmpeg does not know.
    """
    where = _where(role, path)
    if not os.path.isfile(path):
        raise Error("%s: %s" % (where, "is a directory" if os.path.isdir(path) else "no such file"))
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", _file(path)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    text = proc.stderr.decode("utf-8", "replace")
    if "Input #0" not in text:
        raise Error("%s: not a video ffmpeg can read (%s)" % (where, _why(text.splitlines())))
    streams = [x for x in text.splitlines() if re.search(r"Stream #\d+:\d+.*: Video: ", x)
               and "attached pic" not in x]
    if not streams:
        raise Error("%s: has no video stream" % where)
    line = streams[0]
    codec = line.split("Video: ", 1)[1].split()[0].rstrip(",")
    if codec == "none":
        tag = re.search(r"Video: none \((\w+)", line)
        raise Error("%s: unknown video codec%s" % (where, " '%s'" % tag.group(1) if tag else ""))
    size = re.search(r",\s*(\d+)x(\d+)\b", line)
    fps = re.search(r"([\d.]+k?) fps", line) or re.search(r"([\d.]+k?) tbr", line)
    if not size or not fps or float(fps.group(1).rstrip("k")) <= 0:
        raise Error("%s: cannot tell the %s of its video"
                    % (where, "size" if not size else "frame rate"))
    w, h = int(size.group(1)), int(size.group(2))
    rot = re.search(r"rotation of (-?[\d.]+) degrees", text)
    if rot and round(float(rot.group(1))) % 180 == 90:  # ffmpeg turns the frames upright
        w, h = h, w
    fps_value, rate = _rate(fps.group(1))
    dur = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text)
    frames = (round((int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3)))
                    * fps_value) if dur else None)
    audio = re.search(r"Stream #\d+:\d+.*: Audio: (\w+)", text)
    return VideoInfo(os.fspath(path), w, h, fps_value, rate, frames,
                     audio.group(1) if audio else None, codec)


def output_size(width, height, max_size=None):
    """(w, h) written for a (width, height) input: shrunk so the longer side is at
    most `max_size` (aspect kept), then each side rounded down to even (yuv420p)."""
    if max_size and max(width, height) > max_size:
        s = max_size / max(width, height)
        width, height = max(2, round(width * s)), max(2, round(height * s))
    return width - width % 2, height - height % 2


def auto_batch_size(width, height):
    """Frames per forward pass by frame size: up to 8 frames of 100,000 pixels in all.

    Measured on 2 CPU cores (``benchmarks/bench_video.py``): at 64x48 and 160x90,
    batches of 8 take 25-60% less time per frame than single frames; at 640x360
    single frames are the fastest (batch 2: +8%, batch 4: +27% per frame).
    """
    return max(1, min(8, 100000 // (width * height)))


class _Ffmpeg:
    """An ffmpeg child whose stderr is drained by a thread (last lines kept);
    killed and reaped on close unless it ended."""

    def __init__(self, args, **pipes):
        self.proc = subprocess.Popen([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error"]
                                     + args, stderr=subprocess.PIPE, **pipes)
        self.lines = collections.deque(maxlen=40)
        self._t = threading.Thread(target=self._drain, daemon=True)
        self._t.start()

    def _drain(self):
        for raw in self.proc.stderr:
            self.lines.append(raw.decode("utf-8", "replace").rstrip())

    def wait(self):
        rc = self.proc.wait()
        self._t.join(5)
        return rc

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        for f in (self.proc.stdin, self.proc.stdout):
            if f:
                try:
                    f.close()
                except OSError:
                    pass
        self.wait()


def read_frames(info, size, *, role="input video"):
    """Yield the frames of `info` (a :class:`VideoInfo`) as uint8 ``(h, w, 3)`` RGB
    arrays at `size` = (w, h), one at a time (bounded memory)."""
    w, h = size
    scale = ("null" if size == (info.width, info.height) else "crop=%d:%d:0:0" % size
             if size == output_size(info.width, info.height) else "scale=%d:%d:flags=area" % size)
    ff = _Ffmpeg(["-i", _file(info.path), "-map", "0:v:0", "-vf", scale, "-f", "rawvideo",
                  "-pix_fmt", "rgb24", "-"], stdout=subprocess.PIPE, bufsize=w * h * 3)
    n = 0
    try:
        while True:
            buf = ff.proc.stdout.read(w * h * 3)
            if len(buf) < w * h * 3:
                break
            n += 1
            yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
        if ff.wait() != 0 or n == 0:
            why = _why(ff.lines) if ff.lines else "the stream is empty"
            raise Error("%s: %s (ffmpeg: %s)" % (_where(role, info.path), "no frames could be "
                        "decoded" if n == 0 else "decoding failed after %d frames" % n, why))
    finally:
        ff.close()


class Stabilizer:
    """Temporal stabilization: ``out_t = a * warp(out_{t-1}) + (1 - a) * stylized_t``.

    The previous output is warped onto the current frame with the backward
    optical flow (DIS, computed on the gray input frames, at most `flow_side`
    px on the longer side). ``a`` is `weight` where the flow is reliable and
    falls to 0 where it is not: where forward and backward flow disagree
    (``|b + f(x + b)|^2 > 0.01 (|b|^2 + |f|^2) + 0.5``, occlusions and flow
    errors), where the warp leaves the frame, and where the warped previous
    input differs from the current one (on blurred gray: from 8 to 24 levels
    the weight falls linearly to 0). So moving content follows the motion,
    and new or uncovered content and scene cuts take the fresh stylization.
    """

    def __init__(self, weight=0.7, *, flow_side=640):
        import cv2
        self.cv2, self.weight, self.flow_side = cv2, float(weight), flow_side
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self.prev_gray = self.prev_blur = self.prev_out = self._grid = None

    def motion(self, frame):
        """Flow of an input frame (uint8 RGB) to the previous one given here:
        ``(map_x, map_y, weight map)``, or None for the first frame."""
        cv2 = self.cv2
        h, w = frame.shape[:2]
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        blur = cv2.GaussianBlur(gray, (5, 5), 0).astype(np.float32)
        s = min(1.0, self.flow_side / max(h, w))
        small = gray if s == 1 else cv2.resize(gray, (round(w * s), round(h * s)),
                                               interpolation=cv2.INTER_AREA)
        prev_small, prev_blur = self.prev_gray, self.prev_blur
        self.prev_gray, self.prev_blur = small, blur
        if prev_small is None:
            return None
        back = self.dis.calc(small, prev_small, None)
        fwd = self.dis.calc(prev_small, small, None)
        if s != 1:
            back, fwd = (cv2.resize(f, (w, h)) / s for f in (back, fwd))
        if self._grid is None or self._grid[0].shape != (h, w):
            self._grid = np.mgrid[0:h, 0:w].astype(np.float32)  # (ys, xs), kept per size
        ys, xs = self._grid
        mx_, my_ = xs + back[..., 0], ys + back[..., 1]
        fwd_at = cv2.remap(fwd, mx_, my_, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # |b + f(x + b)|^2 > 0.01 (|b|^2 + |f|^2) + 0.5, by channel: numpy's sum over a
        # last axis of 2 took 4x the time of everything else here (same values)
        bad = _sq2(back + fwd_at) > 0.01 * (_sq2(back) + _sq2(fwd_at)) + 0.5
        bad |= (mx_ < 0) | (mx_ > w - 1) | (my_ < 0) | (my_ > h - 1)
        err = np.abs(cv2.remap(prev_blur, mx_, my_, cv2.INTER_LINEAR) - blur)
        a = np.clip((24.0 - err) / 16.0, 0, 1) * ~bad * self.weight
        return mx_, my_, cv2.GaussianBlur(a.astype(np.float32), (5, 5), 0)[..., None]

    def blend(self, stylized, motion):
        """The stabilized output (float32 RGB 0..255) of `stylized` (float32 RGB),
        given :meth:`motion` of its input frame."""
        out = np.clip(stylized, 0, 255)
        if motion is not None and self.prev_out is not None and self.weight > 0:
            mx_, my_, a = motion
            warped = self.cv2.remap(self.prev_out, mx_, my_, self.cv2.INTER_LINEAR,
                                    borderMode=self.cv2.BORDER_REPLICATE)
            warped *= a  # a * warped + (1 - a) * out, with fewer temporaries
            warped += (1 - a) * out
            out = warped
        self.prev_out = out
        return out


def _sq2(v):
    """``(v ** 2).sum(-1)`` of an ``(h, w, 2)`` array, the same values, without numpy's
    slow reduction over a last axis of two."""
    x, y = v[..., 0], v[..., 1]
    return x * x + y * y


class Flicker:
    """Flicker of a stylized video relative to its input.

    ``ratio = mean_t mean|out_t - out_{t-1}| / mean_t mean|in_t - in_{t-1}|``:
    the mean absolute change of RGB values (0..255) between consecutive output
    frames, over all pixels, channels and the T-1 frame pairs, divided by the
    same for the input frames (at the output's size). 1 means the output
    changes as much as the input; per-frame stylization flickers well above;
    0 would be a frozen picture (lag also lowers it: judge with the frames).
    """

    def __init__(self):
        self.prev, self.out_sum, self.in_sum, self.pairs = None, 0.0, 0.0, 0

    def add(self, out, inp):
        """Count one output frame and its input frame (same-size arrays)."""
        out, inp = np.asarray(out, np.float32), np.asarray(inp, np.float32)
        if self.prev is not None:
            self.out_sum += float(np.abs(out - self.prev[0]).mean())
            self.in_sum += float(np.abs(inp - self.prev[1]).mean())
            self.pairs += 1
        self.prev = (out, inp)

    @property
    def output_change(self):
        return self.out_sum / max(self.pairs, 1)

    @property
    def input_change(self):
        return self.in_sum / max(self.pairs, 1)

    @property
    def ratio(self):
        return self.out_sum / self.in_sum if self.in_sum > 0 else float("nan")


def flicker(output, reference):
    """:class:`Flicker` of video file `output` against its input video `reference`
    (read at the output's size); both are streamed."""
    out, ref = probe(output, role="video"), probe(reference, role="reference video")
    meter = Flicker()
    for o, i in zip(read_frames(out, (out.width, out.height), role="video"),
                    read_frames(ref, (out.width, out.height), role="reference video")):
        meter.add(o, i)
    return meter


class VideoJob:
    """Stylize video `src` into `dst` with a :class:`~gluon_style.fast.FastStyle`.

    Everything is checked on creation (the input is probed, the output path
    validated), nothing is done until iterated: iterating runs the job and
    yields the number of frames written so far, one per frame.

    Parameters
    ----------
    style : FastStyle
    src, dst : str
        Input video (anything ffmpeg reads) and output (.mp4, .m4v, .mov, .mkv).
    temporal_weight : float
        Stabilization strength in [0, 1): weight of the warped previous output
        where the flow is reliable; 0 stylizes every frame alone.
    batch_size : int or None
        Frames per forward pass; None: :func:`auto_batch_size`.
    max_size : int or None
        Shrink frames whose longer side is larger (default: keep the size).
    crf, preset : int, str
        libx264 quality (lower: better, larger) and speed.

    Attributes
    ----------
    info : VideoInfo
    size : (int, int)
        Written size (the input's, odd sides rounded down to even).
    frames : int
        Frames written so far.
    flicker : Flicker
        Of the frames written, before encoding.
    """

    def __init__(self, style, src, dst, *, temporal_weight=VideoOptions.temporal_weight,
                 batch_size=VideoOptions.batch_size, max_size=VideoOptions.max_size,
                 crf=VideoOptions.crf, preset=VideoOptions.preset):
        from ..io.images import check_output_path
        if not 0 <= temporal_weight < 1:
            raise Error("temporal weight must be in [0, 1), got %s" % temporal_weight)
        if batch_size is not None and int(batch_size) < 1:
            raise Error("batch size must be positive, got %s" % batch_size)
        crf = check_whole("crf", crf, 0, 51)
        VideoOptions.make(preset=preset)  # the option's own check: an unknown one is an Error
        self.info = probe(src)
        self.dst = check_output_path(dst, inputs=[src], role="output video",
                                     extensions=VIDEO_EXTENSIONS)
        self.size = output_size(self.info.width, self.info.height, max_size)
        if min(self.size) < 16:
            raise Error("%s: frames of %dx%d are too small (16 px at least)"
                        % (_where("input video", src), self.size[0], self.size[1]))
        self.batch_size = int(batch_size or auto_batch_size(*self.size))
        self.style, self.weight = style, temporal_weight
        self.crf, self.preset = crf, preset
        self.frames, self.flicker = 0, Flicker()

    def _encoder(self, tmp):
        info, ext = self.info, os.path.splitext(self.dst)[1].lower()
        args = ["-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "%dx%d" % self.size,
                "-framerate", info.rate, "-i", "-"]
        if info.audio:
            copy = ext == ".mkv" or info.audio in _MP4_AUDIO
            args += ["-i", _file(info.path), "-map", "0:v:0", "-map", "1:a:0",
                     "-c:a"] + (["copy"] if copy else ["aac", "-b:a", "192k"])
        args += ["-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf),
                 "-pix_fmt", "yuv420p"]
        args += ["-movflags", "+faststart"] if ext != ".mkv" else []
        return _Ffmpeg(args + [_file(tmp)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)

    def _stylize(self, batch, stab):
        import mxnet as mx

        from ..io.images import denormalize_np, normalize_np
        x = mx.nd.array(normalize_np(np.stack(batch)), ctx=self.style.ctx)
        y = self.style.net(x)  # runs asynchronously while the flow is computed
        motions = [stab.motion(f) if stab else None for f in batch]
        out = denormalize_np(y.asnumpy())
        if not np.isfinite(out).all():
            raise Error("model %s: produced NaN or infinite values" % self.style.name)
        out = [self._controlled(o, f) for o, f in zip(out, batch)]
        return [stab.blend(o, m) if stab else np.clip(o, 0, 255) for o, m in zip(out, motions)]

    def _controlled(self, out, frame):
        """A stylized frame (float HWC) with the style's controls (strength,
        preserve colors: :func:`gluon_style.fast.apply_controls`) applied against
        its input frame; untouched at the defaults."""
        strength = getattr(self.style, "strength", 1.0)
        preserve = getattr(self.style, "preserve_colors", "none")
        if strength == 1.0 and preserve == "none":
            return out
        from PIL import Image

        from . import apply_controls
        painted = Image.fromarray(np.round(np.clip(out, 0, 255)).astype(np.uint8))
        return np.asarray(apply_controls(painted, Image.fromarray(frame), strength=strength,
                                         preserve_colors=preserve), np.float32)

    def __iter__(self):
        stab = Stabilizer(self.weight) if self.weight > 0 else None
        with atomic_path(self.dst, role="output video") as tmp:
            enc = self._encoder(tmp)
            frames = read_frames(self.info, self.size)
            try:
                batch = []
                for frame in frames:
                    batch.append(frame)
                    if len(batch) == self.batch_size:
                        yield from self._write(enc, batch, stab)
                        batch = []
                if batch:
                    yield from self._write(enc, batch, stab)
                enc.proc.stdin.close()
                if enc.wait() != 0:
                    raise Error("%s: ffmpeg could not encode it (%s)"
                                % (_where("output video", self.dst), _why(enc.lines)))
            finally:
                frames.close()
                enc.close()

    def _write(self, enc, batch, stab):
        for frame, out in zip(batch, self._stylize(batch, stab)):
            out8 = np.round(out).astype(np.uint8, order="C")  # written as it is
            try:
                enc.proc.stdin.write(memoryview(out8).cast("B"))  # no copy
            except (BrokenPipeError, ValueError):
                enc.wait()
                raise Error("%s: ffmpeg stopped encoding (%s)"
                            % (_where("output video", self.dst), _why(enc.lines))) from None
            self.flicker.add(out8, frame)
            self.frames += 1
            yield self.frames


def stylize_video(style, src, dst, **options):
    """A :class:`VideoJob` (same arguments): iterate it to run, e.g.
    ``for n in stylize_video(load_style("mosaic"), "in.mp4", "out.mp4"): ...``."""
    return VideoJob(style, src, dst, **options)
