"""A contribution's text and colour agree: what reads 0.00 is grey, never "-0.00"."""

import pytest

from siam_keras.runtime.colours import (
    NEGATIVE,
    NONE,
    POSITIVE,
    sign_colour,
    signed_text,
)


@pytest.mark.parametrize("value, decimals, text, colour", [
    (1.125, 2, "+1.12", POSITIVE), (-0.65, 2, "-0.65", NEGATIVE), (-0.004, 2, "0.00", NONE),
    (0.004, 2, "0.00", NONE), (-0.006, 2, "-0.01", NEGATIVE), (-0.0004, 3, "0.000", NONE),
    (-0.0006, 3, "-0.001", NEGATIVE), (-0.0, 2, "0.00", NONE),
])
def test_the_text_and_the_colour_of_a_contribution_agree(value, decimals, text, colour):
    assert signed_text(value, decimals) == text
    assert sign_colour(value, largest=0.01, decimals=decimals) == colour


def test_a_contribution_negligible_next_to_the_largest_is_grey():
    assert sign_colour(-0.05, largest=100.0) == NONE
    assert sign_colour(-0.05) == NEGATIVE
