"""Real photographs for the tests, from packages the test extra installs (no network).

scikit-image ships a few public-domain and CC0 photos (an astronaut, a cup of coffee,
a cat, a motorcycle, a rocket launch, a retina, a grey cameraman, grass and brick
textures); Matplotlib ships a portrait of Grace Hopper. `real_photos()` gives their
paths, in a fixed order, without importing either package.
"""

import importlib.util
from pathlib import Path

SKIMAGE = ("astronaut.png", "coffee.png", "chelsea.png", "motorcycle_left.png", "rocket.jpg",
           "retina.jpg", "camera.png", "grass.png", "brick.png", "hubble_deep_field.jpg")


def _package_folder(name):
    spec = importlib.util.find_spec(name)
    return Path(spec.submodule_search_locations[0])


def real_photos():
    """Paths of real photographs (JPEG and PNG, colour and grey, 300 to 1200 px)."""
    data = _package_folder("skimage") / "data"
    paths = [data / name for name in SKIMAGE]
    paths.append(_package_folder("matplotlib") / "mpl-data" / "sample_data" / "grace_hopper.jpg")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"Real test photos missing (pip install -e '.[test]'): {missing}")
    return paths
