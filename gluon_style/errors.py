"""The one exception type for user errors.

Anything a user can cause (a missing file, a bad value, weights that do not fit)
raises :class:`Error` with a one-line message naming the problem and, where
there is one, the file. The CLI prints it as one line and exits with status 2;
any other exception is a bug.
"""


class Error(Exception):
    """A user error: bad input, missing weights, an impossible setting."""
