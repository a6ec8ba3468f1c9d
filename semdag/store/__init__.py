"""What semdag keeps on disk: baselines, artifacts, the local caches, acknowledgements."""
