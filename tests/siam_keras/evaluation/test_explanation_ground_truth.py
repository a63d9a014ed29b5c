import numpy as np
import pytest

from siam_keras.data import SyntheticScenes
from siam_keras.evaluation.explanation_ground_truth import evaluate_explanations
from siam_keras.evaluation.explanation_report import format_explanation_report

KEYS = ("pointing_game", "relevance_mass", "iou", "deletion_auc")


@pytest.mark.slow
def test_report_has_every_key_and_exact_removal(tiny_siam, tiny_models, tiny_scenes):
    from siam_keras.saving import load_model

    scenes = SyntheticScenes(image_size=32, template_size=4)
    report = evaluate_explanations(tiny_siam, tiny_scenes, scenes.weights,
                                   baseline=load_model(tiny_models[1]), deletion_steps=4,
                                   batch_size=8, log=lambda *a: None)
    for method in ("siam", "gradcam", "gradcam_plus_plus"):
        for key in KEYS:
            assert key in report[method], (method, key)
        assert 0 <= report[method]["pointing_game"] <= 1
        assert 0 <= report[method]["relevance_mass"] <= 1
    siam = report["siam"]
    for key in ("contribution_r", "zero_weight_share", "removal_max_error", "sanity_rank_correlation"):
        assert np.isfinite(siam[key]), key
    assert siam["removal_max_error"] < 1e-4
    assert set(siam["outputs"]) == {"scenicness", "scenicness_variance"}
    assert siam["num_present"] == int((tiny_scenes["attributes"] >= 2 / 3 - 1e-6).sum())
    assert "deletion_auc" in report["gradcam_baseline"]
    curves = report["deletion"]["mean_curves"]
    assert set(curves) == {"siam", "gradcam", "gradcam_plus_plus", "gradcam_baseline"}
    assert all(len(c) == 5 for c in curves.values())
    # Every curve starts at the same prediction of the same model.
    assert curves["siam"][0] == pytest.approx(curves["gradcam"][0], rel=1e-5)
    table = format_explanation_report(report)
    assert "pointing_game" in table and "gradcam_plus_plus" in table
