"""A stand-in for `tensorflow_model_server --rest_api_port` on 127.0.0.1, for tests.

No model server can be installed here (REFERENCE §3), so this serves one SavedModel
through its real signatures with TF Serving's documented REST semantics
(tensorflow/serving g3doc api_rest.md): `POST /v1/models/<name>:predict` takes
`signature_name` and `instances` (row) or `inputs` (columnar); `{"b64": ...}` values
are binary; the answer is `predictions` (a list of named outputs per instance) or
`outputs` (named batches), or `{"error": message}` with an HTTP error status;
`GET /v1/models/<name>` and `.../metadata` give the status and the signatures.
"""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _decode(value):
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, dict):
        return {key: _decode(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class FakeTFServing:
    def __init__(self, saved_model_dir, model_name="siam", port=0):
        import tensorflow as tf

        self.tf = tf
        self.model = tf.saved_model.load(str(saved_model_dir))
        self.model_name = model_name
        self.requests = []
        #: refuse(instance) -> an error message or None: a refused instance fails its
        #: whole request, as a bad instance does in TF Serving.
        self.refuse = lambda instance: None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, answer):
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self.reply(*server.status(self.path))

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                self.reply(*server.answer(self.path, body))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def status(self, path):
        """GET /v1/models/<name> (the version's state) and .../metadata (the signatures)."""
        base = f"/v1/models/{self.model_name}"
        if path == base:
            return 200, {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                                   "status": {"error_code": "OK"}}]}
        if path == f"{base}/metadata":
            signatures = {
                name: {"inputs": {key: {"dtype": spec.dtype.name}
                                  for key, spec in function.structured_input_signature[1].items()},
                       "outputs": {key: {"dtype": spec.dtype.name}
                                   for key, spec in function.structured_outputs.items()}}
                for name, function in self.model.signatures.items()}
            return 200, {"model_spec": {"name": self.model_name, "version": "1"},
                         "metadata": {"signature_def": {"signature_def": signatures}}}
        return 404, {"error": f"Servable not found for request: {path}"}

    def answer(self, path, body):
        tf = self.tf
        if path != f"/v1/models/{self.model_name}:predict":
            return 404, {"error": f"Servable not found for request: {path}"}
        try:
            request = json.loads(body)
            self.requests.append(request)
            signature = self.model.signatures[request.get("signature_name", "serving_default")]
            if "instances" in request:
                rows = [_decode(row) for row in request["instances"]]
                refusals = [message for message in map(self.refuse, rows) if message]
                if refusals:
                    return 400, {"error": refusals[0]}
                inputs = {key: [row[key] for row in rows] for key in rows[0]}
            else:
                inputs = {key: _decode(value) for key, value in request["inputs"].items()}
            specs = signature.structured_input_signature[1]
            tensors = {key: tf.constant(value, dtype=specs[key].dtype) for key, value in inputs.items()}
            outputs = {key: value.numpy() for key, value in signature(**tensors).items()}
        except (KeyError, ValueError, TypeError, tf.errors.OpError) as error:
            return 400, {"error": " ".join(str(error).split())[:2000]}
        if "instances" in request:
            count = len(next(iter(outputs.values())))
            return 200, {"predictions": [{k: v[i].tolist() for k, v in outputs.items()}
                                         for i in range(count)]}
        return 200, {"outputs": {k: v.tolist() for k, v in outputs.items()}}
