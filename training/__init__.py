"""The training pipeline: `python -m training --config training/configs/NAME.toml`."""
