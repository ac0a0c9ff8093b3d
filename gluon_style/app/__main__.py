"""``python -m gluon_style.app``: start the local web app."""
from .cli import main_exit

if __name__ == "__main__":
    main_exit()
