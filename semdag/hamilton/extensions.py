"""Hamilton's extensions for the libraries a stack uses, not for every library installed.

When Hamilton's decorators are first imported it loads an extension for each library it
supports that is installed (Dask, Polars, Spark, ...), importing each of those libraries:
about a third of a second and tens of megabytes for Dask alone, whether the stack uses it or
not. semdag knows the stack: before its modules import, it loads the extensions of the
libraries that are imported already (pandas and numpy, by Hamilton itself) and of those the
stack's code imports, found by reading the source of the stack's packages. An extension it
does not know the library of is loaded as Hamilton would. A process where the user turned
autoloading off or on (``HAMILTON_AUTOLOAD_EXTENSIONS``, or Hamilton's config file
``~/.hamilton.conf``) is left as the user set it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path

AUTOLOAD_ENV = "HAMILTON_AUTOLOAD_EXTENSIONS"
# Where Hamilton reads a user's choice of autoloading from.
CONFIG_FILE = Path("~/.hamilton.conf")
# Each extension's library, as a top-level module name (Hamilton names them in its registry).
LIBRARIES = {
    "yaml": "yaml",
    "matplotlib": "matplotlib",
    "numpy": "numpy",
    "pandas": "pandas",
    "plotly": "plotly",
    "polars": "polars",
    "polars_lazyframe": "polars",
    "pyspark_pandas": "pyspark",
    "spark": "pyspark",
    "dask": "dask",
    "geopandas": "geopandas",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "sklearn_plot": "sklearn",
    "vaex": "vaex",
    "ibis": "ibis",
    "dlt": "dlt",
    "kedro": "kedro",
    "huggingface": "datasets",
    "mlflow": "mlflow",
    "pydantic": "pydantic",
}
# Extensions whose library is there but which did not load: name -> the module missing.
BROKEN: dict[str, str] = {}
_IMPORT = re.compile(r"^[ \t]*(?:import|from)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)


def imported_names(files: Iterable[Path]) -> set[str]:
    """The top-level module names that ``import``/``from`` statements in ``files`` name (an
    unreadable file names none)."""
    names: set[str] = set()
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        names.update(_IMPORT.findall(text))
    return names


def load_for(libraries: set[str]) -> None:
    """Import Hamilton's decorators with only the extensions ``libraries`` (and libraries
    imported already) need, when this process has not imported them yet."""
    if (
        "hamilton.function_modifiers" in sys.modules
        or AUTOLOAD_ENV in os.environ
        or CONFIG_FILE.expanduser().exists()
    ):
        return  # loaded already, or the user decides
    os.environ[AUTOLOAD_ENV] = "0"
    try:
        from hamilton import (
            function_modifiers,  # noqa: F401  (runs Hamilton's autoload)
            registry,
        )
    finally:
        del os.environ[AUTOLOAD_ENV]
    for extension in registry.HAMILTON_EXTENSIONS:
        library = LIBRARIES.get(extension)
        if library is not None and library not in libraries and library not in sys.modules:
            continue
        try:
            registry.load_extension(extension)
        except ImportError as exc:
            # The library itself missing is "not installed" (as Hamilton's autoload treats
            # it); another module missing breaks the extension of a library the stack uses.
            missing = (exc.name or "").split(".")[0]
            if missing and missing != LIBRARIES.get(extension, extension):
                BROKEN[extension] = missing
        except (NotImplementedError, Warning):
            continue


def broken_hint() -> str | None:
    """Why a stack may fail with "does not output a type we know about" or "No loader
    named": the Hamilton extensions that did not load, and the module each lacks."""
    if not BROKEN:
        return None
    parts = [
        f"Hamilton's {name} extension did not load for want of {missing!r}"
        for name, missing in sorted(BROKEN.items())
    ]
    wanted = " ".join(sorted(set(BROKEN.values())))
    return (
        f"{'; '.join(parts)}: its decorators (@extract_columns) and loaders and savers do not "
        f"work without it (pip install {wanted})"
    )
