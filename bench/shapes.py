"""The shapes of generated stacks that ``make bench`` measures.

A shape is one layout of a stack: how many functions a module holds, whether a node's
dependencies are recent nodes (local chains) or anywhere earlier (long-range fan-in), whether
functions carry docstrings and comments, how many functions are decorated, and whether Python
may cache bytecode. A target holds only if it holds on every shape, so the shapes differ on
every axis that moves a cost: parsing (bytes per node, functions per file), hashing (decorated
functions, docstrings), Hamilton's resolution (fan-in, decorators) and importing (bytecode).

To add a shape, add a :class:`Shape` to :data:`SHAPES`; ``BENCH_SHAPES=name make bench``
measures it alone. See ``bench/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Cumulative chances, per generated function, of a parameterize family, an extract_columns
# frame, a config.when pair, a consumer of an extracted column and a pipe_input/pipe_output
# function; the rest are plain functions.
LIGHT = (0.02, 0.04, 0.05, 0.07, 0.07)
HEAVY = (0.08, 0.16, 0.22, 0.28, 0.40)


@dataclass(frozen=True)
class Shape:
    """One layout of a generated stack (see :func:`bench.generate.generate`)."""

    name: str
    description: str
    per_module: int = 50
    # Share of dependencies drawn from the last ``window`` nodes; the rest from anywhere.
    local_share: float = 0.5
    window: int = 60
    max_deps: int = 4
    docs: str = "mixed"  # mixed | on (every function) | off (none, no comments either)
    thresholds: tuple[float, float, float, float, float] = LIGHT
    bytecode: bool = True  # False: PYTHONDONTWRITEBYTECODE=1, every module compiled each run
    # Levels of packages a layer's modules sit in (1: genstack/core/m0000.py; 3: two more).
    depth: int = 1
    # Computed nodes typed pd.Series (inputs stay floats) instead of float.
    series: bool = False
    # Share of the nodes the overrides layer replaces (0: one in 500).
    override_share: float = 0.0
    # The profile extends a base profile that holds the stack.
    extends: bool = False

    @property
    def pipes(self) -> bool:
        """Whether the stack has pipe_input / pipe_output functions."""
        return self.thresholds[4] > self.thresholds[3]

    def env(self) -> dict[str, str | None]:
        """What the environment of every measured process (ours and the peer's) sets, or
        removes (None): the bytecode cache is the shape's, whatever this shell's is."""
        return {"PYTHONDONTWRITEBYTECODE": None if self.bytecode else "1"}


# The stack generate() writes without a shape: what earlier benchmarks measured.
MIXED = Shape("mixed", "50 fn/module, half local deps, mixed docs, few decorators")

SHAPES: dict[str, Shape] = {
    shape.name: shape
    for shape in (
        MIXED,
        Shape(
            "chains",
            "50 fn/module, local chains (last 8 nodes), no docstrings or comments",
            local_share=1.0,
            window=8,
            max_deps=3,
            docs="off",
        ),
        Shape(
            "fan-in-nopyc",
            "250 fn/module, up to 3 deps anywhere earlier, docstrings, no bytecode cache",
            per_module=250,
            local_share=0.0,
            max_deps=3,
            docs="on",
            bytecode=False,
        ),
        Shape(
            "decorated",
            "50 fn/module, 40% decorated (parameterize, extract_columns, config.when, pipe_*)",
            docs="on",
            thresholds=HEAVY,
        ),
        Shape(
            "huge-modules",
            "1,000 fn/module, long-range deps, docstrings, 40% decorated, no bytecode cache",
            per_module=1000,
            local_share=0.0,
            max_deps=3,
            docs="on",
            thresholds=HEAVY,
            bytecode=False,
        ),
        Shape(
            "series-packages",
            "20 fn/module in three levels of packages, pandas Series nodes, 5% overridden, "
            "a profile that extends a base",
            per_module=20,
            docs="off",
            thresholds=(0.0, 0.0, 0.0, 0.0, 0.0),
            depth=3,
            series=True,
            override_share=0.05,
            extends=True,
        ),
        Shape(
            "bare-nopyc",
            "250 fn/module, local chains, no docstrings, no bytecode cache",
            per_module=250,
            local_share=1.0,
            window=8,
            max_deps=3,
            docs="off",
            bytecode=False,
        ),
    )
}
