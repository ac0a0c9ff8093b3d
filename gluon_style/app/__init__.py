"""A local web app for style transfer: ``python -m gluon_style.app``.

Choose a photo, pick a trained style (fast mode) or upload a painting
(optimization mode), transfer, compare before and after, download. The server
binds 127.0.0.1 by default; see :mod:`gluon_style.app.cli` for the options and
:func:`gluon_style.app.server.create_app` for the Flask application.
"""


def create_app(workdir, **options):
    """The Flask application (see :func:`gluon_style.app.server.create_app`)."""
    from .server import create_app as _create
    return _create(workdir, **options)
