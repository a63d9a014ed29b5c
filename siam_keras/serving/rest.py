"""`ServingClient`: TensorFlow Serving REST requests and responses for an exported SIAM model.

Builds `:predict` request bodies in both of TF Serving's layouts (row: `instances`,
columnar: `inputs`) for either signature (`serving_default` with pixels,
`serve_image_bytes` with `{"b64": ...}` PNG bytes), and turns either response form
(`predictions` or `outputs`) into the same explanation JSON as `siam explain`.
Images are read and resized on the client (`siam_keras.runtime.images`), so the server sees
exactly the pixels every other runtime feeds the model. `explain` sends them in
batches of at most `DEFAULT_BATCH_SIZE` and reports each image that fails (unreadable,
or refused by the server) by name, with the others explained.
"""

import base64
import io
import json

import numpy as np

from siam_keras import vocabulary
from siam_keras.runtime.argument_validation import positive_int
from siam_keras.runtime.explanation import DEFAULT_TOP_K, ExplanationError
from siam_keras.runtime.file_explanations import explanation_record
from siam_keras.runtime.images import ImageError, Photo, pixel_batch, read_photo, resize_for_model
from siam_keras.runtime.json_schema import strict_json
from siam_keras.runtime.output_folder import display_path
from siam_keras.runtime.prediction_explainer import PredictionExplainer
from siam_keras.runtime.sidecar import ModelSidecar

SIGNATURES = {vocabulary.PIXELS_SIGNATURE: vocabulary.PIXELS_INPUT,
              vocabulary.BYTES_SIGNATURE: vocabulary.BYTES_INPUT}
LAYOUTS = ("row", "columnar")


#: Images per `:predict` request (a batch of 450 px pixel lists is about 60 MB of JSON).
DEFAULT_BATCH_SIZE = 16
#: The largest reply read (16 images' attribute maps of 102 attributes on a 64 x 64 grid
#: are about 80 MB of JSON): a server that sends more is cut off, not held in memory.
DEFAULT_MAX_REPLY_BYTES = 256_000_000


class ServingError(RuntimeError):
    """The server could not be reached, or answered with something that is not TF
    Serving's JSON; the message says which."""


class RequestRefused(ServingError):
    """The server answered a request with an error (its message included)."""


def _png(pixels):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class ServingClient(PredictionExplainer):
    """Talks to `tensorflow_model_server --rest_api_port` serving `EXPORT_DIR/saved_model`.

    Args:
        sidecar: the export's `ModelSidecar` or its path (`EXPORT_DIR/tflite/siam_model.json`,
            or `saved_model/<N>/assets/siam_model.json`).
        url: the server, e.g. `http://localhost:8501` (needed only by `explain`).
        model_name: the name the server serves the model under (`MODEL_NAME`).
        timeout: seconds a request may take in all, from connecting to the reply's last
            byte.
        max_reply_bytes: the largest reply accepted (`DEFAULT_MAX_REPLY_BYTES`).

    Proxies set in the environment (`HTTP_PROXY`, ...) are not used: requests go to
    `url`'s server itself.

    Example:
    >>> client = ServingClient("export/tflite/siam_model.json", "http://localhost:8501")
    >>> records = client.explain(["photo.jpg", "broken.jpg"], signature="serve_image_bytes")
    >>> records[0]["outputs"]["scenicness"]["value"]
    >>> records[1]["error"]          # the others are explained all the same
    """

    def __init__(self, sidecar, url=None, model_name="siam", timeout=60,
                 max_reply_bytes=DEFAULT_MAX_REPLY_BYTES):
        self.sidecar = sidecar if isinstance(sidecar, ModelSidecar) else ModelSidecar.load(sidecar)
        self.head, self.image_size = self.sidecar.head, tuple(self.sidecar.image_size)
        self.url = url.rstrip("/") if url else None
        self.model_name = model_name
        for name, value in (("timeout", timeout), ("max_reply_bytes", max_reply_bytes)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"`{name}` must be a positive number. Received: {name}={value!r}")
        self.timeout = timeout
        self.max_reply_bytes = max_reply_bytes

    @property
    def endpoint(self):
        return f"{self.url}/v1/models/{self.model_name}:predict"

    def photos(self, images):
        """`Photo`s of image paths (read as every runtime reads them, a large JPEG at
        the model's scale) or of `Photo`s."""
        return [image if isinstance(image, Photo) else read_photo(image, target_size=self.image_size)
                for image in images]

    def request(self, photos, signature=vocabulary.PIXELS_SIGNATURE, layout="row"):
        """The JSON body (a dict) of a `:predict` request for these photos."""
        if signature not in SIGNATURES:
            raise ValueError(f"Unknown signature {signature!r}. Choose one of: {', '.join(SIGNATURES)}")
        if layout not in LAYOUTS:
            raise ValueError(f"Unknown layout {layout!r}. Choose one of: {', '.join(LAYOUTS)}")
        if not photos:
            raise ValueError("A request needs at least one image")
        height, width = self.sidecar.image_size
        pixels = [resize_for_model(photo, height, width) for photo in self.photos(photos)]
        if signature == vocabulary.PIXELS_SIGNATURE:
            values = [p.astype("float32").tolist() for p in pixels]
        else:
            values = [{"b64": _png(p)} for p in pixels]
        name = SIGNATURES[signature]
        if layout == "row":
            return {"signature_name": signature, "instances": [{name: v} for v in values]}
        return {"signature_name": signature, "inputs": {name: values}}

    def predictions(self, response):
        """{output: (B, ...) array} from a response body in either layout, checked: every
        output the sidecar names, numbers of the shapes a SIAM model gives, one batch.

        Raises:
            RequestRefused: the server refused the request (its error included).
            ServingError: anything else that is not this model's reply, naming what.
        """
        if isinstance(response, (str, bytes)):
            try:
                response = strict_json(response)
            except ValueError:  # nesting too deep included
                raise ServingError(f"Not JSON: {response[:200]!r}") from None
        if not isinstance(response, dict):
            raise ServingError(f"Not a TF Serving response: {str(response)[:200]}")
        if "error" in response:
            raise RequestRefused(f"The server answered: {str(response['error'])[:2000]}")
        if "outputs" in response and isinstance(response["outputs"], dict):
            found = response["outputs"]
        else:
            rows = response.get("predictions")
            if not (isinstance(rows, list) and rows and all(isinstance(row, dict) for row in rows)):
                raise ServingError("The response has neither 'predictions' (a list of named "
                                   f"outputs per image) nor 'outputs'. Keys: {sorted(response)[:20]}")
            found = {key: [row.get(key) for row in rows] for key in rows[0]}
        return self._checked(found)

    def _checked(self, found):
        """The reply's outputs as float32 arrays, after checking names, types and shapes."""
        names = self.head.output_names
        kinds = self.head.output_kinds
        expected = {vocabulary.ATTRIBUTE_MAPS: 4, vocabulary.ATTRIBUTE_SCORES: 2,
                    **{name: 1 + len(kinds[name].shape) for name in names},
                    **{vocabulary.contributions_key(name): 2 + len(kinds[name].shape)
                       for name in names}}
        if set(found) != set(expected):
            raise ServingError(f"The reply's outputs are {sorted(map(str, found))[:20]}; this "
                               f"model's are {sorted(expected)}")
        arrays, num_attributes = {}, len(self.head.attribute_names)
        for key, rank in expected.items():
            try:
                array = np.asarray(found[key], dtype="float32")
            except (ValueError, TypeError, OverflowError):
                raise ServingError(f"The reply's {key} is not an array of numbers (ragged, or "
                                   f"holding text)") from None
            if array.ndim != rank:
                raise ServingError(f"The reply's {key} has shape {array.shape}; expected {rank} "
                                   "dimensions")
            arrays[key] = array
        batch = {len(array) for array in arrays.values()}
        sides = {vocabulary.ATTRIBUTE_MAPS: arrays[vocabulary.ATTRIBUTE_MAPS].shape[-1],
                 vocabulary.ATTRIBUTE_SCORES: arrays[vocabulary.ATTRIBUTE_SCORES].shape[-1],
                 **{vocabulary.contributions_key(name):
                    arrays[vocabulary.contributions_key(name)].shape[1] for name in names}}
        wrong = [key for key, side in sides.items() if side != num_attributes]
        wrong += [name for name in names
                  if arrays[name].shape[1:] != kinds[name].shape]
        if len(batch) != 1 or wrong:
            raise ServingError(f"The reply's shapes do not fit this model ({num_attributes} "
                               f"attributes, one batch): "
                               f"{ {key: arrays[key].shape for key in (wrong or arrays)} }")
        return arrays

    def predict(self, images):
        """The served model's outputs on (B, H, W, 3) pixels at its input size
        (`serving_default` requests of at most `DEFAULT_BATCH_SIZE` images): so
        `client(images)` is a `SIAMExplanation`."""
        pixels = pixel_batch(images, self.image_size)
        parts = []
        for start in range(0, len(pixels), DEFAULT_BATCH_SIZE):
            sent = pixels[start : start + DEFAULT_BATCH_SIZE]
            part = self.predictions(self.post({
                "signature_name": vocabulary.PIXELS_SIGNATURE,
                "instances": [{vocabulary.PIXELS_INPUT: p.tolist()} for p in sent]}))
            if len(part[vocabulary.ATTRIBUTE_SCORES]) != len(sent):
                raise ServingError(f"The reply holds {len(part[vocabulary.ATTRIBUTE_SCORES])} "
                                   f"images; {len(sent)} were sent")
            parts.append(part)
        return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}

    def explain_response(self, response, photos, top_k=DEFAULT_TOP_K):
        """The explanation JSON records (as `siam explain` writes) of a response."""
        explanation = self.explain_predictions(self.predictions(response), top_k)
        if len(explanation) != len(photos):
            raise ServingError(f"The response holds {len(explanation)} images; {len(photos)} were sent")
        return [explanation_record(photo, explanation, i, self.endpoint)
                for i, photo in enumerate(photos)]

    def post(self, body):
        """POSTs a request body; returns the parsed JSON response (a 400's error included:
        the server refused these inputs, `predictions` raises `RequestRefused`).

        The whole exchange takes at most `timeout` seconds (a server that trickles bytes
        is cut off at the deadline), a reply may hold at most `max_reply_bytes`, and a
        redirect is followed only to the same server (scheme, host and port).

        Raises:
            ServingError: the server cannot be reached, is too slow, redirects elsewhere,
                sends too much, its reply is not JSON, or it answered with another error
                status (404: no such model; 5xx), which would fail every request alike.
        """
        if not self.url:
            raise ValueError("ServingClient needs a url to send requests")
        from siam_keras.data.download.guarded_http import DownloadError, GuardedFetcher, Retryable

        data = json.dumps(body).encode("utf-8")
        try:
            fetcher = GuardedFetcher([self._host()], self.timeout, self.max_reply_bytes)
            status, _, _, text = fetcher.request(self.endpoint, "POST", data, {
                "Content-Type": "application/json", "User-Agent": "siam-keras ServingClient"},
                same_origin=True)
        except Retryable as error:  # the network, or the deadline
            raise ServingError(f"{self.endpoint} cannot be reached in time: {error}") from None
        except DownloadError as error:
            raise ServingError(f"{self.endpoint}: {error}") from None
        if status == 413:  # too large for the server (or a proxy): smaller batches may pass
            raise RequestRefused(f"{self.endpoint}: HTTP 413, the request is too large")
        try:
            answer = strict_json(text.decode("utf-8", errors="replace"))
        except ValueError:
            shown = text[:200].decode("utf-8", errors="replace")
            raise ServingError(f"{self.endpoint}: the reply (HTTP {status}) is not JSON: "
                               f"{shown!r}") from None
        if status > 400:  # 400 refuses this request's inputs; 404, 5xx would fail them all
            message = answer.get("error", answer) if isinstance(answer, dict) else answer
            raise ServingError(f"{self.endpoint}: HTTP {status}: {str(message)[:2000]}")
        return answer

    def _host(self):
        import urllib.parse

        try:
            host = urllib.parse.urlsplit(self.url).hostname
        except ValueError:
            host = None
        if not host:
            raise ValueError(f"ServingClient's url must be http(s)://HOST[:PORT]. Received: "
                             f"{self.url!r}")
        return host

    def _explain_batch(self, photos, signature, layout, top_k):
        """The records of one request; a refused request or an explanation that does not
        add up is sent again image by image, so that one image fails alone."""
        try:
            return self.explain_response(self.post(self.request(photos, signature, layout)),
                                         photos, top_k)
        except (RequestRefused, ExplanationError) as error:
            if len(photos) == 1:
                return [{"image": display_path(photos[0].path), "error": str(error)}]
            return [record for photo in photos
                    for record in self._explain_batch([photo], signature, layout, top_k)]

    def explain(self, images, signature=vocabulary.PIXELS_SIGNATURE, layout="row", top_k=DEFAULT_TOP_K,
                batch_size=DEFAULT_BATCH_SIZE):
        """Sends the images, `batch_size` per request, and returns one record per image.

        Each record is the explanation (as `siam explain` writes it) or, for an image
        that cannot be read or that the server refused, `{"image": path, "error":
        reason}`: one bad image fails alone, the others are explained.

        Raises:
            ServingError: the server cannot be reached, or answers with something that
                is not TF Serving's JSON.
        """
        batch_size = positive_int("batch_size", batch_size)
        records, pending = [], []

        def flush():
            records.extend(self._explain_batch(pending, signature, layout, top_k))
            pending.clear()

        for image in images:
            try:
                photo = (image if isinstance(image, Photo)
                         else read_photo(image, target_size=self.image_size))
            except (ImageError, FileNotFoundError) as error:
                if pending:
                    flush()
                records.append({"image": display_path(image), "error": str(error)})
                continue
            pending.append(photo)
            if len(pending) == batch_size:
                flush()
        if pending:
            flush()
        return records
