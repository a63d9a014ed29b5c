import numpy as np
import pytest


@pytest.mark.slow
def test_tfds_builder_generates_locally_the_same_examples(tmp_path):
    import tensorflow_datasets as tfds

    import siam_keras.data.tfds.synthetic_scenes_builder  # noqa: F401  (registers the builder)
    from siam_keras.data import SyntheticScenes

    builder = tfds.builder("synthetic_scenes/small", data_dir=str(tmp_path))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    assert builder.info.splits["train"].num_examples == 64
    examples = list(tfds.as_numpy(builder.as_dataset(split="test")))
    assert len(examples) == 16
    expected = SyntheticScenes(image_size=32, template_size=4).generate("test", 16)
    by_image = {ex["image"].tobytes(): ex for ex in examples}
    for i in range(16):
        example = by_image[expected["image"][i].tobytes()]
        np.testing.assert_array_equal(example["label_map"], expected["label_map"][i])
        assert example["scenicness"] == pytest.approx(expected["scenicness"][i])
        np.testing.assert_allclose(example["attributes"], expected["attributes"][i])
