"""A polite, resumable and guarded downloader of ScenicOrNot's photos from Geograph.

Each `votes.tsv` row links a Geograph photo page; the page names the image
(`og:image`) and its author, and the photo is CC BY-SA 2.0, so every download is
recorded with its attribution. Polite: one request at a time, at most `rate` per
second, an identifying User-Agent, retries with exponential backoff on 429, 5xx,
network errors and bodies cut short (honouring `Retry-After`, up to a cap).
Resumable: a photo already on disk is skipped, and a file appears only when
complete (`.part`, then renamed).

Guarded, since `votes.tsv` and the pages it names are input from elsewhere:

- only `http(s)` URLs on `allowed_hosts` (Geograph's, by default) are fetched: the
  page, the image and every redirect (`file://` and any other scheme never are);
- a key becomes a file name only if it is a plain name (`SAFE_KEY`), so nothing is
  written outside the folder;
- a response may hold at most `max_bytes` (refused from its Content-Length, or
  when the body grows past it), and a request gets `timeout` seconds in all, not
  per read;
- a file is kept only if it decodes as an image (`siam_keras.images.read_photo`).

Standard library (and Pillow for the check) only.
"""

import csv
import email.utils
import html
import http.client
import io
import math
import re
import time
import urllib.parse
from pathlib import Path

from siam_keras.jsonio import write_bytes

USER_AGENT = "siam-keras/0.1 (ScenicOrNot research download; one request at a time)"
LICENSE = "CC BY-SA 2.0 (https://creativecommons.org/licenses/by-sa/2.0/)"
ATTRIBUTION = "attribution.tsv"
FAILURES = "failures.tsv"
ATTRIBUTION_COLUMNS = ("key", "page", "image", "title", "author", "license")
RETRIED_STATUS = (429, 500, 502, 503, 504)
REDIRECT_STATUS = (301, 302, 303, 307, 308)
#: Hosts fetched from, with their subdomains (www., s0., ...): Geograph Britain and Ireland.
GEOGRAPH_HOSTS = ("geograph.org.uk", "geograph.ie")
#: Largest response accepted (Geograph's photos are a few hundred KB; pages less).
DEFAULT_MAX_BYTES = 20 * 2**20
#: Longest wait a `Retry-After` may ask for, in seconds.
DEFAULT_MAX_RETRY_AFTER = 300.0
MAX_REDIRECTS = 5
#: What a votes.tsv key must look like to become a file name.
SAFE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
CHUNK = 64 * 1024

_META = re.compile(r"<meta\s+[^>]*?(?:property|name)\s*=\s*[\"']([^\"']+)[\"'][^>]*?content\s*=\s*"
                   r"[\"']([^\"']*)[\"']", re.IGNORECASE)
_CREATOR = re.compile(r"property\s*=\s*[\"']cc:attributionName[\"'][^>]*>([^<]+)<", re.IGNORECASE)


class DownloadError(Exception):
    """A page or image that could not be fetched; the message says why."""


class _Retryable(DownloadError):
    """A failure that may pass: the request is tried again after a wait."""

    def __init__(self, message, delay=None):
        super().__init__(message)
        self.delay = delay


def page_metadata(text):
    """{"image", "title", "author"} from a Geograph photo page's HTML (None when absent)."""
    meta = {name.lower(): html.unescape(value) for name, value in _META.findall(text)}
    creator = _CREATOR.search(text)
    return {"image": meta.get("og:image"), "title": meta.get("og:title") or meta.get("title"),
            "author": (html.unescape(creator.group(1)).strip() if creator else meta.get("author"))}


def _retry_after(value):
    """Seconds from a Retry-After header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


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
        hosts = tuple(str(host).lower().strip(".") for host in allowed_hosts)
        if not hosts or not all(hosts):
            raise ValueError(f"`allowed_hosts` must name at least one host. Received: {allowed_hosts!r}")
        self.folder = Path(folder)
        self.interval, self.retries, self.backoff, self.timeout = 1.0 / rate, retries, backoff, timeout
        self.allowed_hosts, self.max_bytes, self.max_retry_after = hosts, max_bytes, max_retry_after
        self.log, self.sleep, self.clock = log, sleep, clock
        self._last_request = None

    def _wait_turn(self):
        if self._last_request is not None:
            wait = self._last_request + self.interval - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last_request = self.clock()

    def checked_url(self, url):
        """`url` split, if it may be fetched: http(s) on an allowed host; raises otherwise."""
        parts = urllib.parse.urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not any(
                host == allowed or host.endswith("." + allowed) for allowed in self.allowed_hosts):
            raise DownloadError(f"refused to fetch {url[:200]!r}: only http(s) URLs on "
                                f"{', '.join(self.allowed_hosts)} are fetched")
        return parts

    def _read(self, connection, response, url, deadline):
        declared = response.getheader("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise DownloadError(f"{url} announces {int(declared):,} bytes, more than the limit "
                                f"of {self.max_bytes:,}")
        data = bytearray()
        while True:
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise _Retryable(f"{url} took longer than {self.timeout:g} s")
            if connection.sock is not None:
                connection.sock.settimeout(remaining)
            try:
                chunk = response.read1(CHUNK)  # what has arrived: the deadline is checked often
            except http.client.IncompleteRead as error:
                raise _Retryable(f"{url}: the body was cut short after "
                                 f"{len(data) + len(error.partial):,} bytes") from None
            if not chunk:
                break
            data += chunk
            if len(data) > self.max_bytes:
                raise DownloadError(f"{url} sent more than the limit of {self.max_bytes:,} bytes")
        if declared is not None and declared.isdigit() and len(data) < int(declared):
            raise _Retryable(f"{url}: the body was cut short ({len(data):,} of {int(declared):,} "
                             "bytes)")
        return bytes(data)

    def _fetch(self, url):
        """One GET of `url`, following allowed redirects, within the deadline."""
        deadline = self.clock() + self.timeout
        for _ in range(MAX_REDIRECTS + 1):
            parts = self.checked_url(url)
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise _Retryable(f"{url} took longer than {self.timeout:g} s")
            kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            connection = kind(parts.hostname, parts.port, timeout=remaining)
            try:
                target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
                connection.request("GET", target, headers={"User-Agent": USER_AGENT,
                                                           "Accept-Encoding": "identity"})
                response = connection.getresponse()
                if response.status in REDIRECT_STATUS and response.getheader("Location"):
                    url = urllib.parse.urljoin(url, response.getheader("Location"))
                    continue
                if response.status != 200:
                    reason = f"HTTP {response.status} {response.reason}"
                    if response.status in RETRIED_STATUS:
                        raise _Retryable(reason, _retry_after(response.getheader("Retry-After")))
                    raise DownloadError(reason)
                return self._read(connection, response, url, deadline)
            except (OSError, http.client.HTTPException) as error:
                raise _Retryable(f"network error: {error}") from None
            finally:
                connection.close()
        raise DownloadError(f"more than {MAX_REDIRECTS} redirects")

    def _get(self, url):
        """The body of `url`, retrying what may pass; raises DownloadError otherwise."""
        for attempt in range(self.retries + 1):
            self._wait_turn()
            try:
                return self._fetch(url)
            except _Retryable as error:
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
        image_url = urllib.parse.urljoin(page, metadata["image"])
        data = self._get(image_url)
        if not data:
            raise DownloadError(f"{image_url} returned an empty file")
        return image_url, metadata, data

    def _keep(self, target, data, image_url):
        """Writes `data` to `target` if it decodes as an image; raises DownloadError otherwise."""
        from siam_keras.images import ImageError, read_photo

        part = target.with_name(f"{target.name}.part")
        try:
            part.write_bytes(data)
            try:
                read_photo(part)
            except ImageError as error:
                raise DownloadError(f"{image_url} is not an image that decodes "
                                    f"({str(error).split(': ', 1)[-1]})") from None
            part.replace(target)
        finally:
            part.unlink(missing_ok=True)

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
        with open(self.folder / ATTRIBUTION, "a", newline="", encoding="utf-8") as attribution:
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
                    writer.writerow([key, page, image_url, metadata["title"] or "",
                                     metadata["author"] or "", LICENSE])
                    attribution.flush()
                    attributed.add(key)
                downloaded += 1
                self.log(f"[{downloaded}] {key}")
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
        writer.writerow(("key", "url", "reason"))
        writer.writerows((f["key"], f["url"], f["reason"]) for f in failed)
        write_bytes(self.folder / FAILURES, buffer.getvalue().encode("utf-8"))
        return {"downloaded": downloaded, "present": present, "failed": failed}
