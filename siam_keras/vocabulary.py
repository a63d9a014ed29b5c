"""The one vocabulary used from layer outputs to signatures, JSON files and plots.

A SIAM model returns a flat dict of tensors. Its keys are built here and nowhere else:
- `attribute_maps` (B, H, W, K): where each attribute is ("where").
- `attribute_scores` (B, K): the spatial mean of each map ("what").
- `<output>` (B,): each named output, e.g. `scenicness`; (B, C) logits for a
  classification output with C classes.
- `<output>_contributions` (B, K): what each attribute adds to that output ("how");
  the output equals their sum plus the output's bias. (B, K, C) for a classification
  output: summed over K, they are the logits minus the per-class biases.

Explanations (`siam_keras.explanations`) add, per output:
- `contributions` (B, K): the same numbers, keyed by output in JSON files;
- `attribute_relevance` (B, H, W, K): where each attribute matters for the output;
- `spatial_contributions` (B, H, W): where the output comes from (sum over attributes);
and per image `out_of_distribution`: its distance from the training photos, and whether
it is unlike them.
"""

ATTRIBUTE_MAPS = "attribute_maps"
ATTRIBUTE_SCORES = "attribute_scores"
CONTRIBUTIONS = "contributions"
CONTRIBUTIONS_SUFFIX = f"_{CONTRIBUTIONS}"
ATTRIBUTE_RELEVANCE = "attribute_relevance"
SPATIAL_CONTRIBUTIONS = "spatial_contributions"
#: Each explained photo's distance from the training photos and whether it is unlike them.
OUT_OF_DISTRIBUTION = "out_of_distribution"

#: The outputs of the paper (ScenicOrNot), used by the presets and `synthetic_scenes`.
SCENICNESS = "scenicness"
SCENICNESS_VARIANCE = "scenicness_variance"
PAPER_OUTPUTS = (SCENICNESS, SCENICNESS_VARIANCE)

#: The 33 attributes of the SIAM paper's ScenicOrNot model, in the authors' order. How
#: each maps onto SUN Attributes' 102 lives with the SUN dataset code.
PAPER_ATTRIBUTES = (
    "trees", "grass", "flowers", "ocean", "running_water", "still_water", "road",
    "railroad", "fencing_railing", "wire", "transport", "wood", "ice_snow", "brick",
    "shingles", "metal", "cloth", "sand", "rock_stone", "glass", "aged_worn", "dirty",
    "rusty", "dry", "rugged_scene", "cluttered_space", "clouds", "horizon", "digging",
    "temple", "farming", "hiking", "social",
)

RESERVED_NAMES = (ATTRIBUTE_MAPS, ATTRIBUTE_SCORES, OUT_OF_DISTRIBUTION)

#: Exported models' signatures and their inputs: raw pixels, and encoded JPEG/PNG bytes
#: (SavedModel only; the TFLite models have the pixel signature).
PIXELS_SIGNATURE, PIXELS_INPUT = "serving_default", "image"
BYTES_SIGNATURE, BYTES_INPUT = "serve_image_bytes", "image_bytes"
#: The splits of every dataset (synthetic, TFDS, manifest), as configs, metrics.json and
#: the commands' `--split` name them.
SPLITS = ("train", "validation", "test")


def contributions_key(output_name):
    """The key of an output's per-attribute contributions, e.g. `scenicness_contributions`."""
    return f"{output_name}{CONTRIBUTIONS_SUFFIX}"


def named_outputs(keys):
    """The named outputs among a model's output keys (neither maps, scores nor contributions)."""
    return tuple(key for key in keys
                 if key not in RESERVED_NAMES and not key.endswith(CONTRIBUTIONS_SUFFIX))


def validate_output_names(output_names):
    """Checks output names and returns them as a tuple of strings.

    Names must be non-empty identifiers, unique, and must not collide with the
    reserved keys (`attribute_maps`, `attribute_scores`, `out_of_distribution`) or with each other's
    contribution keys.
    """
    if isinstance(output_names, str):
        output_names = (output_names,)
    names = tuple(output_names)
    if not names:
        raise ValueError(
            "At least one output name is required. Received: output_names=()"
        )
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                "Output names must be Python identifiers such as 'scenicness'. "
                f"Received: {name!r}"
            )
    taken = set(RESERVED_NAMES) | {contributions_key(n) for n in names}
    for name in names:
        if name in taken:
            raise ValueError(
                f"Output name {name!r} collides with a reserved key. Reserved: "
                f"{sorted(taken)}"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"Output names must be unique. Received: {list(names)}")
    return names
