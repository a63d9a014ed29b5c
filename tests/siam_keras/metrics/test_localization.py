import numpy as np
import pytest

from siam_keras.metrics import localization


def _masks():
    masks = np.zeros((3, 4, 4), bool)
    masks[:, 2:, 2:] = True
    return masks


def test_pointing_game_hits_misses_and_empty_maps():
    maps = np.zeros((3, 4, 4))
    maps[0, 3, 3] = 1.0  # inside
    maps[1, 0, 0] = 1.0  # outside
    # maps[2] is all zero: points nowhere
    np.testing.assert_array_equal(localization.pointing_game(maps, _masks()), [True, False, False])


def test_relevance_mass_counts_only_positive_relevance():
    maps = np.zeros((3, 4, 4))
    maps[0, 3, 3], maps[0, 0, 0] = 3.0, 1.0
    maps[1, 3, 3], maps[1, 0, 0] = 1.0, -5.0  # negative relevance is no relevance
    np.testing.assert_allclose(localization.relevance_mass(maps, _masks()), [0.75, 1.0, 0.0])


def test_iou_at_the_best_threshold():
    maps = np.zeros((2, 4, 4))
    maps[:, 2:, 2:] = 1.0
    maps[:, 0, :] = 0.5  # a weaker false region: thresholds above 0.5 drop it
    iou = localization.iou_at_thresholds(maps, _masks()[:2])
    np.testing.assert_allclose(iou[:, localization.IOU_THRESHOLDS.index(0.5)], 4 / 8)
    np.testing.assert_allclose(iou[:, localization.IOU_THRESHOLDS.index(0.55)], 1.0)
    best, threshold = localization.best_threshold_iou(maps, _masks()[:2])
    assert best == pytest.approx(1.0) and threshold == pytest.approx(0.55)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        localization.pointing_game(np.zeros((2, 4, 4)), np.zeros((2, 4, 5), bool))


def test_pointing_tolerance_follows_zhang_et_al():
    masks = np.zeros((1, 64, 64), bool)
    masks[0, 10:20, 10:20] = True
    maps = np.zeros((1, 64, 64))
    maps[0, 21, 15] = 1.0  # 2 px below the mask
    assert localization.pointing_tolerance(64, 64) == 2
    assert localization.pointing_tolerance(375, 500) == 15
    assert not localization.pointing_game(maps, masks)[0]
    assert localization.pointing_game(maps, masks, tolerance=2)[0]
    assert not localization.pointing_game(maps, masks, tolerance=1)[0]
    maps[0, 21, 15], maps[0, 21, 21] = 0.0, 1.0  # diagonal: 2 * sqrt(2) px away
    assert not localization.pointing_game(maps, masks, tolerance=2)[0]
