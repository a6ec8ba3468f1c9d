"""Whether a value is of a node's declared Python output type (``output-type-mismatch``)."""

from __future__ import annotations

from typing import Any


def fits_type(value: Any, declared: Any) -> bool:
    """Whether ``value`` is of the declared Python type: the outer type only (``dict[str, int]``
    is checked as ``dict``), a union as any of its members, and PEP 484's numeric tower (an
    ``int`` is a ``float``). Types that cannot be checked at run time pass."""
    import types
    import typing

    if declared is None or declared is typing.Any or declared is object:
        return True
    origin = typing.get_origin(declared)
    if origin is typing.Annotated:
        return fits_type(value, typing.get_args(declared)[0])
    if origin is typing.Union or origin is types.UnionType:
        return any(fits_type(value, arg) for arg in typing.get_args(declared))
    if origin is typing.Literal:
        return value in typing.get_args(declared)
    if origin is not None:
        declared = origin
    if declared is type(None):
        return value is None
    if not isinstance(declared, type):
        return True  # a TypeVar, NewType or forward reference
    if declared is float and isinstance(value, int):
        return True
    if declared is complex and isinstance(value, int | float):
        return True
    try:
        return isinstance(value, declared)
    except TypeError:  # a protocol that is not runtime-checkable, a parameterised generic
        return True
