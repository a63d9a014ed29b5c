import csv
import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from siam_keras.data.download.geograph import GeographDownloader, page_metadata

NOT_FOUND, ALWAYS_FAILS, FAILS_ONCE, NO_IMAGE = "13", "14", "15", "16"
LOCAL = ("127.0.0.1",)


class FakeGeograph:
    """Photo pages and images on 127.0.0.1, with a few that misbehave."""

    def __init__(self):
        self.served = {}  # path -> successful responses
        self.times = []
        self.seen = set()
        buffer = io.BytesIO()
        Image.new("RGB", (8, 6), (20, 120, 40)).save(buffer, format="JPEG")
        jpeg, fake = buffer.getvalue(), self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body=b"", kind="text/html", headers=()):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                for header in headers:
                    self.send_header(*header)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                fake.times.append(time.monotonic())
                kind, number = self.path.strip("/").split("/")
                number = number.split(".")[0]
                if number == NOT_FOUND and kind == "photo":
                    return self.reply(404, b"no such photo")
                if number == FAILS_ONCE and kind == "img" and self.path not in fake.seen:
                    fake.seen.add(self.path)
                    return self.reply(503, b"busy", headers=[("Retry-After", "0")])
                if number == ALWAYS_FAILS and kind == "img":
                    return self.reply(500, b"broken")
                fake.served[self.path] = fake.served.get(self.path, 0) + 1
                if kind == "photo":
                    image = "" if number == NO_IMAGE else (
                        f'<meta property="og:image" content="/img/{number}.jpg" />')
                    page = (f'<html><head><meta property="og:title" '
                            f'content="Hill &amp; dale {number}" />{image}</head><body>by '
                            f'<a rel="author" property="cc:attributionName" '
                            f'href="/profile">Ann Author</a></body></html>')
                    return self.reply(200, page.encode())
                return self.reply(200, jpeg, "image/jpeg")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def records(self, numbers):
        return [{"key": n, "uri": f"{self.url}/photo/{n}"} for n in numbers]


@pytest.fixture
def geograph():
    fake = FakeGeograph()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


class Interrupt(Exception):
    pass


def test_interrupted_and_restarted_it_downloads_nothing_twice(geograph, tmp_path):
    numbers = ["10", "11", "12", NOT_FOUND, ALWAYS_FAILS, FAILS_ONCE, NO_IMAGE, "17", "18"]
    records = geograph.records(numbers)

    def stop_after_three(message):
        if message.startswith("[3]"):
            raise Interrupt("killed")

    first = GeographDownloader(tmp_path, rate=200, retries=2, backoff=0.01, log=stop_after_three,
                               allowed_hosts=LOCAL)
    with pytest.raises(Interrupt):
        first.download(records)
    assert sorted(p.name for p in tmp_path.glob("*.jpg")) == ["10.jpg", "11.jpg", "12.jpg"]
    result = GeographDownloader(tmp_path, rate=200, retries=2, backoff=0.01,
                                log=lambda *a: None, allowed_hosts=LOCAL).download(records)
    assert result["present"] == 3 and result["downloaded"] == 3  # 15 (after a retry), 17, 18
    failed = {f["key"]: f["reason"] for f in result["failed"]}
    assert set(failed) == {NOT_FOUND, ALWAYS_FAILS, NO_IMAGE}
    assert "HTTP 404" in failed[NOT_FOUND] and "after 1 attempt" in failed[NOT_FOUND]
    assert "HTTP 500" in failed[ALWAYS_FAILS] and "after 3 attempt" in failed[ALWAYS_FAILS]
    assert "og:image" in failed[NO_IMAGE]
    images = {path: count for path, count in geograph.served.items() if path.startswith("/img/")}
    assert images and all(count == 1 for count in images.values())  # nothing downloaded twice
    assert not list(tmp_path.glob("*.part"))
    with open(tmp_path / "failures.tsv") as file:
        assert {row["key"] for row in csv.DictReader(file, delimiter="\t")} == set(failed)
    with open(tmp_path / "attribution.tsv") as file:
        rows = list(csv.DictReader(file, delimiter="\t"))
    assert sorted(row["key"] for row in rows) == ["10", "11", "12", "15", "17", "18"]
    assert rows[0]["author"] == "Ann Author" and rows[0]["title"] == "Hill & dale 10"
    assert "CC BY-SA 2.0" in rows[0]["license"]


def test_requests_keep_to_the_rate(geograph, tmp_path):
    GeographDownloader(tmp_path, rate=20, log=lambda *a: None, allowed_hosts=LOCAL).download(
        geograph.records(["21", "22", "23"]))
    gaps = [b - a for a, b in zip(geograph.times, geograph.times[1:])]
    # Seen by the server, one late arrival can shorten the next gap: the rate holds on
    # average (5 gaps of 0.05 s), and no two requests come together (unlimited: ~1 ms).
    assert len(gaps) == 5 and sum(gaps) >= 0.9 * 5 * 0.05 and min(gaps) >= 0.02


def test_page_metadata_and_bad_settings():
    page = '<meta name="author" content="B. Writer"><meta property="og:image" content="x.jpg">'
    assert page_metadata(page) == {"image": "x.jpg", "title": None, "author": "B. Writer"}
    with pytest.raises(ValueError, match="rate"):
        GeographDownloader("out", rate=0)


def test_cli_reports_the_urls_that_failed(geograph, tmp_path, capsys):
    from siam_keras.cli import main

    votes = tmp_path / "votes.tsv"
    votes.write_text("Lat\tLon\tAverage\tVariance\tVotes\tGeograph URI\n"
                     f"51\t-1\t5\t1\t4,5,6\t{geograph.url}/photo/31\n"
                     f"52\t-2\t6\t1\t5,6,7\t{geograph.url}/photo/{NOT_FOUND}\n")
    code = main(["download-scenic-or-not", "--votes", str(votes), "--out", str(tmp_path / "images"),
                 "--rate", "100", "--allow-host", "127.0.0.1"])
    assert code == 1
    captured = capsys.readouterr()
    assert "Downloaded 1, 0 already there, 1 failed" in captured.out
    assert f"{geograph.url}/photo/{NOT_FOUND}: HTTP 404" in captured.err
    assert (tmp_path / "images" / "31.jpg").is_file()
    assert main(["download-scenic-or-not", "--votes", str(tmp_path / "none.tsv"), "--out",
                 str(tmp_path)]) == 2


class HostileGeograph:
    """Pages and images on 127.0.0.1 that try what an attacker or a broken server would."""

    def __init__(self):
        buffer = io.BytesIO()
        Image.new("RGB", (8, 6), (20, 120, 40)).save(buffer, format="JPEG")
        jpeg, fake = buffer.getvalue(), self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def handle(self):
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up, as it should on these answers

            def head(self, status, headers):
                self.send_response(status)
                for header in headers:
                    self.send_header(*header)
                self.end_headers()

            def do_GET(self):
                kind, name = self.path.strip("/").split("/")
                if kind == "photo":
                    image = {"file": "file:///etc/passwd", "redirect": "/redirect/1.jpg",
                             "other_host": f"http://localhost:{fake.port}/img/1.jpg",
                             "malformed": "http://[::1/x.jpg"}.get(name, f"/{name}/1.jpg")
                    page = f'<meta property="og:image" content="{image}" />'.encode()
                    self.head(200, [("Content-Length", str(len(page)))])
                    return self.wfile.write(page)
                if kind == "redirect":  # to a host that is not allowed
                    return self.head(302, [("Location", f"http://localhost:{fake.port}/img/1.jpg"),
                                           ("Content-Length", "0")])
                if kind == "huge":
                    self.head(200, [("Content-Length", str(5 * 2**30))])
                    return self.wfile.write(b"\xff" * 1000)
                if kind == "short":
                    self.head(200, [("Content-Length", "10000")])
                    self.wfile.write(jpeg[:100])
                    self.wfile.flush()
                    return self.connection.shutdown(2)
                if kind == "endless":  # no length, more than max_bytes
                    self.head(200, [])
                    for _ in range(100):
                        self.wfile.write(b"\x00" * 65536)
                    return None
                if kind == "text":
                    self.head(200, [("Content-Length", "5")])
                    return self.wfile.write(b"hello")
                if kind == "busy":
                    return self.head(503, [("Retry-After", "100000"), ("Content-Length", "0")])
                if kind == "slowhead":  # headers that never end, a byte at a time
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    for _ in range(50):
                        self.wfile.write(b"a")
                        self.wfile.flush()
                        time.sleep(0.2)
                    return None
                if kind == "slow":
                    self.head(200, [("Content-Length", "1000")])
                    for _ in range(50):
                        self.wfile.write(b"\xff")
                        self.wfile.flush()
                        time.sleep(0.2)
                    return None
                self.head(200, [("Content-Length", str(len(jpeg)))])
                return self.wfile.write(jpeg)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def hostile():
    fake = HostileGeograph()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def test_ids_never_become_paths_outside_the_folder(hostile, tmp_path):
    folder = tmp_path / "a" / "images"
    records = [{"key": key, "uri": f"{hostile.url}/photo/img"}
               for key in ("../../x", "/tmp/abs", "..", "a/b", "ok-1")]
    result = GeographDownloader(folder, rate=1000, allowed_hosts=LOCAL, log=lambda *a: None
                                ).download(records)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "attribution.tsv", "failures.tsv", "ok-1.jpg"]
    assert len(result["failed"]) == 4 and all("plain file name" in f["reason"]
                                              for f in result["failed"])


def test_only_http_urls_on_allowed_hosts_are_fetched(hostile, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    records = [{"key": "1", "uri": secret.as_uri()},                  # a file:// page
               {"key": "2", "uri": f"{hostile.url}/photo/file"},      # names file:///etc/passwd
               {"key": "3", "uri": f"{hostile.url}/photo/other_host"},  # an image elsewhere
               {"key": "4", "uri": f"{hostile.url}/photo/redirect"},  # redirected elsewhere
               {"key": "5", "uri": f"http://localhost:{hostile.port}/photo/img"}]
    folder = tmp_path / "images"
    result = GeographDownloader(folder, rate=1000, allowed_hosts=LOCAL, log=lambda *a: None
                                ).download(records)
    failed = {f["key"]: f["reason"] for f in result["failed"]}
    assert set(failed) == {"1", "2", "3", "4", "5"} and result["downloaded"] == 0
    assert all("refused to fetch" in reason and "127.0.0.1" in reason for reason in failed.values())
    assert not list(folder.glob("*.jpg"))
    with open(folder / "attribution.tsv") as file:
        assert len(file.read().splitlines()) == 1  # the header: nothing was attributed


def test_sizes_short_bodies_non_images_and_waits_are_bounded(hostile, tmp_path):
    slept = []
    downloader = GeographDownloader(tmp_path, rate=1000, retries=1, backoff=0.01, timeout=1.0,
                                    max_bytes=2**20, allowed_hosts=LOCAL, log=lambda *a: None,
                                    sleep=lambda s: slept.append(s) or time.sleep(min(s, 0.01)))
    names = ["huge", "endless", "short", "text", "busy", "slow", "slowhead", "malformed", "img"]
    start = time.monotonic()
    result = downloader.download([{"key": n, "uri": f"{hostile.url}/photo/{n}"} for n in names])
    elapsed = time.monotonic() - start
    failed = {f["key"]: f["reason"] for f in result["failed"]}
    assert result["downloaded"] == 1 and (tmp_path / "img.jpg").is_file()  # the run went on
    assert "announces 5,368,709,120 bytes, more than the limit" in failed["huge"]
    assert "after 1 attempt" in failed["huge"]  # not retried
    assert "more than the limit of 1,048,576 bytes" in failed["endless"]
    assert "cut short" in failed["short"] and "after 2 attempt" in failed["short"]
    assert "not an image that decodes" in failed["text"]
    assert "HTTP 503" in failed["busy"] and max(slept) == 300.0  # Retry-After: 100000, capped
    assert "took longer than 1 s" in failed["slow"] and "took longer than 1 s" in failed["slowhead"]
    assert "malformed image URL" in failed["malformed"]
    assert elapsed < 10, elapsed  # each slow server would hold a per-read timeout for 10 s a try
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attribution.tsv", "failures.tsv",
                                                          "img.jpg"]


@pytest.mark.parametrize("option, value", [("rate", float("nan")), ("rate", 0),
                                           ("rate", float("inf")), ("timeout", float("nan")),
                                           ("retries", -1), ("max_bytes", 0)])
def test_settings_that_would_switch_a_guard_off_are_refused(option, value):
    with pytest.raises(ValueError, match=f"`{option}` must be a finite"):
        GeographDownloader("out", **{option: value})
    with pytest.raises(TypeError, match="a list of host names, not one string"):
        GeographDownloader("out", allowed_hosts="localhost")  # would allow any host ending in "t"


def test_cli_refuses_a_nan_rate_in_one_line(tmp_path, capsys):
    from siam_keras.cli import main

    votes = tmp_path / "votes.tsv"
    votes.write_text("Lat\tLon\tAverage\tVariance\tVotes\tGeograph URI\n")
    assert main(["download-scenic-or-not", "--votes", str(votes), "--out", str(tmp_path / "o"),
                 "--rate", "nan"]) == 2
    err = capsys.readouterr().err
    assert "`rate` must be a finite number > 0. Received: rate=nan" in err
    assert "Traceback" not in err
