"""`SIAMModelHandler`: Apache Beam's `RunInference` running any SIAM model on photos.

`RunInference` (`apache_beam.ml.inference.base`) loads the model once per worker
process (`load_model`), batches the elements (`batch_elements_kwargs`: batches of
`batch_size`) and calls `run_inference` on each batch. The elements are
`(ImageKey, pixels)` pairs (`siam_keras.scoring.photo_reader`); each comes out as a
`ScoringResult`: the photo's table row (the columns of `siam explain --table`), its
JSON record if asked for, or, when its explanation does not add up or the model
refuses it, the reason, so that one photo fails alone and never the job. Beam's own
TensorFlow handlers load models with `tf.keras.models.load_model`, which cannot load
a Keras 3 SavedModel; this one loads each kind with its own runtime
(`ModelFile.load`). Imports apache_beam: only `siam score` imports this module.
"""

import logging
import os
import time

import numpy as np
from apache_beam.ml.inference.base import ModelHandler

from siam_keras.model_files import ModelFile
from siam_keras.runtime.argument_validation import positive_int
from siam_keras.runtime.explanation import DEFAULT_TOP_K, ExplanationError
from siam_keras.runtime.explanation_table import explanation_row
from siam_keras.runtime.failing_alone import explain_each_alone_on_failure
from siam_keras.runtime.file_explanations import DEFAULT_BATCH_SIZE, explanation_record
from siam_keras.runtime.output_folder import display_path
from siam_keras.runtime.prediction_explainer import checked_top_k
from siam_keras.scoring.scoring_result import ScoringResult

_LOG = logging.getLogger(__name__)
#: What one photo's forward pass or explanation may raise without failing the job
#: (`SavedModelExplainer` turns TensorFlow's errors into RuntimeError).
PHOTO_ERRORS = (ExplanationError, ValueError, RuntimeError, ArithmeticError)


class SIAMModelHandler(ModelHandler):
    """Runs a SIAM model (SavedModel, `.tflite` or `.keras`) on batches of photos.

    Args:
        model_path: the model (see `ModelFile`).
        top_k: attributes ranked per output (`<output>.top_k`).
        batch_size: photos per forward pass.
        records: also make each photo's explanation JSON record.
        num_threads: LiteRT's CPU threads for a `.tflite` model (None: its default).

    Example:
    >>> from apache_beam.ml.inference.base import RunInference
    >>> results = keyed_pixels | RunInference(SIAMModelHandler("export/saved_model/1"))
    """

    def __init__(self, model_path, top_k=DEFAULT_TOP_K, batch_size=DEFAULT_BATCH_SIZE,
                 records=False, num_threads=None):
        batch_size = positive_int("batch_size", batch_size)
        super().__init__(min_batch_size=batch_size, max_batch_size=batch_size)
        self.model_path = str(model_path)
        self.top_k = checked_top_k(top_k)
        self.batch_size = batch_size
        self.records = bool(records)
        self.num_threads = num_threads

    def load_model(self):
        """The model's explainer (once per worker process)."""
        start = time.perf_counter()
        explainer = ModelFile(self.model_path).load(self.num_threads, "siam score")
        _LOG.info("siam score: loaded %s in %.1f s (process %d)", self.model_path,
                  time.perf_counter() - start, os.getpid())
        return explainer

    def run_inference(self, batch, model, inference_args=None):
        """One `ScoringResult` per `(ImageKey, pixels)` of the batch, in order.

        The batch runs as one forward pass; if that fails (an explanation that does
        not add up, a model error), each photo is run alone, so that only the photos
        at fault fail.
        """
        keys = [key for key, _ in batch]
        pixels = np.stack([image for _, image in batch])
        outcomes = explain_each_alone_on_failure(model, pixels, self.top_k, PHOTO_ERRORS)
        return [self._result(key, outcome) for key, outcome in zip(keys, outcomes)]

    def _result(self, key, outcome):
        shown = display_path(key.image)
        if isinstance(outcome, ExplanationError):
            return ScoringResult(shown,
                                 error=f"{shown}: its explanation does not add up ({outcome})")
        if isinstance(outcome, Exception):
            return ScoringResult(shown, error=f"{shown}: the model failed on it "
                                              f"({type(outcome).__name__}: {outcome})")
        explanation, index = outcome
        row = explanation_row(explanation, index, shown, key.location)
        record = (explanation_record(key.photo(), explanation, index, self.model_path,
                                     key.location) if self.records else None)
        return ScoringResult(shown, row=row, record=record, json_name=key.json_name)

    def get_num_bytes(self, batch):
        """The batch's pixel bytes (Beam's default pickles the batch to count them)."""
        return int(sum(np.asarray(image).nbytes for _, image in batch))

    def get_metrics_namespace(self):
        return "siam_score"
