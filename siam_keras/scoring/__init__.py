"""Scoring many photos with a SIAM model on Apache Beam (`siam score`; `siam-keras[beam]`).

`list_inputs` lists a manifest's or a file pattern's photos; `siam_keras.scoring.pipeline`
reads them in the workers, runs the model (any kind `siam_keras.model_files` loads)
through Beam's `RunInference` (`SIAMModelHandler`) and writes one table with the
columns of `siam explain --table`, the failures and, optionally, the JSON files. Only `pipeline` and `model_handler` import apache_beam.
"""

from siam_keras.scoring.image_inputs import ImageItem, list_inputs

__all__ = ["ImageItem", "list_inputs"]
