"""`synthetic_scenes`: landscape-like images whose scores follow a known SIAM rule.

Every image comes with per-pixel concept masks, attribute labels, and two outputs
computed in SIAM's own form from the true masks M_k:

    output = bias + sum_k w_k <T_k, pool(M_k)> + noise

with known weights w_k (some exactly zero: concepts that appear but do not
matter) and known location-dependent templates T_k (water counts more low in the
frame, mountains more high up). So an explanation can be checked against the
truth: which concepts matter, where, and by how much.

A classification output, `landscape` (coast, forest, town or highlands), can be
asked for too. It is decided in SIAM's form as well: each class has its own
weights and templates over the concepts,

    logit_c = bias_c + sum_k w_kc <T_kc, pool(M_k)>,    landscape = argmax_c (logit_c + noise)

so the true contributions to each class are known, and why an image is a coast
rather than a town is the difference of two known contribution vectors.
"""

import numpy as np

from siam_keras import vocabulary
from siam_keras.data import scene_rendering as scenes
from siam_keras.data.scene_rendering import CONCEPTS
from siam_keras.runtime.adaptive_pooling import adaptive_average_pool
from siam_keras.runtime.argument_validation import positive_int
from siam_keras.runtime.output_kinds import Classification, MultiLabel, classes_of, kinds_by_output
from siam_keras.vocabulary import SPLITS

#: `SyntheticScenes`' defaults, which training's `[data.synthetic_scenes]` and the TFDS
#: builder's configs share: the true templates' side, the noise, and the demo's split sizes.
DEFAULT_TEMPLATE_SIZE = 8
DEFAULT_NOISE = 0.1
DEFAULT_SPLIT_SIZES = {"train": 4000, "validation": 500, "test": 1000}
#: The smallest image side `SyntheticScenes` draws.
MIN_IMAGE_SIZE = 16

# How much each concept adds to each output per unit of (template-weighted) coverage.
# Zero weights are deliberate: sky and clouds appear in most images but never matter.
TRUE_WEIGHTS = {
    vocabulary.SCENICNESS: {
        "sky": 0.0, "clouds": 0.0, "water": 6.0, "trees": 8.0, "grass": 2.5,
        "road": -6.0, "buildings": -8.0, "rock": 5.0,
    },
    vocabulary.SCENICNESS_VARIANCE: {
        "sky": 0.0, "clouds": 1.0, "water": 0.0, "trees": 0.0, "grass": 0.0,
        "road": 2.0, "buildings": 3.0, "rock": 1.5,
    },
}
TRUE_BIASES = {vocabulary.SCENICNESS: 5.0, vocabulary.SCENICNESS_VARIANCE: 1.0}

#: The classification output and its classes' rule: weights per unit of coverage (the
#: concepts not named weigh 0), template profiles (others "flat") and biases (chosen so
#: that the four classes are about equally frequent).
LANDSCAPE = "landscape"
LANDSCAPE_CLASSES = ("coast", "forest", "town", "highlands")
LANDSCAPE_WEIGHTS = {
    "coast": {"water": 20.0, "rock": 8.0, "buildings": -10.0},
    "forest": {"trees": 40.0, "grass": 6.0, "road": -10.0},
    "town": {"buildings": 40.0, "road": 25.0, "trees": -5.0},
    "highlands": {"rock": 40.0, "grass": 8.0, "clouds": 10.0},
}
LANDSCAPE_PROFILES = {"coast": {"water": "low"}, "town": {"road": "low"},
                      "highlands": {"rock": "high", "clouds": "high"}}
LANDSCAPE_BIASES = {"coast": 0.3, "forest": 0.5, "town": -0.55, "highlands": -0.25}
#: The multi-label output and its tags' rule, in the same form: a tag is present when
#: bias_t + sum_k w_kt <T_kt, pool(M_k)> plus logistic noise is above 0 (biases chosen so
#: that each tag is on about 40% of the images).
TAGS = "tags"
TAG_NAMES = ("waterside", "wooded", "built_up", "rocky")
TAG_WEIGHTS = {
    "waterside": {"water": 30.0, "grass": 6.0, "buildings": -10.0},
    "wooded": {"trees": 60.0, "grass": 8.0, "road": -10.0},
    "built_up": {"buildings": 30.0, "road": 20.0, "trees": -6.0},
    "rocky": {"rock": 40.0, "clouds": 8.0, "grass": -6.0},
}
TAG_PROFILES = {"waterside": {"water": "low"}, "built_up": {"road": "low"},
                "rocky": {"rock": "high", "clouds": "high"}}
TAG_BIASES = {"waterside": -4.0, "wooded": -3.2, "built_up": -2.65, "rocky": -1.2}
#: {labelled output: (its kind, weights, profiles, biases) per label}.
LABELLED_RULES = {
    LANDSCAPE: (Classification(LANDSCAPE_CLASSES), LANDSCAPE_WEIGHTS, LANDSCAPE_PROFILES,
                LANDSCAPE_BIASES),
    TAGS: (MultiLabel(TAG_NAMES), TAG_WEIGHTS, TAG_PROFILES, TAG_BIASES),
}
#: The outputs `SyntheticScenes` can generate (the paper's two by default).
OUTPUTS = (*vocabulary.PAPER_OUTPUTS, *LABELLED_RULES)
# Vertical profile of each concept's template: "low" grows towards the bottom of
# the frame, "high" towards the top, "flat" is uniform. All are left-right
# symmetric, so horizontal flips keep labels valid.
TEMPLATE_PROFILES = {
    "sky": "flat", "clouds": "high", "water": "low", "trees": "flat", "grass": "flat",
    "road": "low", "buildings": "flat", "rock": "high",
}
# Attribute labels grade coverage like SUN's three-annotator votes.
LABEL_THRESHOLDS = (0.0, 0.02, 0.08)


def true_templates(template_size, profiles=None):
    """(S, S, K) non-negative templates; each averages to 1 / S^2 per cell.

    `profiles` maps concepts to "flat", "low" or "high" (default: `TEMPLATE_PROFILES`).
    """
    profiles = TEMPLATE_PROFILES if profiles is None else profiles
    rows = (np.arange(template_size, dtype="float32") + 0.5) / template_size
    shapes = {"flat": np.ones_like(rows), "low": 0.25 + 1.5 * rows, "high": 1.75 - 1.5 * rows}
    templates = np.zeros((template_size, template_size, len(CONCEPTS)), dtype="float32")
    for k, concept in enumerate(CONCEPTS):
        profile = shapes[profiles.get(concept, "flat")]
        profile = profile / profile.mean()
        templates[:, :, k] = profile[:, None] / template_size**2
    return templates


def attribute_labels(coverage):
    """Coverage fractions (N, K) -> labels in {0, 1/3, 2/3, 1}."""
    levels = np.zeros_like(coverage, dtype="float32")
    for threshold in LABEL_THRESHOLDS:
        levels += (coverage > threshold).astype("float32")
    return levels / len(LABEL_THRESHOLDS)


#: `SyntheticScenes` arguments by their names in a training config's
#: `[data.synthetic_scenes]` table.
CONFIG_KEYS = {"seed": "seed", "noise": "noise", "truth_template_size": "template_size",
               "outputs": "outputs"}


def scene_settings(table):
    """`SyntheticScenes` arguments from a config table (a dict; keys of `CONFIG_KEYS`)."""
    settings = {argument: table[key] for key, argument in CONFIG_KEYS.items() if key in table}
    if "outputs" in settings:
        settings["outputs"] = tuple(settings["outputs"])
    return settings


class SyntheticScenes:
    """Generator of the `synthetic_scenes` dataset.

    Images are deterministic by (seed, split, index): the first 100 test images
    are the same whether 100 or 10,000 are asked for.

    Args:
        image_size: side of the square images, in pixels.
        template_size: S of the true templates; the masks are pooled to S x S.
        noise: standard deviation of the Gaussian noise added to `scenicness`
            (and a quarter of it to `scenicness_variance`); the scale of the
            Gumbel noise added to the `landscape` logits.
        seed: dataset seed.
        outputs: the outputs to generate, from `OUTPUTS` (default: the paper's two;
            adding `landscape` leaves the images and the other outputs unchanged).

    Example:
    >>> scenes = SyntheticScenes(image_size=64, template_size=8)
    >>> batch = scenes.generate("test", 4)
    >>> batch["image"].shape, batch["attributes"].shape
    ((4, 64, 64, 3), (4, 8))
    """

    attribute_names = CONCEPTS

    def __init__(self, image_size=64, template_size=DEFAULT_TEMPLATE_SIZE, noise=DEFAULT_NOISE,
                 seed=0, outputs=vocabulary.PAPER_OUTPUTS):
        image_size = positive_int("image_size", image_size, minimum=MIN_IMAGE_SIZE)
        template_size = positive_int("template_size", template_size)
        if not isinstance(noise, (int, float)) or noise < 0:
            raise ValueError(f"`noise` must be a number >= 0. Received: {noise!r}")
        outputs = (outputs,) if isinstance(outputs, str) else tuple(outputs)
        if not outputs or not set(outputs) <= set(OUTPUTS) or len(set(outputs)) != len(outputs):
            raise ValueError(f"`outputs` must be unique names among {list(OUTPUTS)}. "
                             f"Received: outputs={list(outputs)}")
        self.image_size = image_size
        self.template_size = template_size
        self.noise = float(noise)
        self.seed = int(seed)
        self.output_names = outputs
        self.output_kinds = kinds_by_output(
            outputs, {name: rule[0] for name, rule in LABELLED_RULES.items() if name in outputs})
        self.output_classes = classes_of(self.output_kinds)
        # Regression outputs: (S, S, K) templates, (K,) weights, a bias. A labelled
        # output (`landscape`, `tags`): (S, S, K, C), (K, C) and (C,).
        self.templates, self.weights, self.biases = {}, {}, {}
        for name in outputs:
            if name in LABELLED_RULES:
                kind, weights, profiles, biases = LABELLED_RULES[name]
                self.templates[name] = np.stack(
                    [true_templates(template_size, profiles.get(c, {})) for c in kind.labels],
                    axis=-1)
                self.weights[name] = np.array(
                    [[weights[c].get(k, 0.0) for c in kind.labels] for k in CONCEPTS],
                    dtype="float32")
                self.biases[name] = np.array([biases[c] for c in kind.labels], dtype="float32")
            else:
                self.templates[name] = true_templates(template_size)
                self.weights[name] = np.array([TRUE_WEIGHTS[name][c] for c in CONCEPTS],
                                              dtype="float32")
                self.biases[name] = TRUE_BIASES[name]

    def _rng(self, split, index):
        if split not in SPLITS:
            raise ValueError(f"Unknown split {split!r}. Choose one of: {', '.join(SPLITS)}")
        return np.random.default_rng([self.seed, SPLITS.index(split), index])

    def masks(self, label_maps):
        """(N, H, W) label maps -> (N, H, W, K) float32 concept masks."""
        label_maps = np.asarray(label_maps)
        return (label_maps[..., None] == np.arange(len(CONCEPTS))).astype("float32")

    def pooled_masks(self, label_maps, chunk=256):
        """(N, H, W) label maps -> (N, S, S, K) concept coverage of each template cell."""
        label_maps = np.asarray(label_maps)
        return np.concatenate(
            [
                adaptive_average_pool(self.masks(label_maps[i : i + chunk]), self.template_size)
                for i in range(0, max(len(label_maps), 1), chunk)
            ]
        )[: len(label_maps)]

    def true_contributions(self, label_maps):
        """Per output, the noise-free (N, K) contributions w_k <T_k, pool(M_k)> ((N, K, C)
        for a labelled output)."""
        pooled = self.pooled_masks(label_maps)
        return {
            name: np.einsum("nstk,stk...->nk...", pooled, self.templates[name]) * self.weights[name]
            for name in self.output_names
        }

    def generate(self, split, num_images, start=0):
        """Generates images [start, start + num_images) of a split.

        Returns:
            A dict of NumPy arrays: `image` (N, S, S, 3) uint8, `label_map` (N, S, S)
            uint8 (concept ids; `len(attribute_names)` is bare ground),
            `attributes` (N, K) in {0, 1/3, 2/3, 1}, each output (N,) float32, and
            each `<output>_contributions` (N, K), the true noise-free contributions.
            `landscape` is an int32 class index (N,) into `output_classes["landscape"]`,
            its contributions (N, K, C); `tags` (N, T) float32 0/1, contributions (N, K, T).
        """
        num_images = positive_int("num_images", num_images, minimum=0)
        size = self.image_size
        images = np.zeros((num_images, size, size, 3), dtype=np.uint8)
        label_maps = np.zeros((num_images, size, size), dtype=np.uint8)
        noise = np.zeros((num_images, 2), dtype="float32")
        for i in range(num_images):
            rng = self._rng(split, start + i)
            label_maps[i] = scenes.draw_layout(rng, size)
            images[i] = scenes.render(rng, label_maps[i])
            noise[i] = rng.normal(0.0, 1.0, 2)
        counts = [np.bincount(m.ravel(), minlength=len(CONCEPTS) + 1) for m in label_maps]
        coverage = np.asarray(counts, dtype="float32").reshape(num_images, -1)[:, : len(CONCEPTS)]
        coverage /= size * size
        batch = {"image": images, "label_map": label_maps, "attributes": attribute_labels(coverage)}
        contributions = self.true_contributions(label_maps)
        scales = {vocabulary.SCENICNESS: self.noise, vocabulary.SCENICNESS_VARIANCE: self.noise / 4}
        for name in self.output_names:
            if name in LABELLED_RULES:
                labels = self._landscape if name == LANDSCAPE else self._tags
                batch[name] = labels(split, start, contributions[name])
                batch[vocabulary.contributions_key(name)] = contributions[name].astype("float32")
                continue
            j = vocabulary.PAPER_OUTPUTS.index(name)
            value = self.biases[name] + contributions[name].sum(axis=1) + scales[name] * noise[:, j]
            if name == vocabulary.SCENICNESS_VARIANCE:
                value = np.maximum(value, 0.0)
            batch[name] = value.astype("float32")
            batch[vocabulary.contributions_key(name)] = contributions[name].astype("float32")
        return batch

    def _labelled_noise(self, name, split, start, contributions, stream, draw):
        """Output `name`'s true logits (N, C) plus `noise` times a draw from each image's
        stream of its own (`stream`), so that the images and the other outputs do not
        change with it; `draw(rng, size)` is the distribution."""
        logits = self.biases[name] + contributions.sum(axis=1)
        split_index = SPLITS.index(split)
        noise = np.stack([draw(np.random.default_rng([self.seed, split_index, start + i, stream]),
                               logits.shape[1]) for i in range(len(logits))])
        return logits + self.noise * noise.reshape(logits.shape)

    def _landscape(self, split, start, contributions):
        """(N,) int32 classes: the argmax of the true logits plus Gumbel noise."""
        noisy = self._labelled_noise(LANDSCAPE, split, start, contributions, 1,
                                     lambda rng, size: rng.gumbel(size=size))
        return np.argmax(noisy, axis=1).astype("int32")

    def _tags(self, split, start, contributions):
        """(N, T) float32 0/1: a tag is present where its true logit plus logistic noise
        is above 0."""
        noisy = self._labelled_noise(TAGS, split, start, contributions, 2,
                                     lambda rng, size: rng.logistic(size=size))
        return (noisy > 0).astype("float32")
