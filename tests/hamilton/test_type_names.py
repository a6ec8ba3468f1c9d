"""Output type names do not depend on where an interpreter keeps a class internally."""

from __future__ import annotations

import types

from semdag.hamilton.model import public_type_name


def test_a_class_kept_in_a_private_module_is_named_by_its_package(monkeypatch):
    package, private = types.ModuleType("shelf"), types.ModuleType("shelf._local")

    class Path:
        pass

    private.Path = Path  # type: ignore[attr-defined]
    package.Path = Path  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "shelf", package)
    monkeypatch.setitem(__import__("sys").modules, "shelf._local", private)
    # What Python 3.13 writes for pathlib.Path, and what 3.11 and 3.12 write.
    assert (
        public_type_name("str | shelf._local.Path | _io.BytesIO")
        == "str | shelf.Path | _io.BytesIO"
    )
    assert public_type_name("pathlib.Path") == "pathlib.Path"
    # Not exported by the package (or another object of that name): left as it is.
    package.Path = object()  # type: ignore[attr-defined]
    assert public_type_name("shelf._local.Path") == "shelf._local.Path"
    assert public_type_name("pandas.core.frame.DataFrame") == "pandas.core.frame.DataFrame"
