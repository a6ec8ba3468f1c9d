"""Plain helpers shared by the dataflow modules (not dataflow modules themselves)."""
