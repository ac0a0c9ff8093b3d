"""``python -m gluon_style.transfer``: the command line, kept for users and scripts.

The commands live in :mod:`gluon_style.cli`; this module re-exports its entry points.
"""
from .cli import COMMANDS, main, main_exit  # noqa: F401
from .cli.common import default, typed  # noqa: F401
from .cli.fast import arbitrary_installed, fast_parser, video_parser  # noqa: F401
from .cli.optimize import optimize_options, optimize_parser, parse_optimize  # noqa: F401
from .cli.train import multistyle_parser, train_parser  # noqa: F401

if __name__ == "__main__":
    main_exit()
