"""What every command, and the app, share: the one-line-error parser, argparse types,
logging through the progress bar, SIGTERM as Ctrl-C, output names beside an output."""
import argparse
import inspect
import logging
import os
import signal
import sys

PLOT_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".pdf", ".svg")


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line, exit status 2."""

    def error(self, message):
        self.exit(2, "%s: error: %s\n" % (self.prog, message))




def default(fn, name):
    """The default of keyword argument `name` of library function `fn` (for a function
    taking an options object, :func:`gluon_style.options.takes`, the option's)."""
    return inspect.signature(fn).parameters[name].default


def typed(kind, noun, ok, requirement):
    """An argparse type: `text` as `kind`, refused (one line) unless ``ok(value)``."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not %s" % (text, noun))
        if not ok(value):
            raise argparse.ArgumentTypeError("%s, got %s" % (requirement, text))
        return value
    return parse


positive_int = typed(int, "a whole number", lambda v: v >= 1, "must be positive")
nonneg_int = typed(int, "a whole number", lambda v: v >= 0, "must be 0 or more")
seed = typed(int, "a whole number", lambda v: 0 <= v < 2 ** 32, "must be in 0..4294967295")
nonneg_float = typed(float, "a number", lambda v: 0 <= v < float("inf"),
                     "must be a finite number >= 0")
positive_float = typed(float, "a number", lambda v: 0 < v < float("inf"),
                       "must be a finite number > 0")


def setup_logging(quiet):
    """The package's notices through tqdm (they do not break the bar); `quiet`: warnings only."""
    from tqdm import tqdm

    class _TqdmHandler(logging.Handler):
        def emit(self, record):
            tqdm.write(self.format(record), file=sys.stderr)

    logger = logging.getLogger("gluon_style")
    logger.handlers[:] = [_TqdmHandler()]
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


def interrupt(signum, frame):
    """A signal handler that raises KeyboardInterrupt: SIGTERM stops like Ctrl-C."""
    raise KeyboardInterrupt


def stop_on_sigterm():
    """Handle SIGTERM like Ctrl-C (what there is gets saved, temp files go)."""
    signal.signal(signal.SIGTERM, interrupt)


def sibling(output, suffix, ext=None):
    """``OUTPUT_suffix.ext`` beside `output` (its own extension by default)."""
    stem, out_ext = os.path.splitext(output)
    return "%s_%s%s" % (stem, suffix, ext or out_ext)


def shown_path(path):
    """`path` relative to the working folder when inside it, else its file name
    (a manifest says where a style came from without the trainer's home folder)."""
    rel = os.path.relpath(path)
    return os.path.basename(path) if rel.startswith(os.pardir) else rel
