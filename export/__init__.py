"""The export pipeline (SavedModel for TF Serving, TFLite): not built yet, see the deployment issue."""
