"""The one exception type for user errors.

Anything a user can cause (a missing file, a bad value, weights that do not fit)
raises :class:`Error` with a one-line message naming the problem and, where
there is one, the file. The CLI prints it as one line and exits with status 2;
any other exception is a bug. :func:`check_whole` and :func:`check_real` check
numeric settings up front, before any work.
"""
import math


class Error(Exception):
    """A user error: bad input, missing weights, an impossible setting."""


def check_whole(name, value, low=1, high=None):
    """`value` as an int; :class:`Error` unless it is a whole number in [low, high]."""
    try:
        ok = int(value) == value and low <= value and (high is None or value <= high)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise Error("%s must be a %s, got %r" % (
            name, "positive whole number" if (low, high) == (1, None)
            else "whole number >= %d" % low if high is None
            else "whole number in %d..%d" % (low, high), value))
    return int(value)


def check_real(name, value, *, positive, high=None):
    """`value` as a float; :class:`Error` unless it is finite and > 0 (`positive`) or
    >= 0, and at most `high` when given."""
    try:
        ok = math.isfinite(value) and (value > 0 if positive else value >= 0) and (
            high is None or value <= high)
    except TypeError:
        ok = False
    if not ok:
        raise Error("%s must be a finite number %s%s, got %r" % (
            name, "> 0" if positive else ">= 0", "" if high is None else " and <= %g" % high,
            value))
    return float(value)


def did_you_mean(name, valid):
    """``"; did you mean 'x'?"`` for the closest of `valid` to `name`, or ``""``."""
    import difflib
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1)
    return "; did you mean %r?" % close[0] if close else ""


def unknown(kind, name, valid, *, where="", sep=", ", extra=""):
    """The :class:`Error` for an unknown `kind` `name` (`where`: e.g. " for vgg19"):
    the valid names, then the closest one."""
    return Error("unknown %s %r%s (valid: %s%s)%s" % (kind, name, where, sep.join(valid), extra,
                                                        did_you_mean(name, valid)))
