"""`ScoringResult`: what `siam score` makes of one photo, a table row or the reason it failed."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class ScoringResult:
    """One photo's outcome.

    Attributes:
        image: its path or URI, as the table and the failures show it.
        row: its table row ({column: value}, `explanation_table.explanation_row`),
            or None when it failed.
        record: its explanation JSON record (as `siam explain` writes it), when
            JSON files are written; else None.
        json_name: the record's file name, without `.json`.
        error: why it failed (the message names the image), or None.
    """

    image: str
    row: dict | None = None
    record: dict | None = None
    json_name: str | None = None
    error: str | None = None

    @property
    def failed(self):
        return self.error is not None
