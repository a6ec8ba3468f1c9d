"""Use cases over a project: the gate, verify, export, render, run and init."""
