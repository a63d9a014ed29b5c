"""Clients of a SIAM model served by TensorFlow Serving (REST), without TensorFlow."""

from siam_keras.serving.rest import RequestRefused, ServingClient, ServingError

__all__ = ["RequestRefused", "ServingClient", "ServingError"]
