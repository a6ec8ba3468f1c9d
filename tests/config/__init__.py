"""Tests of semdag.config: project discovery, YAML reading and profiles."""
