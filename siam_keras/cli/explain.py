"""`siam explain`: a figure and a JSON file explaining each image's prediction."""

import os
import sys
from pathlib import Path

import numpy as np

from siam_keras.images import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES
from siam_keras.jsonio import write_json

#: Exit status when some images could not be explained (the others were).
SOME_FAILED = 1


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "explain",
        help="explain a SIAM model's predictions on images (figure + JSON per image)",
        description=(
            "Explain a SIAM model's prediction on each image: what it sees (attribute scores), "
            "where (attribute maps), and how much each attribute adds or takes away "
            "(contributions, which sum exactly to the prediction minus the bias). Writes "
            "<name>.png (the figure) and <name>.json (every number, with the attribute maps "
            "on the feature grid) per image into --out, and summary.json. Folders are searched "
            f"recursively for {', '.join(IMAGE_SUFFIXES)} files. An image that cannot be read "
            "is reported by name and skipped; the exit status is then 1."
        ),
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER",
                        help="image files (JPEG, PNG, WebP, any size and mode) or folders")
    parser.add_argument("--model", required=True, help="a SIAM model saved as .keras")
    parser.add_argument("--out", required=True, help="folder for the figures and JSON files")
    parser.add_argument("--top-k", type=int, default=8,
                        help="attribute maps shown and ranked per image (default: 8)")
    parser.add_argument("--output", default=None,
                        help="the output the figures explain (default: the model's first); "
                             "the JSON files hold every output")
    parser.add_argument("--batch-size", type=int, default=16, help="images per forward pass")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help="refuse images larger than this, unread (default: 50000000)")
    return parser


def _output_names(files):
    """One output name per file: its stem, made unique with -2, -3, ... in order."""
    taken, names = set(), []
    for path in files:
        name, n = path.stem, 1
        while name in taken:
            n += 1
            name = f"{path.stem}-{n}"
        taken.add(name)
        names.append(name)
    return names


def run(args):
    from tqdm import tqdm

    from siam_keras.images import ImageError, find_images, read_photo, resize_for_model

    if args.top_k < 1 or args.batch_size < 1 or args.max_pixels < 1:
        raise ValueError("--top-k, --batch-size and --max-pixels must be positive integers. "
                         f"Received: {args.top_k}, {args.batch_size}, {args.max_pixels}")
    files = find_images(args.images)
    if not files:
        raise ValueError(f"No {'/'.join(IMAGE_SUFFIXES)} images in {' '.join(args.images)}")
    explainer = _explainer(args.model)
    output = args.output or explainer.output_names[0]
    if output not in explainer.output_names:
        raise ValueError(f"Unknown --output {output!r}. The model's outputs: "
                         f"{', '.join(explainer.output_names)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    height, width = explainer.image_size
    results, failures = [], []
    names = _output_names(files)
    progress = tqdm(total=len(files), unit="image", desc="siam explain", file=sys.stderr,
                    disable=None)
    for start in range(0, len(files), args.batch_size):
        batch = []
        for path, name in zip(files[start : start + args.batch_size],
                              names[start : start + args.batch_size]):
            try:
                batch.append((read_photo(path, args.max_pixels), name))
            except (ImageError, FileNotFoundError) as error:
                failures.append({"image": str(path), "error": str(error)})
                progress.write(f"skipped {error}", file=sys.stderr)
                progress.update()
        if not batch:
            continue
        pixels = np.stack([resize_for_model(photo.pixels, height, width) for photo, _ in batch])
        explanation = explainer(pixels, top_k=args.top_k)
        for i, (photo, name) in enumerate(batch):
            results.append(_save(out, name, photo, explanation, i, output, args))
            progress.update()
    progress.close()
    summary = {"model": os.fspath(args.model), "output": output, "num_images": len(files),
               "num_explained": len(results), "num_failed": len(failures),
               "explained": results, "failed": failures}
    write_json(out / "summary.json", summary)
    print(f"Explained {len(results)} of {len(files)} images into {out}/ (figures, JSON, "
          "summary.json)")
    if failures:
        print(f"{len(failures)} failed:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure['error']}", file=sys.stderr)
        return SOME_FAILED
    return 0


def _explainer(model_path):
    from siam_keras.explanations import SIAMExplainer
    from siam_keras.saving import load_model

    model = load_model(model_path)
    try:
        return SIAMExplainer(model)
    except ValueError as error:
        raise ValueError(f"{model_path}: {error} `siam explain` needs a SIAM model.") from None


def _save(out, name, photo, explanation, index, output, args):
    from siam_keras.plotting import plot_explanation

    figure, data_file = out / f"{name}.png", out / f"{name}.json"
    plot_explanation(figure, photo.pixels, explanation, index, output=output, top_k=args.top_k,
                     title=os.path.basename(photo.path))
    height, width = photo.pixels.shape[:2]
    data = {"image": photo.path, "model": os.fspath(args.model), "figure": figure.name,
            "source": {"format": photo.source_format, "mode": photo.source_mode,
                       "width": width, "height": height},
            **explanation.to_json(index)}
    write_json(data_file, data, indent=1)
    return {"image": photo.path, "figure": figure.name, "json": data_file.name,
            output: data["outputs"][output]["value"]}
