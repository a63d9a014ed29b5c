"""`ExportConfig`: what an export does, typed and checked once (no TensorFlow needed)."""

import dataclasses

from export.variants import VARIANTS, parse_variants
from siam_keras.edge.test_vectors import DEFAULT_COUNT as DEFAULT_TEST_VECTORS
from siam_keras.runtime.argument_validation import positive_ints
from siam_keras.runtime.images import DEFAULT_MAX_PIXELS

DEFAULT_CALIBRATION_IMAGES = 256
DEFAULT_HOLDOUT_IMAGES = 200
DEFAULT_LATENCY_RUNS = 1000


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    """An export of a SIAM model (`siam-export`'s flags, one field each).

    Attributes:
        model: the `.keras` file.
        out: the export folder.
        version: the SavedModel version (None: one more than the latest).
        variants: TFLite variants, names of `export.variants.VARIANTS` (a tuple, or a
            comma-separated string).
        calibration, holdout: a folder of images, or "synthetic_scenes".
        calibration_images, holdout_images: how many of each.
        latency_runs: timed rounds of batch-1 calls.
        seed: the synthetic_scenes seed.
        max_pixels: `serve_image_bytes` refuses larger images before decoding.
        overwrite: replace a SavedModel version and an earlier export's TFLite files.
        test_vectors: how many held-out images the test vectors hold.
        web: write `web/`, the static page that explains photos in a browser.
        web_variant: the TFLite variant the page runs (None: int8 if exported, else
            the smallest exported).
        litertjs: the `node_modules/@litertjs` folder to copy LiteRT.js from (None:
            `SIAM_LITERTJS`, else where `make web` installs it).
    """

    model: str
    out: str
    version: int | None = None
    variants: tuple = VARIANTS
    calibration: str = "synthetic_scenes"
    calibration_images: int = DEFAULT_CALIBRATION_IMAGES
    holdout: str = "synthetic_scenes"
    holdout_images: int = DEFAULT_HOLDOUT_IMAGES
    latency_runs: int = DEFAULT_LATENCY_RUNS
    seed: int = 0
    max_pixels: int = DEFAULT_MAX_PIXELS
    overwrite: bool = False
    test_vectors: int = DEFAULT_TEST_VECTORS
    web: bool = False
    web_variant: str | None = None
    litertjs: str | None = None

    def __post_init__(self):
        variants = self.variants
        text = variants if isinstance(variants, str) else ",".join(map(str, variants))
        object.__setattr__(self, "variants", parse_variants(text))
        if not self.web and (self.web_variant or self.litertjs):
            raise ValueError("--web-variant and --litertjs describe the web page: add --web")
        positive_ints(**{f"--{name.replace('_', '-')}": getattr(self, name)
                         for name in ("calibration_images", "holdout_images", "latency_runs",
                                      "max_pixels", "test_vectors")})
