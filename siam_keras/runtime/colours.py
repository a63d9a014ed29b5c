"""The colours of a contribution's sign, for every figure (matplotlib and Pillow alike).

Red raises the output, blue lowers it (the two ends of the diverging colour map), and
a contribution is drawn grey, as none, when it is under a thousandth of the largest
shown or when it is printed as zero (`signed_text`): a figure never shows "-0.00" or
a blue "0.00".
"""

POSITIVE, NEGATIVE, NONE = (178, 24, 43), (33, 102, 172), (136, 136, 136)
NEGLIGIBLE = 1e-3


def is_shown_as_zero(value, decimals):
    """Whether `value` printed with `decimals` places reads 0 (e.g. 0.004 with 2)."""
    return float(f"{value:.{decimals}f}") == 0.0


def sign_colour(value, largest=None, decimals=None):
    """The (R, G, B) of a contribution: its sign's, or grey if negligible next to
    `largest` or (given `decimals`) printed as zero there."""
    if largest is not None and abs(value) <= NEGLIGIBLE * largest:
        return NONE
    if decimals is not None and is_shown_as_zero(value, decimals):
        return NONE
    return POSITIVE if value >= 0 else NEGATIVE


def signed_text(value, decimals=2):
    """`value` with its sign, e.g. "+1.12", "-0.65", and "0.00" when it rounds to zero."""
    if is_shown_as_zero(value, decimals):
        return f"{0.0:.{decimals}f}"
    return f"{value:+.{decimals}f}"


def hex_colour(rgb):
    return "#{:02x}{:02x}{:02x}".format(*rgb)
