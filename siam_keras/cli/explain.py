"""`siam explain`: a figure and a JSON file explaining each image's prediction."""

from siam_keras.runtime.images import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES


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
    parser.add_argument("--out", required=True,
                        help="folder for the figures and JSON files: not an input folder (one "
                             "inside an input folder is never searched); a file there is replaced "
                             "only if an earlier explain run wrote it, others keep their names")
    parser.add_argument("--top-k", type=int, default=8,
                        help="attribute maps shown and ranked per image (default: 8)")
    parser.add_argument("--output", default=None,
                        help="the output the figures explain (default: the model's first); "
                             "the JSON files hold every output")
    parser.add_argument("--batch-size", type=int, default=16, help="images per forward pass")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help="refuse images larger than this, unread (default: 50000000)")
    return parser


def run(args):
    from siam_keras.runtime import image_files as explained_files

    files = explained_files.checked_arguments(args.images, args.out, top_k=args.top_k,
                                              batch_size=args.batch_size, max_pixels=args.max_pixels)
    explainer = _explainer(args.model)
    explained_files.checked_output(args.output, explainer.output_names)
    summary = explained_files.explain_files(
        files, explainer, args.out, args.model, draw=_draw, output=args.output,
        top_k=args.top_k, batch_size=args.batch_size, max_pixels=args.max_pixels,
        label="siam explain")
    return explained_files.report(summary, args.out)


def _explainer(model_path):
    from siam_keras.explanations import SIAMExplainer
    from siam_keras.saving import load_model

    model = load_model(model_path)
    try:
        return SIAMExplainer(model)
    except ValueError as error:
        raise ValueError(f"{model_path}: {error} `siam explain` needs a SIAM model.") from None


def _draw(path, pixels, explanation, index, output, top_k, title):
    from siam_keras.plotting import plot_explanation

    plot_explanation(path, pixels, explanation, index, output=output, top_k=top_k, title=title)
