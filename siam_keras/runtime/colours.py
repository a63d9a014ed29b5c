"""The colours of a contribution's sign, for every figure (matplotlib and Pillow alike).

Red raises the output, blue lowers it (the two ends of the diverging colour map), and
a contribution under a thousandth of the largest shown is drawn grey, as none.
"""

POSITIVE, NEGATIVE, NONE = (178, 24, 43), (33, 102, 172), (136, 136, 136)
NEGLIGIBLE = 1e-3


def sign_colour(value, largest=None):
    """The (R, G, B) of a contribution: its sign's, or grey if negligible next to `largest`."""
    if largest is not None and abs(value) <= NEGLIGIBLE * largest:
        return NONE
    return POSITIVE if value >= 0 else NEGATIVE


def hex_colour(rgb):
    return "#{:02x}{:02x}{:02x}".format(*rgb)
