"""`siam example-photos`: a JPEG folder and its manifest, to try training on your own photos."""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "example-photos",
        help="write example JPEG photos and a manifest (CSV) to train on",
        description=(
            "Write OUT/photos/*.jpg and the manifest OUT/photos.csv: the layout of your own "
            "photos for siam-train's manifest source. Each row names a photo and gives 8 "
            "attribute columns (sky ... rock, labels in [0, 1]), a regression output "
            "(scenicness), a classification output (landscape: coast, forest, town or "
            "highlands), and latitude/longitude (also in each JPEG's EXIF GPS tags). The "
            "photos are generated synthetic_scenes images, so the true rule behind the labels "
            "is known. Nothing is downloaded; an existing manifest is never overwritten."
        ),
    )
    parser.add_argument("out", metavar="OUT", help="folder to write (created if needed)")
    parser.add_argument("--num-images", type=int, default=600, help="photos (default: 600)")
    parser.add_argument("--image-size", type=int, default=64, help="side in pixels (default: 64)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default: 0)")
    return parser


def run(args):
    from siam_keras.data.example_photos import write_example_photos

    manifest = write_example_photos(args.out, args.num_images, args.image_size, args.seed)
    print(f"Wrote {args.num_images} photos and the manifest {manifest}")
    return 0
