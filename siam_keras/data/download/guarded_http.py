"""`GuardedFetcher`: one HTTP(S) GET of a URL from elsewhere, within hard limits.

Standard library only. What `fetch` guarantees, whatever the URL or the server does:

- only `http` and `https` URLs on `allowed_hosts` (or their subdomains) are fetched,
  the first and every redirect alike (at most `MAX_REDIRECTS`); `file:`, `ftp:`,
  `data:` and the rest never are;
- the whole request, from connecting to the last byte and over all its redirects,
  takes at most `timeout` seconds: a timer shuts the socket at the deadline, so a
  server that trickles bytes cannot hold it longer;
- a response holds at most `max_bytes`: refused from its Content-Length, or as soon
  as the body grows past it, never read into memory whole;
- a body shorter than its Content-Length is an error that may pass (`Retryable`).

Proxies from the environment (`HTTP_PROXY`, ...) are not used.
"""

import email.utils
import http.client
import re
import socket
import ssl
import threading
import time
import urllib.parse

USER_AGENT = "siam-keras/0.2 (ScenicOrNot research download; one request at a time)"
RETRIED_STATUS = (429, 500, 502, 503, 504)
REDIRECT_STATUS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
CHUNK = 64 * 1024
_DIGITS = re.compile(r"[0-9]{1,15}")


class DownloadError(Exception):
    """A page or image that could not be fetched; the message says why."""


class Retryable(DownloadError):
    """A failure that may pass (network, 429, 5xx, a body cut short, the deadline)."""

    def __init__(self, message, delay=None):
        super().__init__(message)
        self.delay = delay


def retry_after(value):
    """Seconds from a Retry-After header (seconds or an HTTP date), or None."""
    value = (value or "").strip()
    if _DIGITS.fullmatch(value):
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


class GuardedFetcher:
    """Fetches URLs within the limits the module docstring lists.

    Args:
        allowed_hosts: host names; each allows itself and its subdomains.
        timeout: seconds a request may take in all.
        max_bytes: the largest response accepted.
        clock: for tests.
    """

    def __init__(self, allowed_hosts, timeout, max_bytes, clock=time.monotonic):
        if isinstance(allowed_hosts, str):
            raise TypeError(f"`allowed_hosts` must be a list of host names, not one string. "
                            f"Received: {allowed_hosts!r}")
        hosts = tuple(str(host).lower().strip(".") for host in allowed_hosts)
        if not hosts or not all(hosts):
            raise ValueError(f"`allowed_hosts` must name at least one host. Received: "
                             f"{allowed_hosts!r}")
        self.allowed_hosts, self.timeout = hosts, timeout
        self.max_bytes, self.clock = max_bytes, clock

    def checked_url(self, url):
        """`url` split, if it may be fetched: http(s) on an allowed host; raises otherwise."""
        refused = DownloadError(f"refused to fetch {str(url)[:200]!r}: only http(s) URLs on "
                                f"{', '.join(self.allowed_hosts)} are fetched")
        try:
            parts = urllib.parse.urlsplit(url)
            host, port = (parts.hostname or "").lower(), parts.port
        except ValueError:  # a malformed host or port
            raise refused from None
        if parts.scheme not in ("http", "https") or not any(
                host == allowed or host.endswith("." + allowed) for allowed in self.allowed_hosts):
            raise refused
        return parts, host, port

    def fetch(self, url):
        """The body of one GET of `url`; raises `DownloadError` (or `Retryable`)."""
        status, reason, headers, data = self.request(url)
        if status != 200:
            message = f"HTTP {status} {reason}"
            if status in RETRIED_STATUS:
                raise Retryable(message, retry_after(headers.get("Retry-After")))
            raise DownloadError(message)
        return data

    def request(self, url, method="GET", body=None, headers=None, same_origin=False):
        """One request within the limits, redirects followed: `(status, reason, headers,
        body)` of the final response, whatever its status.

        Args:
            url, method, body, headers: the request (`body`: bytes or None).
            same_origin: follow only redirects to the same scheme, host and port (a POST
                is never sent on to another server); otherwise any allowed host.

        Raises:
            DownloadError: a refused URL or redirect, too many redirects, a body over
                `max_bytes`; `Retryable` for the network and the deadline.
        """
        deadline, origin = self.clock() + self.timeout, None
        for _ in range(MAX_REDIRECTS + 1):
            parts, host, port = self.checked_url(url)
            here = (parts.scheme, host, port or (443 if parts.scheme == "https" else 80))
            if origin is not None and same_origin and here != origin:
                raise DownloadError(f"refused a redirect to another server: {url[:200]}")
            origin = origin or here
            response = self._send(parts, host, port, method, body, headers, url, deadline)
            if response[0] is not None:
                return response
            url = urllib.parse.urljoin(url, response[1])
        raise DownloadError(f"more than {MAX_REDIRECTS} redirects")

    def _send(self, parts, host, port, method, body, headers, url, deadline):
        """(status, reason, headers, body), or (None, location) for a redirect."""
        remaining = deadline - self.clock()
        if remaining <= 0:
            raise Retryable(f"{url} took longer than {self.timeout:g} s")
        kind = (http.client.HTTPSConnection if parts.scheme == "https"
                else http.client.HTTPConnection)
        connection = kind(host, port, timeout=remaining)
        timer = None
        try:
            connection.connect()
            timer = threading.Timer(max(0.0, deadline - self.clock()), _shut, (connection.sock,))
            timer.daemon = True
            timer.start()
            target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
            connection.request(method, target, body=body, headers={
                "User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})})
            response = connection.getresponse()
            location = response.getheader("Location")
            if response.status in REDIRECT_STATUS and location:
                return None, location
            found = {key: value for key, value in response.getheaders()}
            return response.status, response.reason, found, self._read(response, url, deadline)
        except (ssl.SSLCertVerificationError, http.client.InvalidURL, UnicodeError) as error:
            raise DownloadError(f"{url[:200]}: {error}") from None
        except (OSError, http.client.HTTPException) as error:
            if self.clock() >= deadline:
                raise Retryable(f"{url} took longer than {self.timeout:g} s") from None
            raise Retryable(f"network error: {error}") from None
        finally:
            if timer is not None:
                timer.cancel()
            connection.close()

    def _read(self, response, url, deadline):
        declared = response.getheader("Content-Length")
        declared = int(declared) if declared and _DIGITS.fullmatch(declared.strip()) else None
        if declared is not None and declared > self.max_bytes:
            raise DownloadError(f"{url} announces {declared:,} bytes, more than the limit of "
                                f"{self.max_bytes:,}")
        data = bytearray()
        while True:
            try:
                chunk = response.read1(CHUNK)  # what has arrived: the deadline is checked often
            except http.client.IncompleteRead as error:
                raise Retryable(f"{url}: the body was cut short after "
                                f"{len(data) + len(error.partial):,} bytes") from None
            if self.clock() >= deadline:
                raise Retryable(f"{url} took longer than {self.timeout:g} s")
            if not chunk:
                break
            data += chunk
            if len(data) > self.max_bytes:
                raise DownloadError(f"{url} sent more than the limit of {self.max_bytes:,} bytes")
        if declared is not None and len(data) < declared:
            raise Retryable(f"{url}: the body was cut short ({len(data):,} of {declared:,} bytes)")
        return bytes(data)


def _shut(sock):
    """Ends a request at its deadline: a blocked read returns at once."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
