"""`siam download-scenic-or-not`: fetch ScenicOrNot's photos from Geograph, politely."""

import sys

from siam_keras.runtime.output_folder import printable


def add_parser(subparsers):
    from siam_keras.data.download.geograph import (
        DEFAULT_MAX_BYTES,
        DEFAULT_MAX_RETRY_AFTER,
        GEOGRAPH_HOSTS,
    )

    parser = subparsers.add_parser(
        "download-scenic-or-not",
        help="fetch ScenicOrNot's photos from their Geograph pages (resumable)",
        description=(
            "Fetch the photo of each votes.tsv row from its Geograph page into --out, as "
            "<ID or photo number>.jpg: one request at a time, at most --rate per second, with "
            "retries and backoff on 429, 5xx, network errors and bodies cut short. Photos "
            "already there are skipped, so an interrupted run restarted with the same "
            "arguments goes on where it stopped. Each photo's CC BY-SA 2.0 attribution is "
            "recorded in attribution.tsv; the URLs that failed, with the reason, in "
            "failures.tsv (exit status 1). Only http(s) URLs on Geograph's hosts are fetched "
            "(pages, images and redirects), only IDs that are plain names become file names, "
            "and only files that decode as images are kept."
        ),
    )
    parser.add_argument("--votes", required=True, help="ScenicOrNot's votes.tsv")
    parser.add_argument("--out", required=True, help="the images/ folder of the manual folder")
    parser.add_argument("--rate", type=float, default=1.0,
                        help="requests per second, a finite number > 0 (default: 1)")
    parser.add_argument("--retries", type=int, default=3, help="retries per request (default: 3)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds a request may take in all, every read included (default: 30)")
    parser.add_argument("--limit", type=int, default=None, help="stop after this many downloads")
    parser.add_argument("--allow-host", action="append", dest="allowed_hosts", metavar="HOST",
                        help="fetch from this host (and its subdomains) instead of Geograph's "
                             f"({', '.join(GEOGRAPH_HOSTS)}); repeat for several")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES,
                        help=f"largest response accepted (default: {DEFAULT_MAX_BYTES:,})")
    parser.add_argument("--max-retry-after", type=float, default=DEFAULT_MAX_RETRY_AFTER,
                        help="longest Retry-After wait honoured, in seconds (default: "
                             f"{DEFAULT_MAX_RETRY_AFTER:g})")
    return parser


def run(args):
    from pathlib import Path

    from siam_keras.data.download.geograph import FAILURES, GEOGRAPH_HOSTS, GeographDownloader
    from siam_keras.data.tfds.scenic_or_not import read_votes

    if not Path(args.votes).is_file():
        raise FileNotFoundError(f"votes file not found: {args.votes}")
    downloader = GeographDownloader(
        args.out, rate=args.rate, retries=args.retries, timeout=args.timeout,
        allowed_hosts=args.allowed_hosts or GEOGRAPH_HOSTS, max_bytes=args.max_bytes,
        max_retry_after=args.max_retry_after)
    records, malformed = read_votes(args.votes)
    for line in malformed:
        print(f"skipped {printable(line)}", file=sys.stderr)
    print(f"{len(records)} photos in {args.votes}; downloading into {args.out} "
          f"(at most {args.rate:g} request(s) per second)")
    result = downloader.download(records, limit=args.limit)
    print(f"Downloaded {result['downloaded']}, {result['present']} already there, "
          f"{len(result['failed'])} failed")
    if result["failed"]:
        print(f"Failed (also in {Path(args.out) / FAILURES}):", file=sys.stderr)
        for failure in result["failed"]:
            print(f"  {printable(failure['url'])}: {printable(failure['reason'])}", file=sys.stderr)
        return 1
    return 0
