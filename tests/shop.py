"""A small shop project for CLI tests: two profiles, two semantic nodes, plain nodes."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write_files

SHOP = """
from hamilton.function_modifiers import tag


@tag(layer="semantic", semantic_id="store.units.v1", dtype="int", owner="shop")
def units(quantities: list[int]) -> int:
    \"\"\"Units sold.\"\"\"
    return sum(quantities)


@tag(layer="semantic", semantic_id="store.revenue.v1", dtype="float", owner="finance")
def revenue(units: int, unit_price: float) -> float:
    \"\"\"Revenue.\"\"\"
    return units * unit_price


@tag(team="shop")
def doubled(revenue: float) -> float:
    \"\"\"Twice the revenue.\"\"\"
    return 2 * revenue
"""

# Tagged for the registry (layer=semantic) but without a semantic_id.
EXTRA = """
from hamilton.function_modifiers import tag


@tag(layer="semantic", owner="shop")
def margin(revenue: float) -> float:
    \"\"\"A tenth of the revenue.\"\"\"
    return revenue * 0.1
"""

DEV = """
stack:
  core: [shop_mods.shop]
inputs:
  quantities: [1, 2]
  unit_price: 2.5
registry:
  tag_filter: {layer: semantic}
  required_tags: [semantic_id, dtype]
"""


def make_shop(root: Path) -> Path:
    """Write the shop project under ``root``: profiles dev and prod (the same graph) and
    loose (with a node the registry leaves out)."""
    return write_files(
        root,
        {
            "configs/dev.yaml": DEV,
            "configs/prod.yaml": "extends: dev.yaml\n",
            "configs/loose.yaml": "extends: dev.yaml\nstack:\n  extra: [shop_mods.extra]\n",
            "shop_mods/__init__.py": "",
            "shop_mods/shop.py": SHOP,
            "shop_mods/extra.py": EXTRA,
        },
    )


def edit(root: Path, rel: str, old: str, new: str) -> None:
    """Replace the first ``old`` in a project file (which must hold it)."""
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
