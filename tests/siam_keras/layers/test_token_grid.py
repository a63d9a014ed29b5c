import keras
import numpy as np
import pytest

from siam_keras.layers.token_grid import TokenGrid
from siam_keras.saving import load_model


def test_token_grid_drops_the_leading_tokens_and_keeps_row_order(tmp_path):
    tokens = np.arange(2 * (3 + 6) * 2, dtype="float32").reshape(2, 9, 2)
    grid = keras.ops.convert_to_numpy(TokenGrid(3, 2, 3)(tokens))
    assert grid.shape == (2, 2, 3, 2)
    np.testing.assert_array_equal(grid[1, 1, 0], tokens[1, 3 + 3])
    np.testing.assert_array_equal(grid[0, 0, 2], tokens[0, 3 + 2])
    inputs = keras.Input((9, 2))
    model = keras.Model(inputs, TokenGrid(3, 2, 3)(inputs))
    model.save(tmp_path / "grid.keras")
    np.testing.assert_array_equal(load_model(tmp_path / "grid.keras")(tokens), grid)


def test_token_grid_refuses_counts_that_do_not_fit():
    with pytest.raises(ValueError, match="`leading` must be an integer >= 0. Received: "
                                         "leading=-1"):
        TokenGrid(-1, 2, 2)
    with pytest.raises(ValueError, match="`height` must be a positive integer"):
        TokenGrid(0, 2.5, 2)
    with pytest.raises(ValueError, match=r"takes 5 tokens. Received: input_shape=\(None, 6, 4\)"):
        TokenGrid(1, 2, 2)(keras.KerasTensor((None, 6, 4)))
