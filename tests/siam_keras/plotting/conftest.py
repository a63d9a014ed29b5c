"""The figures' fixtures: an explanation with chosen contributions, a grey photo."""

import numpy as np
import pytest

from tests.chosen_explanation import chosen_explanation


@pytest.fixture(scope="module")
def chosen():
    return chosen_explanation()


@pytest.fixture
def grey_photo():
    """A uniform mid-grey 48 x 64 photo: a thumbnail's brightness is its map's."""
    return np.full((48, 64, 3), 128, np.uint8)
