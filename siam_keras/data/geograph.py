"""A polite, resumable downloader of ScenicOrNot's photos from their Geograph pages.

Each `votes.tsv` row links a Geograph photo page; the page names the image
(`og:image`) and its author, and the photo is CC BY-SA 2.0, so every download is
recorded with its attribution. Polite: one request at a time, at most `rate` per
second, an identifying User-Agent, retries with exponential backoff on 429, 5xx and
network errors (honouring `Retry-After`). Resumable: a photo already on disk is
skipped, and a file appears only when complete (`.part`, then renamed). Standard
library only.
"""

import csv
import html
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

USER_AGENT = "siam-keras/0.1 (ScenicOrNot research download; one request at a time)"
LICENSE = "CC BY-SA 2.0 (https://creativecommons.org/licenses/by-sa/2.0/)"
ATTRIBUTION = "attribution.tsv"
FAILURES = "failures.tsv"
ATTRIBUTION_COLUMNS = ("key", "page", "image", "title", "author", "license")
RETRIED_STATUS = (429, 500, 502, 503, 504)

_META = re.compile(r"<meta\s+[^>]*?(?:property|name)\s*=\s*[\"']([^\"']+)[\"'][^>]*?content\s*=\s*"
                   r"[\"']([^\"']*)[\"']", re.IGNORECASE)
_CREATOR = re.compile(r"property\s*=\s*[\"']cc:attributionName[\"'][^>]*>([^<]+)<", re.IGNORECASE)


class DownloadError(Exception):
    """A page or image that could not be fetched; the message says why."""


def page_metadata(text):
    """{"image", "title", "author"} from a Geograph photo page's HTML (None when absent)."""
    meta = {name.lower(): html.unescape(value) for name, value in _META.findall(text)}
    creator = _CREATOR.search(text)
    return {"image": meta.get("og:image"), "title": meta.get("og:title") or meta.get("title"),
            "author": (html.unescape(creator.group(1)).strip() if creator else meta.get("author"))}


class GeographDownloader:
    """Downloads the photos of ScenicOrNot records into `folder/<key>.jpg`.

    Args:
        folder: where the photos go (`<manual folder>/images`), with
            `attribution.tsv` and `failures.tsv` beside them.
        rate: requests per second, at most.
        retries: further attempts after a retryable failure.
        backoff: seconds before the first retry, doubled each time.
        timeout: seconds per request.
        log: progress printer.
        sleep, clock: for tests.
    """

    def __init__(self, folder, rate=1.0, retries=3, backoff=2.0, timeout=30.0, log=print,
                 sleep=time.sleep, clock=time.monotonic):
        if rate <= 0 or retries < 0 or backoff < 0 or timeout <= 0:
            raise ValueError("rate and timeout must be > 0, retries and backoff >= 0. Received: "
                             f"rate={rate}, retries={retries}, backoff={backoff}, timeout={timeout}")
        self.folder = Path(folder)
        self.interval, self.retries, self.backoff, self.timeout = 1.0 / rate, retries, backoff, timeout
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
            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as error:
                reason, retry = f"HTTP {error.code} {error.reason}", error.code in RETRIED_STATUS
                delay = error.headers.get("Retry-After") if error.headers else None
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
                reason, retry, delay = f"network error: {getattr(error, 'reason', error)}", True, None
            if not retry or attempt == self.retries:
                raise DownloadError(f"{reason} (after {attempt + 1} attempt(s))")
            wait = float(delay) if delay and str(delay).isdigit() else self.backoff * 2**attempt
            self.sleep(wait)
        raise AssertionError("unreachable")

    def _attributed_keys(self):
        path = self.folder / ATTRIBUTION
        if not path.is_file():
            return set()
        with open(path, newline="", encoding="utf-8") as file:
            return {row["key"] for row in csv.DictReader(file, delimiter="\t")}

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
                key, page = record["key"], record["uri"]
                target = self.folder / f"{key}.jpg"
                if target.is_file() and target.stat().st_size > 0:
                    present += 1
                    continue
                if limit is not None and downloaded >= limit:
                    break
                try:
                    metadata = page_metadata(self._get(page).decode("utf-8", errors="replace"))
                    if not metadata["image"]:
                        raise DownloadError("the page names no image (og:image)")
                    image_url = urllib.parse.urljoin(page, metadata["image"])
                    data = self._get(image_url)
                    if not data:
                        raise DownloadError(f"{image_url} returned an empty file")
                except DownloadError as error:
                    failed.append({"key": key, "url": page, "reason": str(error)})
                    self.log(f"failed {key}: {page}: {error}")
                    continue
                part = target.with_name(f"{target.name}.part")
                try:
                    part.write_bytes(data)
                    part.replace(target)
                finally:
                    part.unlink(missing_ok=True)
                if key not in attributed:
                    writer.writerow([key, page, image_url, metadata["title"] or "",
                                     metadata["author"] or "", LICENSE])
                    attribution.flush()
                    attributed.add(key)
                downloaded += 1
                self.log(f"[{downloaded}] {key}")
        with open(self.folder / FAILURES, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, delimiter="\t")
            writer.writerow(("key", "url", "reason"))
            writer.writerows((f["key"], f["url"], f["reason"]) for f in failed)
        return {"downloaded": downloaded, "present": present, "failed": failed}
