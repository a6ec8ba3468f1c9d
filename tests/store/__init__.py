"""Tests of semdag.store: baselines, atomic writes and the local caches."""
