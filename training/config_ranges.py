"""The ranges of config values: declared with each field, checked all at once.

Every number of a config has a range (`field(default, low=..., high=..., above=...)`);
a value outside it, and any NaN or infinite float, is refused with the key, the value
and the range, before anything runs.
"""

import dataclasses
import math


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message says why."""


def field(default=dataclasses.MISSING, *, low=None, high=None, above=None, factory=None):
    """A config field with its allowed range: `low <= value <= high`, or `value > above`.

    For lists and tables the range applies to every item. Every float must also be
    finite (NaN and infinities are refused).
    """
    metadata = {"low": low, "high": high, "above": above}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _where(source):
    return f"{source}: " if source else ""


def _range_text(low, high, above):
    number = lambda v: f"{v}" if isinstance(v, int) else f"{v:g}"  # noqa: E731
    if above is not None:
        return f"> {number(above)}" if high is None else f"in ({number(above)}, {number(high)}]"
    return f">= {number(low)}" if high is None else f"between {number(low)} and {number(high)}"


def _check_range(key, value, meta, source=None):
    """Raises naming `key`, the value and the allowed range, if `value` is outside it."""
    low, high, above = meta.get("low"), meta.get("high"), meta.get("above")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{_where(source)}{key} must be a finite number ({_range_text(low, high, above)})."
                          f" Received: {value}")
    if low is None and high is None and above is None:
        return
    inside = ((low is None or value >= low) and (high is None or value <= high)
              and (above is None or value > above))
    if not inside:
        raise ConfigError(f"{_where(source)}{key} must be {_range_text(low, high, above)}. "
                          f"Received: {value}")


def check_ranges(sections, source=None):
    """Checks every number of `sections` ({name: dataclass}) against its field's range."""
    for section, values in sections.items():
        for spec in dataclasses.fields(values):
            key, value = f"{section}.{spec.name}", getattr(values, spec.name)
            if isinstance(value, tuple):
                items = {f"{key}[{i}]": v for i, v in enumerate(value)}
            elif isinstance(value, dict):
                items = {f"{key}.{k}": v for k, v in value.items()}
            else:
                items = {key: value}
            for name, item in items.items():
                if isinstance(item, (int, float)) and not isinstance(item, bool):
                    _check_range(name, item, spec.metadata, source)
