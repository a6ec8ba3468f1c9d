"""Synthetic layered stacks for benchmarks and scale tests.

``python -m bench.generate --nodes 5000 DIR`` writes a project into ``DIR``: ``configs/dev.yaml``
and a package of Hamilton modules split into ``core``, ``plugins`` and ``overrides`` layers.
The stack looks like a real one at scale: many modules of about fifty nodes, a quarter of the
nodes semantic with the full tag taxonomy, each node fed by one to four earlier nodes, some
``parameterize``, ``extract_columns`` and ``config.when`` nodes, and a few overrides. The
source varies the way hand-written code does (docstrings or none, comments, multi-line
signatures and decorators) so that source-level tools meet their edge cases.

A :class:`~bench.shapes.Shape` changes the layout (functions per module, local chains or
long-range fan-in, docstrings and comments on or off, how many decorated functions); without
one the stack is the mixed layout above. The output depends only on the node count, the seed,
the package name and the shape: the same arguments write the same bytes.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.shapes import MIXED, SHAPES, Shape

PER_MODULE = 50
INPUTS = 12
ENTITIES = {
    "repo": ["repo"],
    "module": ["repo", "module"],
    "function": ["repo", "path", "symbol"],
    "author": ["author"],
}
OWNERS = ("core-team", "risk-team", "platform", "quality", "search")
STABILITY = ("stable", "stable", "stable", "experimental", "deprecated")
PII = ("none", "none", "none", "possible", "yes")


@dataclass(frozen=True)
class GeneratedStack:
    """What :func:`generate` wrote."""

    root: Path
    package: str
    nodes: int
    semantic: int
    modules: int
    inputs: tuple[str, ...]
    overridden: tuple[str, ...]


@dataclass
class _Unit:
    """One function of a module and the nodes it makes."""

    kind: str  # plain | family | frame | when | consumer
    name: str
    deps: list[str]
    outputs: list[str]
    style: int
    semantic: dict[str, object] | None = None
    extra: dict[str, object] = field(default_factory=dict)


def _plan(nodes: int, rng: random.Random, shape: Shape = MIXED) -> list[_Unit]:
    units: list[_Unit] = []
    floats: list[str] = [f"in_{i:02d}" for i in range(INPUTS)]
    series: list[str] = []
    count = 0

    def pick(k: int) -> list[str]:
        chosen: list[str] = []
        for _ in range(k):
            # Local: recent nodes, like a module's own chain; long: anywhere earlier.
            local = rng.random() < shape.local_share
            pool = floats[-shape.window :] if local else floats
            name = rng.choice(pool)
            if name not in chosen:
                chosen.append(name)
        return chosen

    index = 0
    while count < nodes:
        left = nodes - count
        roll = rng.random()
        name = f"n_{index:06d}"
        index += 1
        style = rng.randrange(8)
        family, frame, when, consumer, pipe = shape.thresholds
        if roll < family and left >= 3:
            variants = [f"{name}_v{j}" for j in range(3)]
            sources = [rng.choice(floats) for _ in variants]
            units.append(
                _Unit(
                    "family",
                    f"{name}_family",
                    sorted(set(sources)),
                    variants,
                    style,
                    extra={"sources": sources},
                )
            )
            floats.extend(variants)
            count += 3
        elif roll < frame and left >= 4:
            columns = [f"{name}_{c}" for c in ("loc", "churn", "owners")]
            units.append(
                _Unit("frame", name, pick(2), [name, *columns], style, extra={"columns": columns})
            )
            series.extend(columns)
            count += 4
        elif roll < when:
            units.append(_Unit("when", name, pick(2), [name], style))
            floats.append(name)
            count += 1
        elif roll < consumer and series:
            column = rng.choice(series[-20:])
            units.append(_Unit("consumer", name, [column], [name], style))
            floats.append(name)
            count += 1
        elif consumer <= roll < pipe and left >= 4:
            kind = "pipe_in" if rng.random() < 0.5 else "pipe_out"
            units.append(_Unit(kind, name, pick(2), [name], style))
            floats.append(name)
            count += 3 if kind == "pipe_in" else 4
        else:
            units.append(_Unit("plain", name, pick(rng.randint(1, shape.max_deps)), [name], style))
            floats.append(name)
            count += 1
    plain = [u for u in units if u.kind == "plain"]
    for unit in rng.sample(plain, min(len(plain), nodes // 4)):
        unit.semantic = _taxonomy(unit.name, rng)
    return units


def _taxonomy(name: str, rng: random.Random) -> dict[str, object]:
    entity = rng.choice(sorted(ENTITIES))
    keys = ENTITIES[entity]
    return {
        "layer": "semantic",
        "semantic_id": f"gen.{entity}.{name}",
        "entity": entity,
        "grain": f"per_{entity}",
        "entity_keys": list(keys),
        "join_keys": list(keys[:1]) if len(keys) > 1 and rng.random() < 0.3 else list(keys),
        "dtype": "float",
        "schema_ref": f"schemas/gen/{entity}.json#/{name}",
        "version": str(rng.randint(1, 3)),
        "owner": rng.choice(OWNERS),
        "stability": rng.choice(STABILITY),
        "pii": rng.choice(PII),
    }


def _tag_call(tags: dict[str, object], multiline: bool) -> str:
    items = [f"{k}={v!r}" for k, v in tags.items()]
    if not multiline:
        return f"@tag({', '.join(items)})"
    body = "".join(f"    {item},\n" for item in items)
    return f"@tag(\n{body})"


def _signature(name: str, params: list[tuple[str, str]], returns: str, style: int) -> str:
    if style % 4 == 3 and len(params) > 1:
        lines = "".join(f"    {p}: {t},\n" for p, t in params)
        return f"def {name}(\n{lines}) -> {returns}:"
    return f"def {name}({', '.join(f'{p}: {t}' for p, t in params)}) -> {returns}:"


def _doc(text: str, style: int, docs: str = "mixed") -> str:
    if docs == "off":
        return ""
    if style % 3 == 0 or (docs == "on" and style % 3 == 2):
        return f'    """{text}"""\n'
    if style % 3 == 1:
        return f'    """{text}.\n\n    Derived from its upstream nodes by a fixed blend.\n    """\n'
    return ""


def _value_type(name: str, shape: Shape) -> str:
    """The annotation of a plain node or input: floats, or Series for a series shape's
    computed nodes (its inputs stay floats, as a profile gives them)."""
    return "pd.Series" if shape.series and not name.startswith("in_") else "float"


def _render_unit(
    unit: _Unit, rng: random.Random, *, override: bool = False, shape: Shape = MIXED
) -> str:
    style, docs = unit.style, shape.docs
    parts: list[str] = []
    if unit.kind == "plain":
        if unit.semantic:
            parts.append(_tag_call(unit.semantic, multiline=style % 2 == 0))
        params = [(d, _value_type(d, shape)) for d in unit.deps]
        parts.append(_signature(unit.name, params, _value_type(unit.name, shape), style))
        head = "\n".join(parts) + "\n"
        weights = [round(rng.uniform(0.1, 2.0), 3) for _ in unit.deps]
        expr = " + ".join(f"{d} * {w}" for d, w in zip(unit.deps, weights, strict=True))
        if override:
            expr = f"({expr}) * 1.05"
        text = f"{'Recalibrated' if override else 'Synthetic'} metric {unit.name}"
        body = _doc(text, style, docs)
        if (style == 5 and docs == "mixed") or docs == "on":
            body += "    # a blend of the upstream values\n"
        body += f"    return {expr}\n"
        if (style == 6 and docs == "mixed") or docs == "on":
            body += "    # kept in step with the upstream weights\n"
        return head + body
    if unit.kind == "family":
        sources: list[str] = unit.extra["sources"]  # type: ignore[assignment]
        rows = "".join(
            f"    {out}={{'base': source({src!r}), 'k': value({j + 1}.0)}},\n"
            for j, (out, src) in enumerate(zip(unit.outputs, sources, strict=True))
        )
        tag = f'@tag(layer="intermediate", owner={rng.choice(OWNERS)!r})\n'
        return (
            f"@parameterize(\n{rows})\n{tag}"
            f"def {unit.name}(base: float, k: float) -> float:\n"
            + ('    """Scaled copy of {base} by {k}."""\n' if docs != "off" else "")
            + "    return base * k\n"
        )
    if unit.kind == "frame":
        columns: list[str] = unit.extra["columns"]  # type: ignore[assignment]
        params = [(d, "float") for d in unit.deps]
        cols = ", ".join(repr(c) for c in columns)
        data = ", ".join(f"{c!r}: [{unit.deps[0]}]" for c in columns)
        return (
            f"@extract_columns({cols})\n"
            f'@tag(layer="raw")\n'
            f"{_signature(unit.name, params, 'pd.DataFrame', style)}\n"
            f"{_doc(f'Frame {unit.name}', style, docs)}"
            f"    return pd.DataFrame({{{data}}})\n"
        )
    if unit.kind == "when":
        params = [(d, "float") for d in unit.deps]
        fast = _signature(f"{unit.name}__fast", params, "float", style)
        slow = _signature(f"{unit.name}__slow", params, "float", style)
        args = " + ".join(unit.deps)
        return (
            f'@config.when(mode="fast")\n{fast}\n    return {args}\n\n\n'
            f'@config.when(mode="slow")\n{slow}\n    return ({args}) / 2\n'
        )
    if unit.kind in ("pipe_in", "pipe_out"):
        return _render_pipe(unit, rng, docs)
    column = unit.deps[0]
    return (
        f"def {unit.name}({column}: pd.Series) -> float:\n"
        f"{_doc(f'Total of {column}', style, docs)}"
        f"    return float({column}.sum())\n"
    )


_HEADER = (
    '"""Synthetic module {name} ({layer} layer): generated for benchmarks."""\n\n'
    "import pandas as pd\n\n"
    "from hamilton.function_modifiers import (\n"
    "    config,\n    extract_columns,\n    parameterize,\n    source,\n    tag,\n    value,\n)\n"
)


# Steps of pipe_input / pipe_output: private (a leading underscore), so not nodes themselves.
_PIPE_HEADER = (
    "from hamilton.function_modifiers import pipe_input, pipe_output, step\n\n\n"
    "def _scale(v: float, k: float) -> float:\n    return v * k\n\n\n"
    "def _shift(v: float, d: float) -> float:\n    return v + d\n"
)


def _render_pipe(unit: _Unit, rng: random.Random, docs: str) -> str:
    """``pipe_input`` (the first parameter through two steps: three nodes) or ``pipe_output``
    (the result through two steps: four nodes, ``.raw`` among them)."""
    k, d = round(rng.uniform(0.5, 1.5), 3), round(rng.uniform(-1.0, 1.0), 3)
    steps = (
        f'    step(_scale, k=value({k})).named("scaled"),\n'
        f'    step(_shift, d=value({d})).named("shifted"),\n'
    )
    if unit.kind == "pipe_in":
        head = f"@pipe_input(\n{steps}    namespace={unit.name!r},\n)\n"
    else:
        head = f"@pipe_output(\n{steps})\n"
    params = ", ".join(f"{dep}: float" for dep in unit.deps)
    return (
        f"{head}def {unit.name}({params}) -> float:\n"
        f"{_doc(f'Piped metric {unit.name}', unit.style, docs)}"
        f"    return {' - '.join(unit.deps)}\n"
    )


def _module_text(name: str, layer: str, chunks: list[str], shape: Shape = MIXED) -> str:
    header = _HEADER.format(name=name, layer=layer)
    if shape.docs == "off":
        header = header.split("\n\n", 1)[1]
    if shape.pipes:
        header += _PIPE_HEADER
    return header + "".join(f"\n\n{c}" for c in chunks)


def generate(
    root: Path,
    nodes: int,
    *,
    seed: int = 0,
    package: str = "genstack",
    per_module: int | None = None,
    shape: Shape = MIXED,
) -> GeneratedStack:
    """Write a project with ``nodes`` computed nodes into ``root``; deterministic."""
    if nodes < 1:
        raise ValueError("nodes must be at least 1")
    if not package.isidentifier():
        raise ValueError(f"package {package!r} is not a Python identifier")
    rng = random.Random(f"{seed}:{nodes}")
    units = _plan(nodes, rng, shape)
    per_module = per_module or shape.per_module
    chunks = [units[i : i + per_module] for i in range(0, len(units), per_module)]
    core_count = max(1, round(len(chunks) * 0.72))
    layers: dict[str, list[str]] = {"core": [], "plugins": [], "overrides": []}
    files: dict[Path, str] = {}
    pkg = root / package
    for layer in layers:
        files[pkg / layer / "__init__.py"] = ""
    files[pkg / "__init__.py"] = ""
    core_plain: list[_Unit] = []
    for number, chunk in enumerate(chunks):
        layer = "core" if number < core_count else "plugins"
        module = _nested(f"m{number:04d}", number, shape)
        for level in range(1, shape.depth):
            files[pkg / layer / Path(*module.split(".")[:level]) / "__init__.py"] = ""
        layers[layer].append(f"{package}.{layer}.{module}")
        files[pkg / layer / f"{module.replace('.', '/')}.py"] = _module_text(
            f"{layer}.{module}", layer, [_render_unit(u, rng, shape=shape) for u in chunk], shape
        )
        if layer == "core":
            core_plain.extend(u for u in chunk if u.kind == "plain")
    count = round(nodes * shape.override_share) if shape.override_share else nodes // 500
    overridden = sorted(
        rng.sample(core_plain, min(len(core_plain), max(1, count))), key=lambda u: u.name
    )
    for number in range(0, len(overridden), per_module):
        module = f"hotfix{number // per_module:02d}"
        layers["overrides"].append(f"{package}.overrides.{module}")
        texts = [
            _render_unit(u, rng, override=True, shape=shape)
            for u in overridden[number : number + per_module]
        ]
        files[pkg / "overrides" / f"{module}.py"] = _module_text(
            f"overrides.{module}", "overrides", texts, shape
        )
    # Only the inputs some node takes: a profile input that no node takes is an error.
    used = {dep for unit in units for dep in unit.deps}
    inputs = tuple(name for name in (f"in_{i:02d}" for i in range(INPUTS)) if name in used)
    profile = _profile_yaml(layers, inputs, rng)
    if shape.extends:
        files[root / "configs" / "base.yaml"] = profile
        profile = "# Generated by bench.generate: the base stack, as it is.\nextends: base.yaml\n"
    files[root / "configs" / "dev.yaml"] = profile
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return GeneratedStack(
        root=root,
        package=package,
        nodes=nodes,
        semantic=sum(1 for u in units if u.semantic),
        modules=len(chunks) + len(layers["overrides"]),
        inputs=inputs,
        overridden=tuple(u.name for u in overridden),
    )


def _nested(module: str, number: int, shape: Shape) -> str:
    """A module's dotted name below its layer: in ``shape.depth - 1`` more packages of ten
    modules each (``g00.s03.m0031``), or as it is."""
    if shape.depth <= 1:
        return module
    levels = [f"s{number // 10 % 10:02d}", f"g{number // 100:02d}"][: shape.depth - 1]
    return ".".join([*reversed(levels), module])


def _profile_yaml(layers: dict[str, list[str]], inputs: tuple[str, ...], rng: random.Random) -> str:
    lines = ["# Generated by bench.generate: a synthetic layered stack.", "stack:"]
    for layer, modules in layers.items():
        if modules:
            lines.append(f"  {layer}:")
            lines.extend(f"    - {m}" for m in modules)
    lines += ["config:", "  mode: fast", "inputs:"]
    lines += [f"  {name}: {round(rng.uniform(0.5, 5.0), 2)}" for name in inputs]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.generate --nodes N [--seed S] [--package P] [--shape S] DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("directory", type=Path, help="where to write the project")
    parser.add_argument("--nodes", type=int, default=5000, help="computed nodes (default 5000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--package", default="genstack", help="package name of the modules")
    parser.add_argument(
        "--shape", default=MIXED.name, choices=sorted(SHAPES), help="layout (default mixed)"
    )
    args = parser.parse_args(argv)
    try:
        stack = generate(
            args.directory,
            args.nodes,
            seed=args.seed,
            package=args.package,
            shape=SHAPES[args.shape],
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(
        f"wrote {stack.nodes} nodes ({stack.semantic} semantic) in {stack.modules} modules, "
        f"{len(stack.overridden)} overridden, to {stack.root}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
