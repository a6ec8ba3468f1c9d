"""Entry point for ``python -m semdag``."""

from semdag.cli import entry

if __name__ == "__main__":
    entry()
