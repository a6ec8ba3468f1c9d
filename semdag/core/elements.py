"""Element types: what a declared ``dtype`` names, what a value's elements are, and whether
the one accepts the other.

Known names (see :func:`parse_dtype`) are checked; a name this module does not know (a
project's own vocabulary) is left to :mod:`semdag.core.contracts` to report. pandas, polars,
numpy and pyarrow are looked at only when a value is one of theirs.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

# Declarations that name a container, not an element type: only the container is checked.
CONTAINERS: dict[str, tuple[str, ...]] = {
    "series": ("pandas.Series", "polars.Series", "pyarrow.Array", "pyarrow.ChunkedArray"),
    "dataframe": ("pandas.DataFrame", "polars.DataFrame", "polars.LazyFrame", "pyarrow.Table"),
}
# One row of named fields: the rows of a table (its columns described by ``columns`` or
# ``schema_ref``), or one mapping.
CONTAINERS["record"] = (*CONTAINERS["dataframe"], "dict")
# name -> (family, bits)
_NAMED: dict[str, tuple[str, int | None]] = {
    "int": ("int", None),
    "integer": ("int", None),
    "uint": ("uint", None),
    "float": ("float", None),
    "double": ("float", 64),
    "bool": ("bool", None),
    "boolean": ("bool", None),
    "str": ("str", None),
    "string": ("str", None),
    "datetime": ("datetime", None),
    "timestamp": ("datetime", None),
    "date": ("date", None),
    "time": ("time", None),
    "timedelta": ("timedelta", None),
    "duration": ("timedelta", None),
    "category": ("category", None),
    "categorical": ("category", None),
    "dict": ("dict", None),
    "list": ("list", None),
    "json": ("json", None),
    "any": ("any", None),
    "series": ("series", None),
    "dataframe": ("dataframe", None),
    "record": ("record", None),
}
_SIZED = re.compile(r"^(int|uint|float)(8|16|32|64)$")
_DECIMAL = re.compile(r"^decimal(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$")


@dataclass(frozen=True)
class Declared:
    """A ``dtype`` name this module knows how to check."""

    name: str
    family: str
    bits: int | None = None
    precision: int | None = None
    scale: int | None = None


def parse_dtype(name: str) -> Declared | None:
    """The declaration a ``dtype`` name stands for; None for a name that is not checkable.

    Known: ``int``/``integer``, ``int8``…``int64``, ``uint``, ``uint8``…``uint64``, ``float``,
    ``float16``/``float32``/``float64``/``double``, ``bool``/``boolean``, ``str``/``string``,
    ``datetime``/``timestamp``, ``date``, ``time``, ``timedelta``/``duration``, ``decimal``,
    ``decimal(P)``, ``decimal(P,S)``, ``category``/``categorical``, ``dict``, ``list``,
    ``json`` and ``any`` (anything), and the containers ``series`` and ``dataframe``.
    """
    text = name.strip().lower()
    if text in _NAMED:
        family, bits = _NAMED[text]
        return Declared(name, family, bits)
    sized = _SIZED.match(text)
    if sized and not (sized.group(1) == "float" and sized.group(2) == "8"):
        return Declared(name, sized.group(1), int(sized.group(2)))
    decimal = _DECIMAL.match(text)
    if decimal:
        precision = int(decimal.group(1)) if decimal.group(1) else None
        scale = int(decimal.group(2) or 0) if precision is not None else None
        return Declared(name, "decimal", None, precision, scale)
    return None


@dataclass(frozen=True)
class Element:
    """What a value's elements are: a family (``int``, ``float``, ``str`` …), as the library
    labels it, with a width, a decimal's precision and scale, or a category's values."""

    family: str
    label: str
    bits: int | None = None
    precision: int | None = None
    scale: int | None = None
    inner: Element | None = None
    value: int | None = None  # a Python int: any width its value fits

    def fits_width(self, bits: int, *, signed: bool) -> bool:
        if self.bits is not None:
            return self.bits == bits and (self.family == "int") == signed
        if self.value is None:
            return True  # untyped integers (an object column): the kind is all that is known
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else (0, 2**bits)
        return low <= self.value < high


# Families no declaration contradicts: nothing there (all null, empty) or unknowable (objects
# a library keeps opaque).
_ANYTHING_GOES = ("null", "unknown")


def accepts(declared: Declared, element: Element) -> bool:
    """Whether elements of this kind keep the declared element type."""
    family = declared.family
    if family in ("json", "any") or element.family in _ANYTHING_GOES:
        return True
    if element.family == "category" and family != "category":
        # Categories of strings are strings to a reader.
        return element.inner is not None and accepts(declared, element.inner)
    if family in ("int", "uint"):
        if declared.bits is None:
            ints = ("int", "uint") if family == "int" else ("uint",)
            plain = element.family == "int" and (element.value or 0) >= 0
            return element.family in ints or (family == "uint" and plain and element.bits is None)
        if element.family not in ("int", "uint"):
            return False
        return element.fits_width(declared.bits, signed=family == "int")
    if family == "float":
        if element.family != "float":
            return False
        return declared.bits is None or element.bits is None or element.bits == declared.bits
    if family == "decimal":
        return element.family == "decimal" and _decimal_fits(declared, element)
    return element.family == family


def _decimal_fits(declared: Declared, element: Element) -> bool:
    """A decimal fits when no digit is lost: scale and integer digits both within bounds."""
    if declared.precision is None or element.precision is None or element.scale is None:
        return True
    scale = declared.scale or 0
    return element.scale <= scale and (element.precision - element.scale) <= (
        declared.precision - scale
    )


# --- what a value is --------------------------------------------------------------------------


def _qualname(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__.split('.')[0]}.{cls.__name__}"


def type_label(value: Any) -> str:
    """``pandas.DataFrame``, ``polars.Series``, ``int``…: the value's type as reports show it."""
    name = _qualname(value)
    return name.removeprefix("builtins.")


def scalar_element(value: Any) -> Element:
    """The element type of a single value."""
    import datetime as dt
    import decimal

    if value is None:
        return Element("null", "None")
    if isinstance(value, bool):
        return Element("bool", "bool")
    if isinstance(value, int):
        return Element("int", "int", value=value)
    if isinstance(value, float):
        return Element("float", "float")
    if isinstance(value, str):
        return Element("str", "str")
    if isinstance(value, dt.datetime):
        return Element("datetime", type_label(value))
    if isinstance(value, dt.date):
        return Element("date", "date")
    if isinstance(value, dt.time):
        return Element("time", "time")
    if isinstance(value, dt.timedelta):
        return Element("timedelta", type_label(value))
    if isinstance(value, decimal.Decimal):
        _, digits, exponent = value.as_tuple()
        if not isinstance(exponent, int):  # NaN, infinity
            return Element("decimal", "Decimal")
        scale = max(0, -exponent)
        return Element("decimal", "Decimal", precision=max(len(digits), scale), scale=scale)
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.generic):
        element = numpy_element(value.dtype)
        return Element(element.family, f"numpy.{value.dtype}", element.bits)
    if isinstance(value, dict):
        return Element("dict", "dict")
    if isinstance(value, list | tuple):
        return Element("list", type_label(value))
    return Element("other", type_label(value))


_NUMPY_KINDS = {
    "i": "int",
    "u": "uint",
    "f": "float",
    "b": "bool",
    "M": "datetime",
    "m": "timedelta",
    "U": "str",
    "S": "bytes",
    "c": "complex",
}


def numpy_element(dtype: Any) -> Element:
    """A numpy dtype's element type (``object``: see :func:`object_element`)."""
    kind = dtype.kind
    if kind == "O":
        return Element("object", "object")
    bits = dtype.itemsize * 8 if kind in "iuf" else None
    return Element(_NUMPY_KINDS.get(kind, "other"), str(dtype), bits)


# pandas.api.types.infer_dtype's answers for an object column.
_INFERRED = {
    "string": "str",
    "integer": "int",
    "floating": "float",
    "boolean": "bool",
    "datetime": "datetime",
    "datetime64": "datetime",
    "date": "date",
    "time": "time",
    "timedelta": "timedelta",
    "timedelta64": "timedelta",
    "decimal": "decimal",
    "empty": "null",
    "bytes": "bytes",
}


def object_element(values: Any) -> Element:
    """The element type of an object column or array, inferred by pandas (one C loop)."""
    from pandas.api.types import infer_dtype

    inferred = infer_dtype(values, skipna=True)
    return Element(_INFERRED.get(inferred, "mixed"), f"object ({inferred} values)")


def pandas_element(dtype: Any, values: Any = None) -> Element:
    """A pandas dtype's element type; ``values`` (sampled) answer for an object column."""
    import numpy as np
    import pandas as pd

    if isinstance(dtype, pd.CategoricalDtype):
        inner = pandas_element(dtype.categories.dtype, dtype.categories)
        return Element("category", str(dtype), inner=inner)
    if isinstance(dtype, pd.ArrowDtype):
        element = arrow_element(dtype.pyarrow_dtype)
        return Element(element.family, str(dtype), element.bits, element.precision, element.scale)
    if isinstance(dtype, pd.StringDtype):
        return Element("str", str(dtype))
    if isinstance(dtype, pd.SparseDtype):
        element = pandas_element(dtype.subtype)
        return Element(element.family, str(dtype), element.bits)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return Element("datetime", str(dtype))
    numpy_dtype = getattr(dtype, "numpy_dtype", None)  # Int64, Float64, boolean
    if numpy_dtype is not None:
        element = numpy_element(numpy_dtype)
        return Element(element.family, str(dtype), element.bits)
    if isinstance(dtype, np.dtype):
        return (
            object_element(values)
            if dtype.kind == "O" and values is not None
            else (numpy_element(dtype))
        )
    return Element("other", str(dtype))  # period, interval, third-party extension types


def arrow_element(arrow_type: Any) -> Element:
    """A pyarrow type's element type."""
    import pyarrow as pa

    types = pa.types
    label = str(arrow_type)
    if types.is_dictionary(arrow_type):
        return Element("category", label, inner=arrow_element(arrow_type.value_type))
    if types.is_decimal(arrow_type):
        return Element("decimal", label, precision=arrow_type.precision, scale=arrow_type.scale)
    for test, family in (
        (types.is_signed_integer, "int"),
        (types.is_unsigned_integer, "uint"),
        (types.is_floating, "float"),
    ):
        if test(arrow_type):
            return Element(family, label, arrow_type.bit_width)
    for test, family in (
        (types.is_boolean, "bool"),
        (lambda t: types.is_string(t) or types.is_large_string(t), "str"),
        (types.is_timestamp, "datetime"),
        (types.is_date, "date"),
        (types.is_time, "time"),
        (types.is_duration, "timedelta"),
        (types.is_null, "null"),
        (lambda t: types.is_struct(t) or types.is_map(t), "dict"),
        (lambda t: types.is_list(t) or types.is_large_list(t), "list"),
    ):
        if test(arrow_type):
            return Element(family, label)
    if str(arrow_type) == "string_view":
        return Element("str", label)
    return Element("other", label)


_POLARS_FAMILIES = {
    "Boolean": "bool",
    "String": "str",
    "Utf8": "str",
    "Datetime": "datetime",
    "Date": "date",
    "Time": "time",
    "Duration": "timedelta",
    "Null": "null",
    "Object": "unknown",
    "Struct": "dict",
    "List": "list",
    "Array": "list",
    "Binary": "bytes",
}
_POLARS_WIDTH = re.compile(r"^(U?Int|Float)(\d+)$")


def polars_element(dtype: Any) -> Element:
    """A polars dtype's element type (read from the dtype's class: polars is not imported)."""
    name = dtype.__name__ if isinstance(dtype, type) else type(dtype).__name__
    label = str(dtype)
    if name in ("Categorical", "Enum"):
        return Element("category", label, inner=Element("str", "String"))
    if name == "Decimal":
        precision = getattr(dtype, "precision", None)
        scale = getattr(dtype, "scale", None)
        return Element("decimal", label, precision=precision, scale=scale)
    sized = _POLARS_WIDTH.match(name)
    if sized:
        family = {"Int": "int", "UInt": "uint", "Float": "float"}[sized.group(1)]
        return Element(family, label, int(sized.group(2)))
    return Element(_POLARS_FAMILIES.get(name, "other"), label)
