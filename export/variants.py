"""The TFLite variants the export writes (no TensorFlow needed to name them)."""

#: The variants, in report order; float32 is the reference of the size and latency ratios.
VARIANTS = ("float32", "float16", "dynamic", "int8")
DESCRIPTIONS = {
    "float32": "no quantisation",
    "float16": "float16 weights",
    "dynamic": "int8 weights, float activations (dynamic range)",
    "int8": "int8 weights and activations, calibrated (float32 input and outputs)",
}


def parse_variants(text):
    """'float32,int8' -> ("float32", "int8"); raises naming the choices."""
    variants = tuple(v.strip() for v in str(text).split(",") if v.strip())
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise ValueError(f"Unknown TFLite variant(s) {unknown or [text]}. Choose from: "
                         f"{', '.join(VARIANTS)} (comma-separated)")
    return tuple(v for v in VARIANTS if v in variants)
