import csv
import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from siam_keras.data.geograph import GeographDownloader, page_metadata

NOT_FOUND, ALWAYS_FAILS, FAILS_ONCE, NO_IMAGE = "13", "14", "15", "16"


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
                    page = (f'<html><head><meta property="og:title" content="Hill &amp; dale {number}" '
                            f'/>{image}</head><body>by <a rel="author" property="cc:attributionName" '
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

    first = GeographDownloader(tmp_path, rate=200, retries=2, backoff=0.01, log=stop_after_three)
    with pytest.raises(Interrupt):
        first.download(records)
    assert sorted(p.name for p in tmp_path.glob("*.jpg")) == ["10.jpg", "11.jpg", "12.jpg"]
    result = GeographDownloader(tmp_path, rate=200, retries=2, backoff=0.01,
                                log=lambda *a: None).download(records)
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
    GeographDownloader(tmp_path, rate=20, log=lambda *a: None).download(
        geograph.records(["21", "22", "23"]))
    gaps = [b - a for a, b in zip(geograph.times, geograph.times[1:])]
    assert len(gaps) == 5 and min(gaps) >= 0.045


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
                 "--rate", "100"])
    assert code == 1
    captured = capsys.readouterr()
    assert "Downloaded 1, 0 already there, 1 failed" in captured.out
    assert f"{geograph.url}/photo/{NOT_FOUND}: HTTP 404" in captured.err
    assert (tmp_path / "images" / "31.jpg").is_file()
    assert main(["download-scenic-or-not", "--votes", str(tmp_path / "none.tsv"), "--out",
                 str(tmp_path)]) == 2
