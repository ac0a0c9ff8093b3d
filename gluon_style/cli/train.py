"""``train`` a fast-mode style, and ``multistyle``: add paintings to the multi-style network."""
import os
import sys
import time

from ..errors import Error
from .common import (Parser, default, nonneg_int, setup_logging, shown_path)


def train_parser():
    from ..options import TrainOptions
    p = Parser(prog="python -m gluon_style.transfer train",
               description="Train a fast-mode style (Johnson et al.) on a folder of photos.")
    p.add_argument("--style", required=True, help="style image")
    p.add_argument("--dataset", required=True, help="folder of training photos (recursive)")
    p.add_argument("--name", required=True, help="the style's name")
    TrainOptions.add_arguments(p)
    p.add_argument("--resume", action="store_true", help="continue the checkpoint of --name")
    p.add_argument("--params-dir", default="params",
                   help="where the trained style and manifest entry go (default %(default)s)")
    p.add_argument("--credit", default="", help="credit line of the style image (manifest)")
    p.add_argument("--plot", action="store_true",
                   help="also save the loss curves (CHECKPOINT_DIR/NAME/loss.png)")
    p.add_argument("--quiet", action="store_true")
    return p


def run_train(argv):
    args = train_parser().parse_args(argv)
    setup_logging(args.quiet)
    from tqdm import tqdm

    from .. import fast
    from ..io import images
    from ..runtime import interrupts_held
    from ..options import TrainOptions
    from ..fast.train import StyleTrainer
    from ..nets.transformer import STORE_DTYPE, save_weights

    fast.check_style_name(args.name)  # it names files: before anything is read or written
    images.load_image(args.style, role="style image")
    opts = {k: getattr(args, k) for k in TrainOptions.defaults()}
    trainer = StyleTrainer(args.style, args.dataset, name=args.name, resume=args.resume, **opts)
    if trainer.rank != 0:  # a parameter-server worker: rank 0 writes the files
        return _train_worker(trainer)
    try:
        os.makedirs(args.params_dir, exist_ok=True)
    except OSError as e:
        raise Error("params folder %s: cannot create it (%s)" % (args.params_dir, e.strerror))
    out = images.check_output_path(os.path.join(args.params_dir, args.name + ".params"),
                                   inputs=[args.style], role="style params",
                                   extensions=(".params",))
    bar = tqdm(total=trainer.total_steps, initial=trainer.step, disable=args.quiet, unit="step",
               dynamic_ncols=True, file=sys.stderr)
    t0 = time.perf_counter()
    try:
        for step in trainer.steps():
            bar.set_postfix_str(" ".join("%s=%.3g" % kv for kv in step.losses.items()),
                                refresh=False)
            bar.update(1)
    except KeyboardInterrupt:
        bar.close()
        saved = trainer.stop()
        print("interrupted before the first step finished; nothing written" if saved is None
              else "interrupted at step %d; checkpoint in %s (continue with --resume)"
              % (saved, trainer.dir), file=sys.stderr)
        return 130
    bar.close()
    cfg = dict(trainer.config, style=os.path.basename(trainer.config["style"]),
               init_from=trainer.config["init_from"] and shown_path(trainer.config["init_from"]),
               steps=trainer.total_steps, dataset=os.path.basename(os.path.abspath(args.dataset)),
               dataset_size=len(trainer.dataset))
    with interrupts_held():  # the style's files and its manifest entry go together
        with images.atomic_path(out, role="style params") as tmp:
            save_weights(trainer.net, tmp)
        thumb = fast.write_thumbnail(args.style, os.path.dirname(out), args.name)
        fast.register_style(os.path.dirname(out), args.name, out, variant=cfg["variant"],
                            dtype=STORE_DTYPE, training=cfg, credit=args.credit,
                            thumbnail=os.path.basename(thumb))
    if args.plot:
        from ..plot import loss_figure
        loss_figure(trainer.history(), os.path.join(trainer.dir, "loss.png"), title=args.name)
    seconds = time.perf_counter() - t0
    print("wrote %s (style %r) in %.1f s" % (out, args.name, seconds))
    return 0


def _train_worker(trainer):
    """Rank r > 0 of a dist kvstore: train, and leave the checkpoints, the log and the
    style's files to rank 0."""
    t0 = time.perf_counter()
    try:
        for _ in trainer.steps():
            pass
    except KeyboardInterrupt:
        return 130
    print("worker rank %d of %d: %d steps in %.1f s" % (
        trainer.rank, trainer.num_workers, trainer.step, time.perf_counter() - t0))
    return 0


# ---------------------------------------------------------------- multistyle
def multistyle_parser():
    from ..fast.arbitrary import ArbitraryStyle
    from ..fast.multistyle import TABLE_FILE
    from ..options import MultiStyleOptions
    p = Parser(prog="python -m gluon_style.transfer multistyle",
                description="Add paintings (or replace them) as styles of a folder's multi-style "
                            "network (%s: one row of style vectors each over Magenta's shared "
                            "transformer, Dumoulin et al. 2017); the other styles are left "
                            "bit-identical." % TABLE_FILE)
    p.add_argument("--style", required=True, nargs="+", metavar="PAINTING")
    p.add_argument("--name", nargs="+", help="one per painting (default: the file names)")
    p.add_argument("--credit", nargs="+", help="one per painting (artist, title, year, licence)")
    p.add_argument("--params-dir", default="params", help="default %(default)s")
    p.add_argument("--steps", type=nonneg_int, default=0,
                   help="0: each row is the painting's predicted style vector (read at %d px); "
                        "N: then fine-tuned N steps with the VGG16 loss on --dataset, the "
                        "shared network frozen (default %%(default)s)"
                   % default(ArbitraryStyle.style_vector, "style_size"))
    t = p.add_argument_group("fine-tuning (--steps N)")
    t.add_argument("--dataset", help="a folder of photos")
    MultiStyleOptions.add_arguments(t, MultiStyleOptions.FLAGS)
    t.add_argument("--resume", action="store_true")
    return p


def run_multistyle(argv):
    args = multistyle_parser().parse_args(argv)
    from .. import fast
    from ..io import images
    from ..fast import multistyle
    for opt, n in (("--name", args.name), ("--credit", args.credit)):
        if n is not None and len(n) != len(args.style):
            raise Error("%s: %d values for %d paintings" % (opt, len(n), len(args.style)))
    names = args.name or [os.path.splitext(os.path.basename(s))[0] for s in args.style]
    for n in names:
        fast.check_style_name(n)
    if not os.path.isdir(args.params_dir):
        raise Error("params folder %s does not exist" % args.params_dir)
    t0 = time.perf_counter()
    if args.steps:
        if not args.dataset:
            raise Error("--steps %d needs --dataset" % args.steps)
        tr = multistyle.MultiStyleTrainer(
            args.style, args.dataset, name="multistyle-" + "-".join(names), init=args.init,
            steps=args.steps, image_size=args.image_size, style_size=args.image_size,
            batch_size=args.batch_size, lr=args.lr, style_weight=args.style_weight,
            seed=args.seed, checkpoint_dir=args.checkpoint_dir, resume=args.resume)
        try:
            for _ in tr.steps():
                pass
        except KeyboardInterrupt:
            step = tr.stop()
            print("interrupted: %s" % ("nothing saved" if step is None else
                                       "checkpoint of step %d kept; continue with --resume"
                                       % step), file=sys.stderr)
            return 130
        rows = tr.rows()
        record = dict(tr.config, styles=None, style=None, steps=tr.total_steps)
    else:
        from ..fast.arbitrary import ArbitraryStyle
        st = ArbitraryStyle()
        rows = [st.style_vector(images.load_image(s, role="style image")) for s in args.style]
        record = dict(init="predicted", steps=0,
                      style_size=default(ArbitraryStyle.style_vector, "style_size"))
    seconds = time.perf_counter() - t0
    training = [dict(record, style=os.path.basename(s),
                     cpu_hours=round(seconds / 3600 / len(names), 4)) for s in args.style]
    order = multistyle.add_styles(args.params_dir, rows, names, paintings=args.style,
                                  credits=args.credit, training=training)
    print("wrote %s: %d styles (%s)" % (os.path.join(args.params_dir, multistyle.TABLE_FILE),
                                       len(order), ", ".join(order)))
    return 0


