"""Tests of semdag.perf: the fork pool."""
