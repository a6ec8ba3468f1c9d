"""semdag: a governed semantic layer over Apache Hamilton dataflows."""

__version__ = "0.1.0"
