"""`is_uri`: a reference with a scheme (gs://, s3://, https://), not a local path."""

import re

URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(reference):
    """Whether an image, model or output reference is a URI with a scheme (gs://, s3://,
    https://, ...) rather than a local path."""
    return URI.match(str(reference)) is not None
