import pytest

from export.config import ExportConfig


def test_variants_are_taken_as_a_list_a_tuple_or_text_in_report_order():
    for variants in (["int8", "float32"], ("int8", "float32"), "int8, float32"):
        assert ExportConfig("m.keras", "out", variants=variants).variants == ("float32", "int8")


@pytest.mark.parametrize("kwargs, match", [
    ({"variants": ["int4"]}, r"Unknown TFLite variant\(s\) \['int4'\]"),
    ({"latency_runs": 0}, "These must be positive integers. Received: --latency-runs=0"),
    ({"calibration_images": True}, "positive integers. Received: --calibration-images=True"),
])
def test_bad_settings_are_refused_once(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ExportConfig("m.keras", "out", **kwargs)
