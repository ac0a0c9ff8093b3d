"""The command line: ``gluon-style``, ``python -m gluon_style``
(or ``python -m gluon_style.transfer``).

Commands::

    gluon-style --content C --style S --output O [options]
        optimization mode (Gatys et al.); ``optimize`` may be written first
    gluon-style train --style S --dataset DIR --name NAME
        train a fast-mode style (Johnson et al.)
    gluon-style multistyle --style P [P ...] [--steps N --dataset DIR]
        add paintings as styles of the folder's multi-style network
    gluon-style fast --model NAME|--style-weights A:W,B:W --content IMG|DIR ...
        stylize with a trained style or a blend of multi-style ones
    gluon-style video --model NAME --input IN.mp4 --output OUT.mp4
        stylize a video with a trained style (audio kept, optionally stabilized)
    gluon-style styles
        list the trained styles
    gluon-style export --model NAME|--arbitrary --output PREFIX [--onnx FILE]
        export a trained style, or the arbitrary-style networks, for plain MXNet and ONNX

Option defaults and help come from the options objects (:mod:`gluon_style.options`),
never repeated here. User errors print one line and exit with status 2; Ctrl-C saves
what there is.
"""
import difflib
import importlib
import sys

from ..errors import Error
from ..runtime import keep_freed_memory
from .common import stop_on_sigterm

#: subcommand -> (module of this package, runner, one line for the top-level --help)
COMMANDS = {
    "optimize": ("optimize", "run_optimize", "optimization mode (Gatys et al.); the default"),
    "train": ("train", "run_train", "train a fast-mode style (Johnson et al.)"),
    "multistyle": ("train", "run_multistyle", "add paintings as styles of the multi-style "
                   "network"),
    "fast": ("fast", "run_fast", "stylize images with a trained style or any painting"),
    "video": ("fast", "run_video", "stylize a video (audio kept, optionally stabilized)"),
    "styles": ("fast", "run_styles", "list the trained styles"),
    "export": ("fast", "run_export", "export a style for plain MXNet and ONNX"),
}

USAGE = "usage: gluon-style [COMMAND] [options]   (gluon-style COMMAND --help for its options)"


def runner(command):
    module, name, _ = COMMANDS[command]
    return getattr(importlib.import_module("." + module, __name__), name)


def top_help():
    """The top-level help: the subcommands, one line each."""
    return "\n".join([USAGE, "", "Neural style transfer in MXNet/Gluon.", "", "commands:"]
                      + ["  %-11s %s" % (c, h) for c, (_, _, h) in COMMANDS.items()]
                      + ["", "Without a command, the options are optimize's: "
                         "gluon-style --content C --style S --output O"])


def main(argv=None):
    """Run the CLI; returns the exit status: 0, 2 for a user error (one line), 130
    when interrupted.

    SIGTERM is handled like Ctrl-C (what there is gets saved), so a run sent to
    the background can be stopped cleanly with ``kill``. The process keeps the memory
    it frees (:func:`gluon_style.runtime.keep_freed_memory`). Neither is done for a
    library call (`argv` given).
    """
    if argv is None:  # the real command line, not a library call
        stop_on_sigterm()
        keep_freed_memory()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(top_help())
        return 0
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        close = difflib.get_close_matches(argv[0], COMMANDS, n=1)
        print("gluon-style: error: unknown command %r (valid: %s)%s" % (
            argv[0], ", ".join(COMMANDS), "; did you mean %r?" % close[0] if close else ""),
            file=sys.stderr)
        return 2
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "optimize"
    try:
        return runner(command)(argv)
    except Error as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before a command had anything to save
        print("interrupted; nothing written", file=sys.stderr)
        return 130


def main_exit():
    sys.exit(main())
