"""The web page (`siam-export --web`) beside `siam-edge`: time per photo, pixels, size.

On the same photos, alternating photo by photo in one run:
- the page in headless Chromium (LiteRT.js, wasm, one thread): the photo decoded and
  resized, the model, the explanation (decomposition), the drawing, and the total;
- the Python edge runtime (`EdgeExplainer`, 2 threads, what `siam-edge explain` runs
  per photo): decode at the model's scale and resize, then model and explanation.
Also: how far the page's model input is from siam_keras' (`read_photo` +
`resize_for_model`) on each photo, what that does to the output, the page's size, and
a screenshot of the page at a phone's size (`--screenshot`).

The photos: `--photos` JPEGs of 640 x 480 made from the suite's real photos
(benchmarks.scoring.photo_folder), and one 12 MP camera-sized JPEG.

Usage: python -m benchmarks.web_page [--export runs/demo/export] [--photos 12]
       [--screenshot docs/web_page.png]
Needs Chromium (`make test` installs Debian's) and an export written with --web.
"""

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.scoring import photo_folder


def camera_photo(folder):
    """A 4000 x 3000 JPEG (12 MP, a phone camera's size) from a real photo."""
    from PIL import Image

    from tests.real_photos import real_photos

    path = Path(folder) / "camera_12mp.jpg"
    with Image.open(real_photos()[0]) as photo:
        photo.convert("RGB").resize((4000, 3000), Image.BICUBIC).save(path, quality=90)
    return path


def save_side_by_side(pngs, path, gap=16):
    """Saves PNG screenshots (bytes) side by side on white."""
    import io

    from PIL import Image

    shots = [Image.open(io.BytesIO(png)).convert("RGB") for png in pngs]
    width = sum(shot.width for shot in shots) + gap * (len(shots) - 1)
    canvas = Image.new("RGB", (width, max(shot.height for shot in shots)), "white")
    left = 0
    for shot in shots:
        canvas.paste(shot, (left, 0))
        left += shot.width + gap
    canvas.save(path, optimize=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--export", default="runs/demo/export", help="an export with web/")
    parser.add_argument("--photos", type=int, default=12, help="640 x 480 photos (default 12)")
    parser.add_argument("--screenshot", default=None, help="save the phone screenshot here")
    args = parser.parse_args(argv)

    from export.web_page import folder_size
    from siam_keras.edge import EdgeExplainer
    from siam_keras.runtime.images import read_photo, resize_for_model
    from tests.web_browser import browser, explain_file, open_page, served

    web = Path(args.export) / "web"
    page_json = json.loads((web / "page.json").read_text())
    explainer = EdgeExplainer(web.parent / "tflite" / page_json["model"])
    height, width = explainer.image_size
    total, fetched = folder_size(web)
    print(f"Page {web}: {total / 1e6:.1f} MB on disk, {fetched / 1e6:.1f} MB fetched by a browser "
          f"to explain a photo ({page_json['variant']} model, LiteRT.js {page_json['litertjs']})")

    def python_edge(path):
        import time

        start = time.perf_counter()
        pixels = resize_for_model(read_photo(path, target_size=(height, width)), height, width)
        decoded = time.perf_counter()
        explanation = explainer(pixels)
        done = time.perf_counter()
        return pixels, explanation, {"decode": decoded - start, "model+explanation": done - decoded,
                                     "total": done - start}

    with tempfile.TemporaryDirectory() as folder:
        photos = photo_folder(Path(folder) / "photos", args.photos) + [camera_photo(folder)]
        rows = []
        with served(web) as url, browser() as chromium:
            page = open_page(chromium, url + "index.html")
            explain_file(page, photos[0])  # warm-up: compiles the model's kernels
            python_edge(photos[0])
            for path in photos:
                shown = explain_file(page, path)
                pixels, explanation, python_time = python_edge(path)
                page_pixels = np.reshape(shown["pixels"], pixels.shape).astype(float)
                difference = np.abs(page_pixels - pixels)
                output = explainer.output_names[0]
                rows.append({"photo": path.name, "page": shown["timing"],
                             "python": {k: 1000 * v for k, v in python_time.items()},
                             "pixel_mean": difference.mean(), "pixel_max": difference.max(),
                             "output_difference": abs(shown["value"] - float(
                                 explainer.predict(pixels)[output][0]))})
            if args.screenshot:
                page.close()
                page = open_page(chromium, url + "index.html")
                from siam_keras.data import SyntheticScenes

                scene = Path(folder) / "scene.png"
                from PIL import Image

                Image.fromarray(SyntheticScenes(image_size=height).generate("test", 4)["image"][3]).save(scene)
                explain_file(page, scene)
                page.locator('#sliders input[data-attribute="road"]').fill("0")
                page.evaluate("window.scrollTo(0, 0)")
                top = page.screenshot()
                page.locator("#what-if-panel").scroll_into_view_if_needed()
                save_side_by_side([top, page.screenshot()], args.screenshot)
                print(f"Screenshot: {args.screenshot} (a 390 x 844 phone screen: the top of the "
                      "page, and the what-if sliders with road removed)")

    def median(key, part):
        return float(np.median([row[key][part] for row in rows]))

    print(f"\nTime to explain one photo (ms, medians over {len(rows)} photos: {args.photos} of "
          "640 x 480 and one of 4000 x 3000)")
    print(f"{'runtime':<34}{'photo':>8}{'model+expl.':>13}{'drawing':>9}{'total':>8}")
    print(f"{'web page (Chromium, LiteRT.js)':<34}{median('page', 'decode'):>8.1f}"
          f"{median('page', 'model') + median('page', 'explanation'):>13.1f}"
          f"{median('page', 'drawing'):>9.1f}{median('page', 'total'):>8.1f}")
    print(f"{'siam-edge (Python, LiteRT)':<34}{median('python', 'decode'):>8.1f}"
          f"{median('python', 'model+explanation'):>13.1f}{'-':>9}{median('python', 'total'):>8.1f}")
    camera = rows[-1]
    print(f"12 MP photo alone: page {camera['page']['total']:.0f} ms (photo "
          f"{camera['page']['decode']:.0f}), siam-edge {camera['python']['total']:.0f} ms (photo "
          f"{camera['python']['decode']:.0f})")
    print("\nThe page's model input against siam_keras' (read_photo + resize_for_model), 0-255:")
    print(f"  mean |difference| {np.mean([r['pixel_mean'] for r in rows]):.3f} (largest per photo "
          f"{max(r['pixel_mean'] for r in rows):.3f}), largest {max(r['pixel_max'] for r in rows):.0f}")
    print(f"  {explainer.output_names[0]}: largest |page - Python| "
          f"{max(r['output_difference'] for r in rows):.4f}")


if __name__ == "__main__":
    main()
