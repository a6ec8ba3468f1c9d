"""Entry point for ``python -m semdag``."""

from semdag.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
