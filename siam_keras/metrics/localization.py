"""Where: do explanation maps point at the true masks? (NumPy only)

Every function takes maps and masks of the same (N, H, W) shape, at image
resolution: maps are relevance (higher = more relevant; negative values count as
no relevance), masks are booleans.
"""

import numpy as np

#: Thresholds (share of each map's maximum) searched by `best_threshold_iou`.
IOU_THRESHOLDS = tuple(np.round(np.arange(0.05, 1.0, 0.05), 2))
#: The pointing game's tolerance as a share of the image's longest side: Zhang et al.
#: (2016) count a hit within 15 pixels of the object on PASCAL VOC images (<= 500 px).
POINTING_TOLERANCE_SHARE = 15 / 500


def pointing_tolerance(height, width):
    """The pointing game's tolerance in pixels for an image of this size (2 px at 64 px)."""
    return int(round(POINTING_TOLERANCE_SHARE * max(height, width)))


def _pair(maps, masks):
    maps = np.asarray(maps, dtype="float32")
    masks = np.asarray(masks, dtype=bool)
    if maps.shape != masks.shape or maps.ndim != 3:
        raise ValueError(
            f"maps and masks must both be (N, H, W). Received: {maps.shape} and {masks.shape}"
        )
    return np.maximum(maps, 0.0), masks


def pointing_game(maps, masks, tolerance=0):
    """(N,) booleans: does each map's maximum fall within `tolerance` pixels of its mask?

    Zhang et al., "Top-down Neural Attention by Excitation Backprop", ECCV 2016
    (`pointing_tolerance` gives their tolerance at another image size; 0 is strict).
    A map with no positive value points nowhere: a miss. Ties take the first
    maximum in row-major order.
    """
    from scipy import ndimage

    maps, masks = _pair(maps, masks)
    if tolerance > 0:
        offsets = np.arange(-tolerance, tolerance + 1)
        disk = offsets[:, None] ** 2 + offsets[None, :] ** 2 <= tolerance**2
        masks = ndimage.binary_dilation(masks, structure=disk[None])
    flat = maps.reshape(len(maps), -1)
    peak = flat.argmax(axis=1)
    hit = masks.reshape(len(masks), -1)[np.arange(len(masks)), peak]
    return hit & (flat.max(axis=1, initial=0.0) > 0)


def relevance_mass(maps, masks):
    """(N,) share of each map's positive relevance that lies inside its mask.

    Arras, Osman, Samek, "CLEVR-XAI", 2022. A map with no positive value scores 0.
    """
    maps, masks = _pair(maps, masks)
    total = maps.sum(axis=(1, 2), dtype="float64")
    inside = np.where(masks, maps, 0.0).sum(axis=(1, 2), dtype="float64")
    return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)


def iou_at_thresholds(maps, masks, thresholds=IOU_THRESHOLDS):
    """(N, T) IoU of each mask with each map thresholded at t x its maximum."""
    maps, masks = _pair(maps, masks)
    peak = maps.max(axis=(1, 2), keepdims=True, initial=0.0)
    scaled = np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)
    ious = np.zeros((len(maps), len(thresholds)))
    for j, threshold in enumerate(thresholds):
        region = (scaled >= threshold) & (peak > 0)
        union = (region | masks).sum(axis=(1, 2))
        inter = (region & masks).sum(axis=(1, 2))
        ious[:, j] = np.divide(inter, union, out=np.zeros(len(maps)), where=union > 0)
    return ious


def best_threshold_iou(maps, masks, thresholds=IOU_THRESHOLDS):
    """Mean IoU at the threshold (one for all maps) that maximises it.

    Returns:
        (mean IoU, threshold as a share of each map's maximum).
    """
    if len(maps) == 0:
        return float("nan"), float("nan")
    means = iou_at_thresholds(maps, masks, thresholds).mean(axis=0)
    best = int(np.argmax(means))
    return float(means[best]), float(thresholds[best])
