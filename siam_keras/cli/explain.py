"""`siam explain`: a figure and a JSON file explaining each image's prediction."""

from siam_keras.app import image_files as explained_files
from siam_keras.model_files import MODEL_HELP, ModelFile
from siam_keras.runtime.explanation_table import checked_table_path
from siam_keras.runtime.images import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES
from siam_keras.runtime.output_paths import check_outputs


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "explain",
        help="explain a SIAM model's predictions on images (figure + JSON per image)",
        description=(
            "Explain a SIAM model's prediction on each image: what it sees (attribute scores), "
            "where (attribute maps), and how much each attribute adds or takes away "
            "(contributions, which sum exactly to the prediction minus the bias). Writes "
            "<name>.png (the figure) and <name>.json (every number, with the attribute maps "
            "on the feature grid) per image into --out, summary.json, with --table one row per "
            "image in a .parquet or .csv table, and, for the photos with a location (a "
            "manifest's latitude/longitude columns with --config, else EXIF GPS), "
            "locations.geojson (a map of the predictions). Folders are searched "
            f"recursively for {', '.join(IMAGE_SUFFIXES)} files. An image that cannot be read "
            "is reported by name and skipped; the exit status is then 1."
        ),
    )
    parser.add_argument("images", nargs="*", metavar="IMAGE_OR_FOLDER",
                        help="image files (JPEG, PNG, WebP, TIFF: any size and mode) or folders")
    parser.add_argument("--model", required=True, help=MODEL_HELP)
    parser.add_argument("--config", metavar="CONFIG_TOML",
                        help="instead of IMAGE_OR_FOLDER: explain the photos of a manifest run's "
                             "config (its [data.manifest] files), with their latitude/longitude "
                             "columns as locations")
    parser.add_argument("--split", choices=["train", "validation", "test"], default=None,
                        help="with --config: only the photos of this split (default: all)")
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
    explained_files.add_output_options(parser)
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help="refuse images larger than this, unread (default: 50000000)")
    return parser


def run(args):
    if bool(args.images) == bool(args.config):
        raise ValueError("Give images or folders, or --config (a manifest run's config), "
                         "not both and not neither")
    if args.split and not args.config:
        raise ValueError("--split selects a manifest's photos: it goes with --config")
    table = None if args.table is None else checked_table_path(args.table, "--table")
    images, locations, manifests = ((args.images, None, []) if not args.config
                                    else _manifest_photos(args))
    check_outputs({"--table": table}, {"--model": args.model, "--config": args.config,
                                       "a manifest": manifests})
    files = explained_files.checked_arguments(images, args.out, top_k=args.top_k,
                                              batch_size=args.batch_size, max_pixels=args.max_pixels)
    explainer = ModelFile(args.model).load(command="siam explain")
    explained_files.checked_output(args.output, explainer.output_names)
    summary = explained_files.explain_files(
        files, explainer, args.out, args.model, draw=None if args.figures == "none" else _draw,
        output=args.output, top_k=args.top_k, batch_size=args.batch_size,
        max_pixels=args.max_pixels, label="siam explain", locations=locations, table=table)
    return explained_files.report(summary, args.out)


def _manifest_photos(args):
    """(image paths, {path: (latitude, longitude)}, manifest files) of the manifest rows of
    a run's config."""
    import os

    from siam_keras.data.manifest.reading import read_manifests
    from siam_keras.data.manifest.rows import where
    from siam_keras.data.run_config import manifest_table, run_config_data
    from siam_keras.runtime.uris import is_uri

    table = manifest_table(run_config_data(args.config), args.config)
    rows, problems = read_manifests(
        table["files"], table["image_column"], table["attribute_columns"], table["outputs"],
        table["split_column"] or None, table["latitude_column"] or None,
        table["longitude_column"] or None)
    for problem in problems[:20]:
        print(f"skipped {problem}")
    rows = [row for row in rows if args.split is None or row.split == args.split]
    found = {}  # a photo listed in two files (attributes in one, outputs in the other): once
    for row in rows:
        found.setdefault(row.image, row)
    places = {}
    for row in rows:
        if row.location is not None:
            places.setdefault(row.image, row.location)
    rows = list(found.values())
    remote = [row for row in rows if is_uri(row.image)]
    if remote:
        print(f"skipped {len(remote)} photos given as URIs (siam explain reads local files), "
              f"e.g. {remote[0].image}")
    local = [row for row in rows if not is_uri(row.image) and os.path.isfile(row.image)]
    for row in rows:
        if not is_uri(row.image) and not os.path.isfile(row.image):
            print(f"skipped {row.source}{where(row.source, row.line)}: image {row.image}: "
                  "no such file")
    if not local:
        raise ValueError(f"No photo of {args.config}'s manifest files"
                         + (f" in the {args.split} split" if args.split else "") + " can be read")
    return ([row.image for row in local],
            {row.image: places[row.image] for row in local if row.image in places},
            [path for path in table["files"] if not is_uri(path)])


def _draw(path, pixels, explanation, index, output, top_k, title):
    from siam_keras.plotting import plot_explanation

    plot_explanation(path, pixels, explanation, index, output=output, top_k=top_k, title=title)
