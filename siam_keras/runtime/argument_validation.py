"""Checks of the arguments a function or a command takes, in one wording everywhere (as
Keras keeps its own in `keras.src.utils.argument_validation`). NumPy only."""

import numpy as np


def is_integer(value):
    """Whether `value` is an integer (Python's or NumPy's; not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def positive_int(name, value, minimum=1):
    """`value` as an int; raises ValueError naming `name` unless it is an integer >= `minimum`.

    >>> positive_int("batch_size", 16)
    16
    >>> positive_int("border_size", -1, minimum=0)
    Traceback (most recent call last):
    ...
    ValueError: `border_size` must be an integer >= 0. Received: border_size=-1
    """
    if not is_integer(value) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"`{name}` must be {kind}. Received: {name}={value!r}")
    return int(value)


def positive_ints(**values):
    """Checks several counts at once (command-line flags): {name: int}; raises one
    ValueError listing every one that is not a positive integer."""
    wrong = {name: value for name, value in values.items()
             if not is_integer(value) or value < 1}
    if wrong:
        shown = ", ".join(f"{name}={value!r}" for name, value in wrong.items())
        raise ValueError(f"These must be positive integers. Received: {shown}")
    return {name: int(value) for name, value in values.items()}
