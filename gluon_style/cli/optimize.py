"""``optimize``: optimization mode (Gatys et al.), the default command."""
import argparse
import os
import sys
import time

from ..errors import Error
from .common import (PLOT_EXTENSIONS, Parser, positive_int, setup_logging, sibling)


def optimize_parser(preset="default"):
    """The optimization-mode parser: the flags of :class:`~gluon_style.options.OptimizeOptions`,
    with its defaults or those of the named preset (:data:`gatys.PRESETS`) where it sets them."""
    from ..optimization import gatys
    from ..options import OptimizeOptions
    if preset not in gatys.PRESETS:
        raise Error("unknown preset %r (valid: %s)" % (preset, ", ".join(gatys.PRESETS)))
    p = Parser(prog="python -m gluon_style.transfer [optimize]",
               description="Optimization-mode style transfer (Gatys et al.).")
    p.add_argument("--preset", choices=tuple(gatys.PRESETS), default=preset,
                   help="named settings that change the defaults below: notes = the Gluon "
                        "notes' normalized gradient descent and weighting (default %(default)s)")
    p.add_argument("--content", required=True, help="content image")
    p.add_argument("--style", required=True, nargs="+", help="style image(s)")
    p.add_argument("--output", required=True, help="result image (.png, .jpg, ...)")
    OptimizeOptions.add_arguments(p, defaults=gatys.PRESETS[preset])
    p.add_argument("--save-every", type=positive_int, metavar="N",
                   help="also save the image every N iterations as OUTPUT_<iteration>")
    p.add_argument("--plot", nargs="?", const="", metavar="PATH",
                   help="save loss curves and a content | style | result strip "
                        "(default path: OUTPUT_plot.png)")
    p.add_argument("--gif", nargs="?", const="", metavar="PATH",
                   help="save an animated GIF of the progress, a frame every --save-every "
                        "iterations or 40 frames in all (default path: OUTPUT_progress.gif)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or notices")
    return p


#: the options whose flags take one value or several (one per scale)
_PER_SCALE = ("iterations", "scales")


def optimize_options(args):
    """The keyword arguments of :func:`gatys.stylize_steps` for parsed `args`."""
    from ..options import OptimizeOptions
    from ..runtime import parse_ctx
    opts = {k: getattr(args, k) for k in OptimizeOptions.defaults()}
    for k in _PER_SCALE:
        opts[k] = opts[k][0] if len(opts[k]) == 1 else opts[k]
    opts["size"] = args.size or (args.scales[-1] if len(args.scales) > 1
                                 else OptimizeOptions.size)
    opts["ctx"] = parse_ctx(args.ctx)[0]
    return opts


def parse_optimize(argv):
    """Parse an optimization command line, with the defaults of its ``--preset``."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--preset", default="default")
    known, _ = pre.parse_known_args(argv)
    from ..optimization import gatys
    return optimize_parser(known.preset if known.preset in gatys.PRESETS else "default"
                           ).parse_args(argv)


def run_optimize(argv):
    args = parse_optimize(argv)
    setup_logging(args.quiet)
    from tqdm import tqdm

    from ..optimization import gatys
    from ..io import images
    from ..optimization.optimizer import NonFiniteLoss

    inputs = ([args.content] + args.style + ([args.init] if args.init not in gatys.INITS else [])
              + (args.mask or []))
    output = images.check_output_path(args.output, inputs=inputs)
    plot_path = None
    if args.plot is not None:
        plot_path = images.check_output_path(args.plot or sibling(output, "plot", ".png"),
                                             inputs=inputs, role="plot",
                                             extensions=PLOT_EXTENSIONS)
    steps = gatys.stylize_steps(args.content, args.style, **optimize_options(args))
    gif_path = None
    if args.gif is not None:
        gif_path = images.check_output_path(args.gif or sibling(output, "progress", ".gif"),
                                            inputs=inputs, role="animation", extensions=(".gif",))
    total = steps.total
    frame_every = args.save_every or max(1, total // 40)
    history, frames = {}, []
    image, t0, done = None, None, 0
    bar = tqdm(total=total, disable=args.quiet, unit="it", dynamic_ncols=True, file=sys.stderr)
    try:
        for step in steps:
            if t0 is None:  # time from the first iteration: setup is reported apart
                t0 = time.perf_counter()
            done, image = step.step, step.image
            for k, v in step.losses.items():
                history.setdefault(k, []).append((step.step, v))
            bar.set_postfix_str(" ".join("%s=%.3g" % kv for kv in step.losses.items()),
                                refresh=False)
            bar.update(1)
            if args.save_every and step.step % args.save_every == 0 and step.step < total:
                images.save_image(steps.picture(step.image), sibling(output, "%05d" % step.step))
            if gif_path and (step.step % frame_every == 0 or step.step == 1):
                frames.append(steps.picture(step.image))
    except NonFiniteLoss as e:
        bar.close()
        if e.step == 0:
            raise Error("%s (the starting image's loss); nothing written" % e) from None
        images.save_image(steps.picture(e.image), output)
        raise Error("%s; wrote %s (the image of iteration %d)" % (e, output, e.step)) from None
    except KeyboardInterrupt:
        bar.close()
        if image is None:
            raise
        images.save_image(steps.picture(image), output)
        print("interrupted after %d iterations; wrote %s (continue with --init %s and another "
              "--output)" % (done, output, output), file=sys.stderr)
        return 130
    bar.close()
    seconds = time.perf_counter() - t0
    result = steps.picture(image)
    images.save_image(result, output)
    if gif_path:
        from ..plot import progress_gif
        progress_gif(frames + [result], gif_path)
    if plot_path:
        from ..plot import loss_figure
        panels = ([("content", images.load_image(args.content, role="content image"))]
                  + [("style", images.load_image(p, role="style image")) for p in args.style]
                  + [("result", result)])
        loss_figure(history, plot_path, panels=panels, title=os.path.basename(output))
    print("wrote %s (%dx%d) in %.1f s, %.3f s/iteration"
          % (output, result.size[0], result.size[1], seconds, seconds / max(done, 1)))
    return 0


