"""The web page in a real browser: Debian's Chromium, headless, driven by Playwright.

`served(folder)` serves a folder on 127.0.0.1 (any static server would do; this one
is in the standard library) and `browser()` starts the system Chromium (Playwright's
own browser download cannot be fetched here; `make test` installs Debian's).
"""

import contextlib
import functools
import http.server
import shutil
import threading

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
#: A phone's screen (CSS px), for the layout and docs/deployment.md's screenshot.
PHONE = {"width": 390, "height": 844}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def served(folder):
    """Yields the http://127.0.0.1:PORT/ URL of `folder`, served until the block ends."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium_path():
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError("No Chromium found for the browser tests: `make test` installs "
                            "Debian's (apt-get install chromium).")


@contextlib.contextmanager
def browser():
    """A headless system Chromium (Playwright's Browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(),
                                              args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(chromium, url, viewport=PHONE, timeout_ms=60_000):
    """A new page at `url`, once the model is loaded; page errors are collected in
    `page.errors` (JavaScript exceptions fail the tests that check them)."""
    page = chromium.new_page(viewport=viewport)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(url)
    page.wait_for_function("document.body.dataset.ready !== undefined", timeout=timeout_ms)
    assert page.evaluate("document.body.dataset.ready") == "true", page.inner_text("#status")
    return page


def explain_file(page, path, timeout_ms=30_000):
    """Gives the page a photo through its file picker and waits for its explanation;
    returns what it shows: an error message, or the numbers behind the display."""
    before = int(page.evaluate("document.body.dataset.explained || 0"))
    page.evaluate("document.getElementById('error').textContent = ''")
    page.set_input_files("#picker", str(path))
    page.wait_for_function(
        f"Number(document.body.dataset.explained || 0) > {before} || "
        "document.getElementById('error').textContent !== ''", timeout=timeout_ms)
    return page.evaluate("""() => {
      const error = document.getElementById('error');
      if (!error.hidden && error.textContent) return {error: error.textContent};
      const r = window.siamPage.result;
      const outputs = Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, Array.from(v)]));
      const shown = Array.from(document.querySelectorAll('#bars .bar-row.attribute'))
        .map((row) => [row.dataset.attribute, Number(row.dataset.value)]);
      const headline = document.querySelector('#prediction .headline');
      return {outputs, shown: Object.fromEntries(shown), value: Number(headline.dataset.value),
              output: headline.dataset.output, pixels: Array.from(r.pixels), timing: r.timing};
    }""")
