import json

import numpy as np
import pytest
from PIL import Image

from siam_keras.serving import ServingClient, ServingError
from tests.fake_tf_serving import FakeTFServing

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tiny_export):
    with FakeTFServing(tiny_export / "saved_model" / "1") as fake:
        yield fake


@pytest.fixture(scope="module")
def photos(tmp_path_factory, tiny_scenes):
    folder = tmp_path_factory.mktemp("served")
    Image.fromarray(tiny_scenes["image"][0]).resize((90, 60)).save(folder / "wide.jpg", quality=95)
    Image.fromarray(tiny_scenes["image"][1]).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(tiny_scenes["image"][2]).save(folder / "scene.png")
    return sorted(folder.iterdir())


@pytest.mark.parametrize("signature", ["serving_default", "serve_image_bytes"])
@pytest.mark.parametrize("layout", ["row", "columnar"])
def test_every_request_form_gives_siam_explains_json(server, tiny_export, tiny_models, photos,
                                                     tmp_path, signature, layout):
    client = ServingClient(tiny_export / "tflite" / "siam_model.json", server.url)
    records = client.explain(photos, signature=signature, layout=layout, top_k=3)
    sent = server.requests[-1]
    assert sent["signature_name"] == signature
    assert ("instances" in sent) == (layout == "row") and ("inputs" in sent) == (layout == "columnar")
    if signature == "serve_image_bytes":
        first = sent["instances"][0]["image_bytes"] if layout == "row" else sent["inputs"]["image_bytes"][0]
        assert set(first) == {"b64"}
    from siam_keras.cli import main

    assert main(["explain", "--model", str(tiny_models[0]), *map(str, photos), "--out",
                 str(tmp_path), "--top-k", "3"]) == 0
    for photo, record in zip(photos, records):
        expected = json.loads((tmp_path / f"{photo.stem}.json").read_text())
        assert record.keys() - {"figure"} == expected.keys() - {"figure"}
        assert record["image"] == expected["image"] and record["source"] == expected["source"]
        for output, entry in expected["outputs"].items():
            got = record["outputs"][output]
            assert abs(got["value"] - entry["value"]) < 1e-5
            assert [t["attribute"] for t in got["top_k"]] == [t["attribute"] for t in entry["top_k"]]
            np.testing.assert_allclose(got["spatial_contributions"], entry["spatial_contributions"],
                                       atol=1e-5)


def test_errors_are_named(server, tiny_export, photos):
    client = ServingClient(tiny_export / "tflite" / "siam_model.json", server.url)
    body = client.request(client.photos(photos[:1]))
    body["instances"][0]["image"] = [[0.0] * 3] * 5  # the wrong shape
    with pytest.raises(ServingError, match=r"The server answered: .*must be \(batch, 32, 32, 3\)"):
        client.predictions(client.post(body))
    with pytest.raises(ValueError, match="Unknown signature 'classify'"):
        client.request(client.photos(photos[:1]), signature="classify")
    with pytest.raises(ValueError, match="Unknown layout"):
        client.request(client.photos(photos[:1]), layout="rows")
    with pytest.raises(ServingError, match="Servable not found"):
        ServingClient(client.sidecar, server.url, model_name="other").explain(photos[:1])
    with pytest.raises(ServingError, match="cannot be reached"):
        ServingClient(client.sidecar, "http://127.0.0.1:9", timeout=5).explain(photos[:1])
    with pytest.raises(ServingError, match="neither 'predictions'"):
        client.predictions({"result": []})


def test_images_go_in_batches_and_each_failure_is_reported_alone(server, tiny_export, photos,
                                                                 tmp_path):
    """Five images in batches of two; one file is not an image and one image is refused
    by the server (which fails its whole request): both are reported by name, and the
    other three are explained."""
    (tmp_path / "broken.jpg").write_text("not a jpeg")
    images = [photos[0], tmp_path / "broken.jpg", photos[1], photos[2], photos[0]]
    client = ServingClient(tiny_export / "tflite" / "siam_model.json", server.url)
    refused = client.request(client.photos([photos[2]]))["instances"][0]["image"]
    server.refuse = lambda row: "this image is refused" if row["image"] == refused else None
    server.requests.clear()
    try:
        records = client.explain(images, batch_size=2, top_k=3)
    finally:
        server.refuse = lambda row: None
    assert [("error" in r) for r in records] == [False, True, False, True, False]
    assert "broken.jpg" in records[1]["image"] and "not an image" in records[1]["error"]
    assert records[3]["image"].endswith(photos[2].name)
    assert "this image is refused" in records[3]["error"]
    assert all(len(r.get("instances", [])) <= 2 for r in server.requests)
    for record, photo in zip([records[0], records[2], records[4]], [photos[0], photos[1], photos[0]]):
        assert record["image"] == str(photo) and "scenicness" in record["outputs"]


def test_a_reply_that_is_not_json_is_a_serving_error(tiny_export, photos):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Proxy(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b"<html><body>502 Bad Gateway</body></html>"
            self.send_response(502)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        client = ServingClient(tiny_export / "tflite" / "siam_model.json",
                               f"http://127.0.0.1:{httpd.server_address[1]}")
        with pytest.raises(ServingError, match=r"reply \(HTTP 502\) is not JSON: .*Bad Gateway"):
            client.explain(photos[:1])
        with pytest.raises(ServingError, match="Not JSON"):
            client.predictions("<html>")
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_client_is_an_explainer_on_the_shared_prediction_path(server, tiny_export,
                                                                  tiny_siam, tiny_scenes):
    from siam_keras.explanations import SIAMExplainer
    from siam_keras.runtime.prediction_explainer import PredictionExplainer

    client = ServingClient(tiny_export / "tflite" / "siam_model.json", server.url)
    assert isinstance(client, PredictionExplainer)
    images = tiny_scenes["image"][:3]
    served, local = client(images, top_k=3), SIAMExplainer(tiny_siam)(images, top_k=3)
    for name in local.output_names:
        np.testing.assert_allclose(served.outputs[name].spatial_contributions,
                                   local.outputs[name].spatial_contributions, atol=1e-5)


def test_a_large_jpeg_is_sent_as_decoded_at_the_models_scale(tmp_path):
    from siam_keras.runtime.images import read_photo, resize_for_model
    from siam_keras.runtime.sidecar import ModelSidecar
    from tests.real_photos import real_photos

    with Image.open(real_photos()[0]) as image:  # the astronaut, 512 x 512
        image.convert("RGB").resize((800, 600), Image.LANCZOS).save(tmp_path / "big.jpg", quality=90)
    client = ServingClient(ModelSidecar("m", ("a",), ("s",), (32, 48), head=None))
    [photo] = client.photos([tmp_path / "big.jpg"])
    assert photo.decode_scale == 8 and (photo.source_width, photo.source_height) == (800, 600)
    body = client.request([tmp_path / "big.jpg"])
    sent = np.asarray(body["instances"][0]["image"])
    drafted = read_photo(tmp_path / "big.jpg", target_size=(32, 48))
    np.testing.assert_array_equal(sent, resize_for_model(drafted, 32, 48))


class _Hostile:
    """A server on 127.0.0.1 whose POST handler is `reply(handler)`; counts requests."""

    def __init__(self, reply):
        import http.server
        import threading

        outer = self
        self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                outer.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                reply(self)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _json_reply(body, status=200):
    def reply(handler):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    return reply


def _trickle(handler):
    import time

    handler.send_response(200)
    handler.end_headers()
    try:
        for _ in range(40):  # a byte every half second: each socket read succeeds in time
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.5)
    except OSError:
        pass


def _flood(handler):
    handler.send_response(200)
    handler.end_headers()
    try:
        for _ in range(200):
            handler.wfile.write(b"[" * 65536)
    except OSError:
        pass


def test_a_trickling_server_is_cut_off_at_the_deadline(tiny_export, photos):
    """timeout was per socket read: a byte every 2 s held a timeout=5 request over 60 s."""
    import time

    hostile = _Hostile(_trickle)
    try:
        client = ServingClient(tiny_export / "tflite" / "siam_model.json", hostile.url, timeout=2)
        start = time.monotonic()
        with pytest.raises(ServingError, match="longer than 2 s"):
            client.explain(photos[:1])
        assert time.monotonic() - start < 6
    finally:
        hostile.close()


def test_a_reply_larger_than_the_cap_is_refused_not_held(tiny_export, photos):
    hostile = _Hostile(_flood)
    try:
        client = ServingClient(tiny_export / "tflite" / "siam_model.json", hostile.url,
                               max_reply_bytes=1_000_000)
        with pytest.raises(ServingError, match="more than the limit of 1,000,000 bytes"):
            client.explain(photos[:1])
    finally:
        hostile.close()


def test_a_redirect_to_another_server_is_not_followed(tiny_export, photos, server):
    """A 307 to another origin was followed, and its predictions accepted."""
    other = _Hostile(_json_reply({"predictions": []}))

    def redirect(handler):
        handler.send_response(307)
        handler.send_header("Location", other.url + "/v1/models/siam:predict")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    hostile = _Hostile(redirect)
    try:
        client = ServingClient(tiny_export / "tflite" / "siam_model.json", hostile.url)
        with pytest.raises(ServingError, match="redirect to another server"):
            client.explain(photos[:1])
        assert other.requests == 0
    finally:
        hostile.close()
        other.close()


def test_every_malformed_reply_is_a_serving_error_naming_what(tiny_export, photos, server):
    client = ServingClient(tiny_export / "tflite" / "siam_model.json", server.url)
    good = client.post(client.request(client.photos(photos[:2])))
    outputs = {key: np.asarray(value) for key, value in
               ((k, [row[k] for row in good["predictions"]]) for k in good["predictions"][0])}

    def reply(change):
        body = {key: value.tolist() for key, value in outputs.items()}
        change(body)
        return {"outputs": body}

    cases = [
        (lambda b: b.update(attribute_maps=np.zeros((2, 3, 3)).tolist()), "attribute_maps has shape"),
        (lambda b: b.update(attribute_scores=[[0.1, 0.2], [0.3]]), "attribute_scores is not an array"),
        (lambda b: b.update(scenicness=["high", "low"]), "scenicness is not an array of numbers"),
        (lambda b: b.pop("scenicness_contributions"), "this model's are"),
        (lambda b: b.update(attribute_scores=np.zeros((2, 5)).tolist()), "do not fit this model"),
        (lambda b: b.update(scenicness=[1.0, 2.0, 3.0]), "one batch"),
    ]
    for change, message in cases:
        with pytest.raises(ServingError, match=message):
            client.predictions(reply(change))
    assert len(client.predictions({"outputs": {k: v.tolist() for k, v in outputs.items()}})[
        "scenicness"]) == 2
