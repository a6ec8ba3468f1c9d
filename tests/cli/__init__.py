"""Tests of semdag.cli: commands, options, errors, terminal output and start-up."""
