"""`explain_each_alone_on_failure`: a batch explained at once, or image by image when it
fails, so that one image fails alone."""

from siam_keras.runtime.explanation import DEFAULT_TOP_K, ExplanationError


def explain_each_alone_on_failure(explainer, pixels, top_k=DEFAULT_TOP_K,
                                  errors=(ExplanationError,)):
    """[(explanation, index) or the error] per image: the batch in one call, and when that
    raises one of `errors`, each image alone, so that one image fails alone.

    Args:
        explainer: called on (B, H, W, 3) pixels with `top_k`, returns a `SIAMExplanation`.
        pixels: (B, H, W, 3) pixels.
        top_k: attributes ranked per output.
        errors: the exception types that fail an image rather than the run.
    """
    try:
        explanation = explainer(pixels, top_k=top_k)
        return [(explanation, i) for i in range(len(pixels))]
    except errors:
        results = []
        for image in pixels:
            try:
                results.append((explainer(image[None], top_k=top_k), 0))
            except errors as error:
                results.append(error)
        return results
