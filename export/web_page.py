"""`EXPORT_DIR/web/`: a static page that explains photos in the browser with LiteRT.js.

The page (HTML, CSS and ES modules in `export/web/`) is copied with LiteRT.js' files
(from the npm package `@litertjs/core`, installed by `make web`), one TFLite
variant, its sidecar, its test vectors and `page.json` (which model to load, the
explanation check's tolerance and the figures' colours, from the same code as
`siam explain`'s). Nothing is fetched from elsewhere: any static file server serves it.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

from siam_keras.edge import test_vectors as vectors
from siam_keras.runtime.atomic import replace_folder, write_json
from siam_keras.runtime.output_paths import written_by_siam_keras

WEB = "web"
PAGE_SOURCE = Path(__file__).with_name("web")
PAGE_FILES = ("index.html", "page.css", "app.js", "view.js", "siam.js", "kinds.js", "pixels.js",
              "resize.js", "draw.js")
#: Where `make web` installs LiteRT.js; SIAM_LITERTJS or --litertjs name another folder.
LITERTJS_ENV = "SIAM_LITERTJS"
DEFAULT_LITERTJS = PAGE_SOURCE / "node_modules" / "@litertjs"
#: The files of LiteRT.js the page loads: the module, its helper, and the two CPU builds
#: (relaxed SIMD, and "compat" for browsers without it, e.g. Safari); a browser fetches
#: one of the two.
LITERTJS_FILES = {
    "core/package.json": None,  # its version goes into page.json and NOTICE.txt
    "core/dist/index.js": "core/index.js",
    "wasm-utils/dist/index.js": "wasm-utils/index.js",
    "core/wasm/litert_wasm_internal.js": "litert_wasm_internal.js",
    "core/wasm/litert_wasm_internal.wasm": "litert_wasm_internal.wasm",
    "core/wasm/litert_wasm_compat_internal.js": "litert_wasm_compat_internal.js",
    "core/wasm/litert_wasm_compat_internal.wasm": "litert_wasm_compat_internal.wasm",
}
#: The variant the page runs unless told otherwise, in order of preference: the
#: smallest and fastest on a phone.
PREFERRED_VARIANTS = ("int8", "dynamic", "float16", "float32")


def litertjs_folder(folder=None):
    """The `node_modules/@litertjs` folder to copy LiteRT.js from; checked now, so that
    the export refuses before its long work.

    Raises:
        FileNotFoundError: a file the page needs is missing, with how to install it.
    """
    folder = Path(folder or os.environ.get(LITERTJS_ENV) or DEFAULT_LITERTJS)
    missing = [name for name in LITERTJS_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"The web page needs LiteRT.js, and {folder} lacks {', '.join(missing[:2])}"
            f"{' and more' if len(missing) > 2 else ''}. Install it with `make web` (npm ci in "
            f"export/web; npm works offline from its cache), or pass --litertjs "
            "path/to/node_modules/@litertjs. Or leave --web out.")
    return folder


def web_variant(requested, variants):
    """The variant the page runs: `requested`, else the first of PREFERRED_VARIANTS exported."""
    if requested:
        if requested not in variants:
            raise ValueError(f"--web-variant {requested} is not among the exported variants "
                             f"({', '.join(variants)}). Export it too (--tflite), or choose one "
                             "of those.")
        return requested
    return next(v for v in PREFERRED_VARIANTS if v in variants)


def page_style():
    """The figures' colours as the page draws them: the same tables as siam explain's."""
    from siam_keras.plotting import figure_pixels
    from siam_keras.runtime import colours

    def table(name):
        return [[round(float(c), 3) for c in row] for row in figure_pixels.colour_table(name)]

    return {"diverging": table(figure_pixels.DIVERGING), "maps": table(figure_pixels.MAPS),
            "positive": list(colours.POSITIVE), "negative": list(colours.NEGATIVE),
            "none": list(colours.NONE), "negligible": colours.NEGLIGIBLE,
            "map_opacity": figure_pixels.MAP_OPACITY,
            "overlay_opacity": figure_pixels.OVERLAY_OPACITY}


#: The file every page siam-export writes holds: a web/ without it is not ours.
PAGE_SETTINGS = "page.json"


def is_web_page(folder):
    """Whether `folder` is a page siam-export wrote (a real folder holding page.json)."""
    return written_by_siam_keras(folder, PAGE_SETTINGS)


def check_web_output(out, overwrite, web=True):
    """Refuses, before any work, to replace an earlier export's web/ unless `overwrite`
    (also when no page is asked for: the earlier one, of another model, is then
    removed), and to replace or remove a web/ siam-export did not write in any case."""
    folder = Path(out) / WEB
    if not (folder.exists() or folder.is_symlink()):
        return
    if not is_web_page(folder):
        if web:
            raise FileExistsError(f"{folder} exists and is not a page siam-export wrote (no "
                                  f"{PAGE_SETTINGS}): it is left alone. Move it, or choose "
                                  "another --out.")
        return  # left as it is (run() says so)
    if not overwrite:
        raise FileExistsError(f"{folder} holds an earlier export's page. Pass --overwrite to "
                              f"{'replace' if web else 'remove'} it, or choose another --out.")


def write_web_page(out, tflite_folder, variant, sidecar, litertjs, tolerance, max_pixels):
    """Writes `out/web/` (replacing an earlier one: `check_web_output` first) and returns it.

    Args:
        tflite_folder: the export's `tflite/` (models, sidecar and test vectors).
        variant: the TFLite variant the page runs.
        sidecar: the `ModelSidecar` written there.
        litertjs: `litertjs_folder()`'s result.
        tolerance: the relative residual the page accepts when it checks an explanation.
        max_pixels: the page refuses larger photos from their header, before decoding.
    """
    staging = Path(tempfile.mkdtemp(prefix=f".{WEB}-", dir=out))
    try:
        for name in PAGE_FILES:
            shutil.copyfile(PAGE_SOURCE / name, staging / name)
        for source, target in LITERTJS_FILES.items():
            if target:
                (staging / "litert" / target).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(litertjs / source, staging / "litert" / target)
        version = json.loads((litertjs / "core" / "package.json").read_text())["version"]
        (staging / "litert" / "NOTICE.txt").write_text(
            f"LiteRT.js (@litertjs/core {version}), Apache License 2.0, "
            "https://github.com/google-ai-edge/LiteRT\n", encoding="utf-8")
        model = sidecar.variants[variant]["file"]
        shutil.copyfile(tflite_folder / model, staging / model)
        shutil.copyfile(tflite_folder / "siam_model.json", staging / "siam_model.json")
        shutil.copytree(tflite_folder / vectors.FOLDER, staging / vectors.FOLDER)
        write_json(staging / PAGE_SETTINGS, {
            "model": model, "variant": variant, "sidecar": "siam_model.json",
            "test_vectors": f"{vectors.FOLDER}/{vectors.FILE}", "tolerance": tolerance,
            "max_pixels": max_pixels, "litertjs": version, "style": page_style()}, indent=None)
        final = Path(out) / WEB
        replace_folder(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def folder_size(folder):
    """(bytes on disk, bytes a browser fetches to explain a photo: all but the LiteRT.js
    build it does not use and the test vectors, which only ?check loads)."""
    folder = Path(folder)
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    unused = [folder / "litert" / f"litert_wasm_compat_internal.{suffix}" for suffix in ("js", "wasm")]
    unused += [p for p in (folder / vectors.FOLDER).rglob("*") if p.is_file()]
    return total, total - sum(p.stat().st_size for p in unused if p.is_file())
