"""Which `tensorflow/serving` image runs an export: its TensorFlow version, or the newest
published one before it.

TF Serving's images follow TensorFlow's releases by months (TensorFlow 2.21's export had
no `tensorflow/serving:2.21.0`; 2.20.0 was the newest), so `tensorflow/serving:<the
export's version>` may not exist. Given Docker Hub's tag list (its JSON, on standard
input), this prints the export's version if it is published, else the newest release
tag older than it:

    curl -s 'https://hub.docker.com/v2/repositories/tensorflow/serving/tags?page_size=100&name=2.' \\
        | python -m siam_keras.serving.image_tag runs/demo/export/tflite/siam_model.json

It prints a line to standard error when the tag is older than the export (the server
then should be checked to load the model: its `/metadata`). Standard library only.
"""

import argparse
import json
import re
import sys

_RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def serving_tag(exported_version, tags):
    """The tag to run: `exported_version` if among `tags`, else the newest release tag
    (X.Y.Z, no suffix) older than it.

    Raises:
        ValueError: `exported_version` is no X.Y.Z version, or no release tag is older.
    """
    tags = list(tags)
    found = _RELEASE.match(str(exported_version).split("-")[0])
    if not found:
        raise ValueError(f"Not a TensorFlow release version: {exported_version!r}")
    wanted = tuple(map(int, found.groups()))
    releases = sorted({tuple(map(int, m.groups())) for m in map(_RELEASE.match, tags) if m})
    usable = [release for release in releases if release <= wanted]
    if not usable:
        raise ValueError(f"No tensorflow/serving release tag up to {exported_version} among "
                         f"{len(tags)} tags")
    return ".".join(map(str, usable[-1]))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m siam_keras.serving.image_tag",
        description="Print the tensorflow/serving image tag that runs an export: its "
                    "TensorFlow version if Docker Hub has it, else the newest release before "
                    "it. Docker Hub's tag list (JSON) is read from standard input.",
        epilog="example: curl -s 'https://hub.docker.com/v2/repositories/tensorflow/serving/"
               "tags?page_size=100&name=2.' | python -m siam_keras.serving.image_tag "
               "runs/demo/export/tflite/siam_model.json")
    parser.add_argument("sidecar", help="the export's siam_model.json (its exported_with)")
    args = parser.parse_args(argv)
    try:
        with open(args.sidecar, encoding="utf-8") as file:
            version = json.load(file)["exported_with"]["tensorflow"]
        tags = [entry["name"] for entry in json.load(sys.stdin)["results"]]
        tag = serving_tag(version, tags)
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"image_tag: error: {error}", file=sys.stderr)
        return 1
    if tag != version.split("-")[0]:
        print(f"image_tag: tensorflow/serving has no {version} image yet; {tag} is the newest "
              "before it: check that it loads the model (its /metadata)", file=sys.stderr)
    print(tag)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
