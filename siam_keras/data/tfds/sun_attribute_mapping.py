"""From SUN Attributes' 102 attributes to the SIAM paper's 33, explicitly.

Each paper attribute takes the maximum of the SUN attributes it lists (labels stay
in {0, 1/3, 2/3, 1}: the largest share of annotators who saw any of them). 29 of the
33 have a SUN attribute of the same meaning, alone or as a pair (fencing + railing,
ice + snow). Four have none, and are our choices, to be revisited if the authors say
otherwise:

- `road`: `asphalt` + `pavement` (the road surfaces SUN annotates);
- `transport`: `transporting things or people`;
- `temple`: `praying` (SUN has no building-type attribute; worship is the activity);
- `social`: `socializing`.

`sun_attributes/custom` configs take another mapping (`map_labels(..., mapping=...)`).
"""

import numpy as np

#: SUN Attributes' 102 attribute names, in the column order of `attributes.mat`.
SUN_ATTRIBUTES = (
    "sailing/ boating", "driving", "biking", "transporting things or people", "sunbathing",
    "vacationing/ touring", "hiking", "climbing", "camping", "reading", "studying/ learning",
    "teaching/ training", "research", "diving", "swimming", "bathing", "eating", "cleaning",
    "socializing", "congregating", "waiting in line/ queuing", "competing", "sports", "exercise",
    "playing", "gaming", "spectating/ being in an audience", "farming", "constructing/ building",
    "shopping", "medical activity", "working", "using tools", "digging", "conducting business",
    "praying", "fencing", "railing", "wire", "railroad", "trees", "grass", "vegetation",
    "shrubbery", "foliage", "leaves", "flowers", "asphalt", "pavement", "shingles", "carpet",
    "brick", "tiles", "concrete", "metal", "paper", "wood (not part of a tree)", "vinyl/ linoleum",
    "rubber/ plastic", "cloth", "sand", "rock/stone", "dirt/soil", "marble", "glass",
    "waves/ surf", "ocean", "running water", "still water", "ice", "snow", "clouds", "smoke",
    "fire", "natural light", "direct sun/sunny", "electric/indoor lighting", "aged/ worn",
    "glossy", "matte", "sterile", "moist/ damp", "dry", "dirty", "rusty", "warm", "cold",
    "natural", "man-made", "open area", "semi-enclosed area", "enclosed area",
    "far-away horizon", "no horizon", "rugged scene", "mostly vertical components",
    "mostly horizontal components", "symmetrical", "cluttered space", "scary", "soothing",
    "stressful",
)

#: The paper's 33 attributes (`siam_keras.vocabulary.PAPER_ATTRIBUTES` order) -> SUN's.
PAPER_MAPPING = {
    "trees": ("trees",),
    "grass": ("grass",),
    "flowers": ("flowers",),
    "ocean": ("ocean",),
    "running_water": ("running water",),
    "still_water": ("still water",),
    "road": ("asphalt", "pavement"),  # no "road" in SUN: see the module docstring
    "railroad": ("railroad",),
    "fencing_railing": ("fencing", "railing"),
    "wire": ("wire",),
    "transport": ("transporting things or people",),  # ambiguous: see above
    "wood": ("wood (not part of a tree)",),
    "ice_snow": ("ice", "snow"),
    "brick": ("brick",),
    "shingles": ("shingles",),
    "metal": ("metal",),
    "cloth": ("cloth",),
    "sand": ("sand",),
    "rock_stone": ("rock/stone",),
    "glass": ("glass",),
    "aged_worn": ("aged/ worn",),
    "dirty": ("dirty",),
    "rusty": ("rusty",),
    "dry": ("dry",),
    "rugged_scene": ("rugged scene",),
    "cluttered_space": ("cluttered space",),
    "clouds": ("clouds",),
    "horizon": ("far-away horizon",),
    "digging": ("digging",),
    "temple": ("praying",),  # ambiguous: see above
    "farming": ("farming",),
    "hiking": ("hiking",),
    "social": ("socializing",),  # ambiguous: see above
}


def validate_mapping(mapping, sun_names=SUN_ATTRIBUTES):
    """Checks {target: [SUN names]}; raises naming unknown SUN names or empty targets."""
    if not isinstance(mapping, dict) or not mapping:
        raise ValueError(f"A mapping must be a non-empty dict {{attribute: [SUN attributes]}}. "
                         f"Received: {mapping!r}")
    for target, sources in mapping.items():
        if isinstance(sources, str) or not sources:
            raise ValueError(f"{target!r} must map to a list of SUN attributes. Received: "
                             f"{sources!r}")
        unknown = [name for name in sources if name not in sun_names]
        if unknown:
            raise ValueError(f"{target!r} maps to unknown SUN attributes {unknown}. SUN's names "
                             f"are those of attributes.mat, e.g. {list(sun_names[:4])}")
    return {target: tuple(sources) for target, sources in mapping.items()}


def map_labels(labels, sun_names=SUN_ATTRIBUTES, mapping=PAPER_MAPPING):
    """(N, 102) SUN labels -> (N, len(mapping)) labels, each the max of its sources."""
    mapping = validate_mapping(mapping, sun_names)
    labels = np.asarray(labels, dtype="float32")
    if labels.ndim != 2 or labels.shape[1] != len(sun_names):
        raise ValueError(f"Expected (N, {len(sun_names)}) labels. Received: {labels.shape}")
    columns = {name: j for j, name in enumerate(sun_names)}
    return np.stack([labels[:, [columns[s] for s in sources]].max(axis=1)
                     for sources in mapping.values()], axis=1)


def label_agreement(ours, theirs, names):
    """How two (N, K) label sets of the same images agree, per attribute.

    Returns {attribute: {"same_label": share of images with equal labels,
    "pearson_r": correlation (None when one side is constant), "positive_rate":
    [ours, theirs] share of SUN positives (>= 2/3)}}.
    """
    ours, theirs = np.asarray(ours, dtype="float64"), np.asarray(theirs, dtype="float64")
    report = {}
    for k, name in enumerate(names):
        a, b = ours[:, k], theirs[:, k]
        constant = a.std() == 0 or b.std() == 0
        report[name] = {"same_label": float(np.mean(np.isclose(a, b, atol=1e-3))),
                        "pearson_r": None if constant else float(np.corrcoef(a, b)[0, 1]),
                        "positive_rate": [float(np.mean(a >= 0.6)), float(np.mean(b >= 0.6))]}
    return report
