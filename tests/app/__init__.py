"""Tests of semdag.app: the use cases (gate, verify, run, results, viewer, init, plugin)."""
