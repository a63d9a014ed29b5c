"""Clients of a SIAM model served by TensorFlow Serving (REST), without TensorFlow."""

from siam_keras.serving.rest import ServingClient, ServingError

__all__ = ["ServingClient", "ServingError"]
