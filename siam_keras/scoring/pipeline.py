"""The `siam score` pipeline: photos -> SIAM explanations -> one table, on Apache Beam.

    ImageItems --Create--> ReadPhotos --(ImageKey, pixels)--> RunInference(SIAMModelHandler)
        --> rows: FILE.parquet or FILE.csv              (the columns of `siam explain --table`)
        --> failures (unreadable, not explained, bad manifest rows): FILE.csv or FILE.parquet
        --> records: one JSON file per photo             (optional, as `siam explain` writes)

The photos are read and resized by the workers, the model is loaded once per worker
process, and a photo that cannot be read or explained goes to the failures (image,
reason) without failing the job. Any runner runs it (DirectRunner, Dataflow, Flink,
Spark): the pipeline options are Beam's own. Imports apache_beam and pyarrow.
"""

import json
import logging
import os

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from siam_keras.runtime.atomic import write_json
from siam_keras.runtime.explanation_table import csv_line, table_columns, table_schema
from siam_keras.runtime.image_opening import reason_without_name
from siam_keras.runtime.images import DEFAULT_MAX_PIXELS, ImageError
from siam_keras.runtime.output_folder import SUMMARY, listed_outputs, printable
from siam_keras.runtime.uris import is_uri
from siam_keras.scoring.model_handler import DEFAULT_BATCH_SIZE, SIAMModelHandler
from siam_keras.scoring.photo_reader import DEFAULT_MAX_BYTES, PhotoReader
from siam_keras.scoring.scoring_result import ScoringResult

NAMESPACE = "siam_score"
#: The failures table's columns.
FAILURE_COLUMNS = {"image": "string", "reason": "string"}
_FAILED, _RECORDS = "failures", "records"
_LOG = logging.getLogger(__name__)


class ReadPhotos(beam.DoFn):
    """`ImageItem` -> `(ImageKey, pixels)`; a photo that cannot be read -> the failures."""

    def __init__(self, image_size, max_pixels, max_bytes):
        self.reader = PhotoReader(image_size, max_pixels, max_bytes)
        self.failed = Metrics.counter(NAMESPACE, "failed")

    def process(self, item):
        try:
            yield self.reader(item)
        except (ImageError, FileNotFoundError) as error:  # their messages name the image
            self.failed.inc()
            yield beam.pvalue.TaggedOutput(_FAILED, ScoringResult(item.image, error=str(error)))
        except (OSError, ValueError) as error:
            self.failed.inc()
            yield beam.pvalue.TaggedOutput(_FAILED, ScoringResult(
                item.image, error=f"{item.image}: cannot be read ({error})"))


class RouteResults(beam.DoFn):
    """`ScoringResult` -> its row (main output), record, or failure."""

    def __init__(self, columns):
        self.columns = list(columns)
        self.scored = Metrics.counter(NAMESPACE, "scored")
        self.failed = Metrics.counter(NAMESPACE, "failed")

    def process(self, result):
        if result.failed:
            self.failed.inc()
            yield beam.pvalue.TaggedOutput(_FAILED, result)
            return
        self.scored.inc()
        yield {name: result.row.get(name) for name in self.columns}
        if result.record is not None:
            yield beam.pvalue.TaggedOutput(_RECORDS, (result.json_name, result.record))


class WriteRecord(beam.DoFn):
    """(name, record) -> `DIR/<name>.json` (local: written atomically; a URI: Beam's
    file systems)."""

    def __init__(self, folder):
        self.folder = folder

    def process(self, named):
        name, record = named
        if is_uri(self.folder):
            with FileSystems.create(FileSystems.join(self.folder, f"{name}.json")) as file:
                file.write(json.dumps(record, indent=1).encode("utf-8"))
        else:
            write_json(os.path.join(self.folder, f"{name}.json"), record, indent=1)


def failure_row(result):
    """A failures table's row: image, reason (without the image's name, which the errors
    start with)."""
    return {"image": result.image, "reason": reason_without_name(result.error, result.image)}


def write_table(rows, path, columns, label):
    """Writes a PCollection of row dicts as exactly the one file `path`: Parquet for a
    .parquet name, else CSV with the cells `siam explain --table` writes."""
    if path.lower().endswith(".parquet"):
        return rows | f"Write{label}Parquet" >> beam.io.WriteToParquet(
            path, table_schema(columns), num_shards=1, shard_name_template="")
    names = list(columns)
    return (rows | f"{label}Lines" >> beam.Map(lambda row: csv_line(row.get(n) for n in names))
            | f"Write{label}CSV" >> beam.io.WriteToText(
                path, num_shards=1, shard_name_template="", header=csv_line(names)))


def build_pipeline(pipeline, items, model_path, columns, image_size, output, failures=None,
                   explanations=None, problems=(), top_k=8, batch_size=DEFAULT_BATCH_SIZE,
                   max_pixels=DEFAULT_MAX_PIXELS, max_bytes=DEFAULT_MAX_BYTES, num_threads=None):
    """Adds the scoring transforms to `pipeline` (see the module docstring).

    Args:
        pipeline: a `beam.Pipeline`.
        items: `ImageItem`s (`image_inputs.list_inputs`).
        model_path: the model (`ModelFile`).
        columns: the table's columns (`explanation_table.table_columns`).
        image_size: the model's (height, width).
        output: the table (.parquet or .csv), written as one file under exactly that name.
        failures: the failures table (image, reason; .csv or .parquet), or None (failures
            are logged).
        explanations: a folder for one JSON file per photo, or None.
        problems: `InputProblem`s found before the pipeline (bad manifest rows).
        top_k, batch_size, max_pixels, max_bytes, num_threads: see `siam score --help`.
    """
    handler = SIAMModelHandler(model_path, top_k=top_k, batch_size=batch_size,
                               records=explanations is not None, num_threads=num_threads)
    read = (pipeline
            | "Photos" >> beam.Create(list(items))
            | "ReadPhotos" >> beam.ParDo(ReadPhotos(image_size, max_pixels, max_bytes))
            .with_outputs(_FAILED, main="pixels"))
    routed = (read.pixels
              | "RunInference" >> RunInference(handler)
              | "Route" >> beam.ParDo(RouteResults(columns)).with_outputs(_FAILED, _RECORDS,
                                                                          main="rows"))
    write_table(routed.rows, output, columns, "Rows")
    if explanations is not None:
        _ = routed[_RECORDS] | "WriteJSON" >> beam.ParDo(WriteRecord(explanations))
    listed = pipeline | "ManifestProblems" >> beam.Create(
        [ScoringResult(p.image, error=f"{p.image}: {p.reason}") for p in problems])
    failed = (read[_FAILED], routed[_FAILED], listed) | "Failures" >> beam.Flatten()
    if failures is not None:
        write_table(failed | "FailureRows" >> beam.Map(failure_row), failures, FAILURE_COLUMNS,
                    "Failures")
    else:
        _ = failed | "LogFailures" >> beam.Map(lambda r: _LOG.warning("skipped %s",
                                                                       printable(r.error)))
    return pipeline


def score(model, items, output, failures=None, explanations=None, problems=(), top_k=8,
          batch_size=DEFAULT_BATCH_SIZE, max_pixels=DEFAULT_MAX_PIXELS,
          max_bytes=DEFAULT_MAX_BYTES, num_threads=None, pipeline_args=()):
    """Runs the scoring pipeline to the end; returns {"num_images", "num_scored",
    "num_failed", "output", "failures", "explanations"}.

    Args:
        model: a `ModelFile` (its `describe()` gives the table's columns).
        pipeline_args: Beam's pipeline options, e.g. ["--runner=DataflowRunner",
            "--project=...", ...] (default: DirectRunner).
        the others: see `build_pipeline`.
    """
    attribute_names, head, image_size = model.describe(command="siam score")
    columns = table_columns(attribute_names, head)
    if explanations is not None and not is_uri(explanations):
        os.makedirs(explanations, exist_ok=True)
        # The files this run writes, named before any exists: a rerun (after a kill too)
        # replaces them instead of writing p000-2.json beside them (output_folder).
        earlier = sorted(listed_outputs(explanations) or ())  # still ours to replace
        write_json(os.path.join(explanations, SUMMARY), {
            "command": "siam score", "model": str(model.path),
            "explained": [{"json": name} for name in sorted(
                {f"{item.json_name}.json" for item in items} | set(earlier))
                if name.endswith(".json") and name != SUMMARY]})
    options = PipelineOptions(list(pipeline_args))
    pipeline = beam.Pipeline(options=options)
    build_pipeline(pipeline, items, model.path, columns, image_size, output, failures,
                   explanations, problems, top_k, batch_size, max_pixels, max_bytes, num_threads)
    result = pipeline.run()
    result.wait_until_finish()
    counts = {name: _counter(result, name) for name in ("scored", "failed")}
    return {"num_images": len(items) + len(problems), "num_scored": counts["scored"],
            "num_failed": counts["failed"] + len(problems), "output": output,
            "failures": failures, "explanations": explanations}


def _counter(result, name):
    """A counter's committed value (attempted where the runner commits none)."""
    found = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE).with_name(name))
    total = 0
    for counter in found["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        total += value or 0
    return total
