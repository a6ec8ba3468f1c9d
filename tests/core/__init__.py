"""Tests of semdag.core: the pure model, rules, comparisons, render plan and reports."""
