"""``python -m gluon_style``: the command line (:mod:`gluon_style.cli`)."""
from .cli import main_exit

if __name__ == "__main__":
    main_exit()
