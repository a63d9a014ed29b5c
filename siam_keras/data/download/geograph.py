"""A polite, resumable and guarded downloader of ScenicOrNot's photos from Geograph.

Each `votes.tsv` row links a Geograph photo page; the page names the image
(`og:image`) and its author, and the photo is CC BY-SA 2.0, so every download is
recorded with its attribution. Polite: one request at a time, at most `rate` per
second, an identifying User-Agent, retries with exponential backoff on 429, 5xx,
network errors and bodies cut short (honouring `Retry-After`, up to a cap).
Resumable: a photo already on disk is skipped, and a file appears only when
complete (written beside it, then renamed).

Guarded, since `votes.tsv` and the pages it names are input from elsewhere: every
request goes through `guarded_http.GuardedFetcher` (http(s) on `allowed_hosts` only,
for pages, images and redirects; a deadline per request; a byte cap per response);
a key becomes a file name only if it is a plain name (`SAFE_KEY`), so nothing is
written outside the folder; a file is kept only if it decodes as an image
(`siam_keras.runtime.images.read_photo`).
"""

import csv
import html
import io
import math
import os
import re
import time
import urllib.parse
from pathlib import Path

from siam_keras.data.download.guarded_http import (
    DownloadError,
    GuardedFetcher,
    Retryable,
)
from siam_keras.runtime.atomic import atomic_output, write_bytes
from siam_keras.runtime.spreadsheet import spreadsheet_safe

LICENSE = "CC BY-SA 2.0 (https://creativecommons.org/licenses/by-sa/2.0/)"
ATTRIBUTION = "attribution.tsv"
FAILURES = "failures.tsv"
ATTRIBUTION_COLUMNS = ("key", "page", "image", "title", "author", "license")
#: Hosts fetched from, with their subdomains (www., s0., ...): Geograph Britain and Ireland.
GEOGRAPH_HOSTS = ("geograph.org.uk", "geograph.ie")
#: Largest response accepted (Geograph's photos are a few hundred KB; pages less).
DEFAULT_MAX_BYTES = 20 * 2**20
#: Longest wait a `Retry-After` may ask for, in seconds.
DEFAULT_MAX_RETRY_AFTER = 300.0
#: What a votes.tsv key must look like to become a file name.
SAFE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

_META = re.compile(r"<meta\s+[^>]*?(?:property|name)\s*=\s*[\"']([^\"']+)[\"'][^>]*?content\s*=\s*"
                   r"[\"']([^\"']*)[\"']", re.IGNORECASE)
_CREATOR = re.compile(r"property\s*=\s*[\"']cc:attributionName[\"'][^>]*>([^<]+)<", re.IGNORECASE)


def page_metadata(text):
    """{"image", "title", "author"} from a Geograph photo page's HTML (None when absent)."""
    meta = {name.lower(): html.unescape(value) for name, value in _META.findall(text)}
    creator = _CREATOR.search(text)
    return {"image": meta.get("og:image"), "title": meta.get("og:title") or meta.get("title"),
            "author": (html.unescape(creator.group(1)).strip() if creator else meta.get("author"))}


def _checked_number(name, value, minimum, integer=False, strictly=False):
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value) or (
            value <= minimum if strictly else value < minimum):
        relation = ">" if strictly else ">="
        raise ValueError(f"`{name}` must be a finite {'integer' if integer else 'number'} "
                         f"{relation} {minimum:g}. Received: {name}={value!r}")
    return value


class GeographDownloader:
    """Downloads the photos of ScenicOrNot records into `folder/<key>.jpg`.

    Args:
        folder: where the photos go (`<manual folder>/images`), with
            `attribution.tsv` and `failures.tsv` beside them.
        rate: requests per second, at most (finite, > 0).
        retries: further attempts after a retryable failure.
        backoff: seconds before the first retry, doubled each time.
        timeout: seconds a request may take in all (connecting, redirects, every read).
        allowed_hosts: the hosts (and their subdomains) pages and images are fetched from.
        max_bytes: the largest response accepted.
        max_retry_after: the longest `Retry-After` wait honoured (longer ones are cut).
        log: progress printer.
        sleep, clock: for tests.
    """

    def __init__(self, folder, rate=1.0, retries=3, backoff=2.0, timeout=30.0,
                 allowed_hosts=GEOGRAPH_HOSTS, max_bytes=DEFAULT_MAX_BYTES,
                 max_retry_after=DEFAULT_MAX_RETRY_AFTER, log=print, sleep=time.sleep,
                 clock=time.monotonic):
        _checked_number("rate", rate, 0, strictly=True)
        _checked_number("retries", retries, 0, integer=True)
        _checked_number("backoff", backoff, 0)
        _checked_number("timeout", timeout, 0, strictly=True)
        _checked_number("max_bytes", max_bytes, 0, integer=True, strictly=True)
        _checked_number("max_retry_after", max_retry_after, 0)
        self.fetcher = GuardedFetcher(allowed_hosts, timeout, max_bytes, clock)
        self.folder = Path(folder)
        self.interval, self.retries, self.backoff = 1.0 / rate, retries, backoff
        self.max_retry_after = max_retry_after
        self.log, self.sleep, self.clock = log, sleep, clock
        self._last_request = None

    def _wait_turn(self):
        if self._last_request is not None:
            wait = self._last_request + self.interval - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last_request = self.clock()

    def _get(self, url):
        """The body of `url`, retrying what may pass; raises DownloadError otherwise."""
        for attempt in range(self.retries + 1):
            self._wait_turn()
            try:
                return self.fetcher.fetch(url)
            except Retryable as error:
                if attempt == self.retries:
                    raise DownloadError(f"{error} (after {attempt + 1} attempt(s))") from None
                wait = error.delay if error.delay is not None else self.backoff * 2**attempt
                self.sleep(min(wait, self.max_retry_after))
            except DownloadError as error:
                raise DownloadError(f"{error} (after {attempt + 1} attempt(s))") from None
        raise AssertionError("unreachable")

    def _attributed_keys(self):
        path = self.folder / ATTRIBUTION
        if not path.is_file():
            return set()
        with open(path, newline="", encoding="utf-8") as file:
            return {row["key"] for row in csv.DictReader(file, delimiter="\t")}

    def _photo(self, page):
        """(image URL, metadata, bytes) of a record's photo; raises DownloadError."""
        metadata = page_metadata(self._get(page).decode("utf-8", errors="replace"))
        if not metadata["image"]:
            raise DownloadError("the page names no image (og:image)")
        try:
            image_url = urllib.parse.urljoin(page, metadata["image"])
        except ValueError:  # a malformed URL in the page
            raise DownloadError(
                f"the page names a malformed image URL {metadata['image'][:200]!r}") from None
        data = self._get(image_url)
        if not data:
            raise DownloadError(f"{image_url} returned an empty file")
        return image_url, metadata, data

    def _keep(self, target, data, image_url):
        """Writes `data` to `target`, atomically, if it decodes as an image; raises
        DownloadError otherwise."""
        from siam_keras.runtime.images import ImageError, read_photo

        with atomic_output(target) as part:
            part.write_bytes(data)
            try:
                read_photo(part)
            except ImageError as error:
                raise DownloadError(f"{image_url} is not an image that decodes "
                                    f"({str(error).split(': ', 1)[-1]})") from None

    def download(self, records, limit=None):
        """Fetches the records' photos; returns {"downloaded", "present", "failed"}.

        `failed` lists {"key", "url", "reason"} (also written to failures.tsv).
        Stops after `limit` downloads if given. An interruption leaves no partial
        file and keeps what was attributed.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        attributed = self._attributed_keys()
        new_file = not (self.folder / ATTRIBUTION).is_file()
        downloaded, present, failed = 0, 0, []
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        descriptor = os.open(self.folder / ATTRIBUTION, flags, 0o644)  # a planted link: error
        with os.fdopen(descriptor, "a", newline="", encoding="utf-8") as attribution:
            writer = csv.writer(attribution, delimiter="\t")
            if new_file:
                writer.writerow(ATTRIBUTION_COLUMNS)
            for record in records:
                key, page = str(record["key"]), str(record["uri"])
                if not SAFE_KEY.fullmatch(key):
                    failed.append({"key": key, "url": page, "reason": "the ID is not a plain file "
                                   "name (letters, digits, - and _), so it is not used as one"})
                    self.log(f"failed {key!r}: {failed[-1]['reason']}")
                    continue
                target = self.folder / f"{key}.jpg"
                if target.is_file() and target.stat().st_size > 0:
                    present += 1
                    continue
                if limit is not None and downloaded >= limit:
                    break
                try:
                    image_url, metadata, data = self._photo(page)
                    self._keep(target, data, image_url)
                except DownloadError as error:
                    failed.append({"key": key, "url": page, "reason": str(error)})
                    self.log(f"failed {key}: {page}: {error}")
                    continue
                if key not in attributed:
                    writer.writerow([key, *map(spreadsheet_safe, (
                        page, image_url, metadata["title"] or "", metadata["author"] or "")),
                        LICENSE])
                    attribution.flush()
                    attributed.add(key)
                downloaded += 1
                self.log(f"[{downloaded}] {key}")
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
        writer.writerow(("key", "url", "reason"))
        writer.writerows((spreadsheet_safe(f["key"]), spreadsheet_safe(f["url"]),
                          spreadsheet_safe(f["reason"])) for f in failed)
        write_bytes(self.folder / FAILURES, buffer.getvalue().encode("utf-8"))
        return {"downloaded": downloaded, "present": present, "failed": failed}
