"""Scoring many photos with a SIAM model on Apache Beam (`siam score`; `siam-keras[beam]`).

`ScoringModel` tells the three model kinds apart (SavedModel version folder, `.tflite`
with its sidecar, `.keras`) and loads each with its runtime; `list_inputs` lists a
manifest's or a file pattern's photos; `siam_keras.scoring.pipeline` reads them in the
workers, runs the model through Beam's `RunInference` (`SIAMModelHandler`) and writes
one Parquet table with the columns of `siam explain --table`, the failures and,
optionally, the JSON files. Only `pipeline` and `model_handler` import apache_beam.
"""

from siam_keras.scoring.image_inputs import ImageItem, list_inputs
from siam_keras.scoring.scoring_model import ScoringModel

__all__ = ["ImageItem", "ScoringModel", "list_inputs"]
