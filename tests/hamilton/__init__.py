"""Tests of semdag.hamilton: stacks, builds, runs, materializers, Dask, Hamilton's export."""
