"""Baselines that merge: two branches that each accept different semantic changes merge with a
plain `git merge`, without a conflict in any file semdag writes, into exactly what `snapshot
update` writes for the merged code; a baseline merged without the driver is reported as a
merge conflict, and `snapshot update` says what it accepts against each side."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow

ORDERS = """\
from hamilton.function_modifiers import tag


@tag(layer="semantic", semantic_id="customer.order_count.v1", entity="customer",
     grain="per_customer", dtype="int64", version="1", owner="sales")
def order_count(order_quantities: list[int]) -> int:
    return len(order_quantities)
"""

CUSTOMERS = """\
from hamilton.function_modifiers import tag


@tag(layer="semantic", semantic_id="customer.units_lifetime.v1", entity="customer",
     grain="per_customer", dtype="int64", version="1", owner="crm")
def lifetime_units(order_quantities: list[int]) -> int:
    return sum(order_quantities)
"""

MAX_QUANTITY = """

@tag(layer="semantic", semantic_id="customer.max_quantity.v1", entity="customer",
     grain="per_customer", dtype="int64", version="1", owner="sales")
def max_quantity(order_quantities: list[int]) -> int:
    return max(order_quantities)
"""

LAST_ORDER = """

@tag(layer="semantic", semantic_id="customer.last_order_date.v1", entity="customer",
     grain="per_customer", dtype="int64", version="1", owner="crm")
def last_order_date(order_quantities: list[int]) -> int:
    return len(order_quantities) - 1
"""

BASELINES = ("snapshots/dev/registry.json", "snapshots/dev/graph.json")


class Repo:
    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        (home / "gitconfig").write_text("", encoding="utf-8")
        self.env = {
            **os.environ,
            "GIT_CONFIG_GLOBAL": str(home / "gitconfig"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Dev",
            "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "Dev",
            "GIT_COMMITTER_EMAIL": "dev@example.com",
        }

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["git", *args], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=120
        )
        if check and done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)}: {done.stdout}{done.stderr}")
        return done

    def semdag(self, *args: str) -> tuple[int, str, str]:
        done = run_cli([*args, "--project-dir", str(self.root)])
        return done.exit_code, done.stdout, done.stderr

    def append(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")

    def edit(self, rel: str, old: str, new: str) -> None:
        path = self.root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, (old, rel)
        path.write_text(text.replace(old, new), encoding="utf-8")

    def accept(self, message: str) -> str:
        """snapshot update and commit everything; returns update's output."""
        code, out, err = self.semdag("snapshot", "update")
        assert code == 0, out + err
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return out

    def baselines(self) -> dict[str, bytes]:
        return {rel: (self.root / rel).read_bytes() for rel in BASELINES}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    root = tmp_path / "shop"
    root.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    repo = Repo(root, home)
    repo.git("init", "-q", "-b", "main")
    # semdag runs git in this process: the same isolated configuration.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", repo.env["GIT_CONFIG_GLOBAL"])
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    done = run_cli(["init", str(root)])
    assert done.exit_code == 0, done.stderr
    assert "merge-baselines %O %A %B %P" in repo.git("config", "merge.semdag.driver").stdout
    (root / "modules/core/orders.py").write_text(ORDERS, encoding="utf-8")
    (root / "modules/core/customers.py").write_text(CUSTOMERS, encoding="utf-8")
    repo.edit(
        "configs/dev.yaml",
        "core: [modules.core.metrics]",
        "core: [modules.core.metrics, modules.core.orders, modules.core.customers]",
    )
    repo.accept("the team's project")
    return repo


def branch(repo: Repo, name: str, change: tuple[str, str, str | None]) -> None:
    """A branch off main with one change to one module (``new`` None: append ``old``),
    accepted with snapshot update."""
    rel, old, new = change
    repo.git("checkout", "-q", "-b", name, "main")
    if new is None:
        repo.append(rel, old)
    else:
        repo.edit(rel, old, new)
    repo.accept(name)


ADD_MAX = ("modules/core/orders.py", MAX_QUANTITY, None)
ADD_LAST = ("modules/core/customers.py", LAST_ORDER, None)
BUMP_ORDERS = ("modules/core/orders.py", 'version="1", owner="sales"', 'version="2", owner="ops"')
RETYPE_CUSTOMERS = (
    "modules/core/customers.py",
    'dtype="int64", version="1"',
    'dtype="int32", version="2"',
)
REMOVE_CUSTOMERS = ("modules/core/customers.py", '@tag(layer="semantic"', '@tag(layer="private"')


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        pytest.param(ADD_MAX, ADD_LAST, id="added-ids-that-sort-next-to-each-other"),
        pytest.param(BUMP_ORDERS, RETYPE_CUSTOMERS, id="changed-entries"),
        pytest.param(ADD_MAX, REMOVE_CUSTOMERS, id="added-and-removed"),
        pytest.param(REMOVE_CUSTOMERS, BUMP_ORDERS, id="removed-and-changed"),
    ],
)
def test_branches_accepting_different_changes_merge_without_a_conflict(repo, ours, theirs):
    branch(repo, "theirs", theirs)
    branch(repo, "ours", ours)

    merged = repo.git("merge", "--no-edit", "theirs", check=False)

    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "CONFLICT" not in merged.stdout + merged.stderr
    assert repo.git("status", "--porcelain").stdout == ""
    # The merged baselines are what snapshot update writes for the merged code.
    before = repo.baselines()
    code, out, err = repo.semdag("snapshot", "update")
    assert (code, err) == (0, ""), out
    assert "dev: no changes to accept" in out and "dev: baselines unchanged" in out
    assert repo.baselines() == before
    code, out, _ = repo.semdag("snapshot", "check", "--fail-on", "any")
    assert (code, out) == (0, "dev: no findings\n")


def test_a_merge_without_the_driver_is_reported_as_a_conflict_and_resolved_by_update(repo):
    branch(repo, "theirs", ADD_LAST)
    branch(repo, "ours", ADD_MAX)
    # A clone that never named the driver (or a host that merges without it).
    repo.git("config", "--remove-section", "merge.semdag")

    merged = repo.git("merge", "--no-edit", "theirs", check=False)

    assert merged.returncode == 1
    assert "CONFLICT (content): Merge conflict in snapshots/dev/registry.json" in merged.stdout
    code, out, err = repo.semdag("snapshot", "check")
    assert code == 2 and out == ""
    assert err.splitlines()[1] == (
        "semdag snapshot check: error: snapshots/dev/registry.json has merge conflict markers "
        "(line 3: HEAD against theirs); HEAD had accepted semantic-added "
        "customer.max_quantity.v1; theirs had accepted semantic-added customer.last_order_date.v1"
    )
    assert (
        "hint: run `semdag snapshot update -p dev` to write the baselines from the merged code"
        in err
    )
    # check named the driver again for the next merge.
    assert "set git's merge driver for semdag baselines in this clone" in err

    code, out, err = repo.semdag("snapshot", "update")
    assert code == 0, err
    assert out.splitlines()[:5] == [
        "dev: snapshots/dev/registry.json had merge conflict markers: written from the merged code",
        "dev: against HEAD: accepted 0 breaking, 0 warning, 1 additive, 0 info",
        "  semantic-added: customer.last_order_date.v1: customer.last_order_date.v1 is new "
        "(node last_order_date)",
        "dev: against theirs: accepted 0 breaking, 0 warning, 1 additive, 0 info",
        "  semantic-added: customer.max_quantity.v1: customer.max_quantity.v1 is new "
        "(node max_quantity)",
    ]
    code, out, err = repo.semdag("snapshot", "check")
    assert (code, out, err) == (0, "dev: no findings\n", "")


def test_the_driver_leaves_conflict_markers_where_both_sides_changed_one_entry(repo, tmp_path):
    branch(repo, "theirs", ("modules/core/orders.py", 'owner="sales"', 'owner="finance"'))
    branch(repo, "ours", ("modules/core/orders.py", 'owner="sales"', 'owner="ops"'))

    merged = repo.git("merge", "--no-edit", "theirs", check=False)

    assert merged.returncode == 1
    assert (
        "both sides changed entries.customer.order_count.v1.tags.owner"
        in merged.stderr + merged.stdout
    )
    assert "<<<<<<< ours" in (repo.root / "snapshots/dev/registry.json").read_text()
    code, _, err = repo.semdag("snapshot", "check")
    assert code == 2
    assert "snapshots/dev/registry.json has merge conflict markers" in err
    assert err.splitlines()[0] == (
        "semdag snapshot check: error: snapshots/dev/registry.json has merge conflict markers "
        "(line 17: ours against theirs); ours had accepted tags-changed customer.order_count.v1; "
        "theirs had accepted tags-changed customer.order_count.v1"
    )
    # The person resolves the code; update writes the baselines from it.
    repo.git("checkout", "--ours", "modules/core/orders.py")
    code, out, err = repo.semdag("snapshot", "update")
    assert code == 0, err
    assert "dev: against ours: no changes" in out.splitlines()
    assert "dev: against theirs: accepted 0 breaking, 0 warning, 0 additive, 1 info" in out
    assert repo.semdag("snapshot", "check")[:2] == (0, "dev: no findings\n")


def test_merge_baselines_command(tmp_path):
    base = tmp_path / "base.json"
    ours = tmp_path / "ours.json"
    theirs = tmp_path / "theirs.json"
    base.write_text('{"entries": {}}\n')
    ours.write_text('{"entries": {"b": 1}}\n')
    theirs.write_text('{"entries": {"a": 2}}\n')
    done = run_cli(["merge-baselines", str(base), str(ours), str(theirs), "x/registry.json"])
    assert (done.exit_code, done.stdout) == (0, "")
    assert done.stderr == "semdag: x/registry.json: merged entry by entry\n"
    assert ours.read_text() == '{\n  "entries": {\n    "a": 2,\n    "b": 1\n  }\n}\n'

    theirs.write_text('{"entries": {"b": 3}}\n')
    done = run_cli(["merge-baselines", str(base), str(ours), str(theirs), "x/registry.json"])
    assert done.exit_code == 1
    assert done.stderr.startswith("semdag: x/registry.json: both sides changed entries.b;")

    missing = run_cli(["merge-baselines", str(tmp_path / "nope"), str(ours), str(theirs)])
    assert missing.exit_code == 2
    assert "nope: no such file" in missing.stderr


def test_a_conflicted_graph_json_alone_is_reported_and_rewritten(tmp_path):
    root = tmp_path / "shop"
    assert run_cli(["init", str(root)]).exit_code == 0
    graph = root / "snapshots/dev/graph.json"
    lines = graph.read_text().splitlines(keepends=True)
    lines[3:3] = ["<<<<<<< HEAD\n", '  "x": 1,\n', "=======\n", '  "x": 2,\n', ">>>>>>> side\n"]
    graph.write_text("".join(lines))

    check = run_cli(["snapshot", "check", "--project-dir", str(root)])
    assert (check.exit_code, check.stdout) == (2, "")
    assert check.stderr.splitlines()[0] == (
        "semdag snapshot check: error: snapshots/dev/graph.json has merge conflict markers "
        "(line 4: HEAD against side)"
    )
    update = run_cli(["snapshot", "update", "--project-dir", str(root)])
    assert update.exit_code == 0, update.stderr
    assert update.stdout.splitlines() == [
        "dev: snapshots/dev/graph.json had merge conflict markers: written from the merged code",
        "dev: accepted 0 breaking, 0 warning, 0 additive, 1 info",
        "  graph-changed: (graph): graph.json is missing or unreadable: "
        "run `semdag snapshot update`",
        "dev: wrote snapshots/dev/graph.json",
    ]
    assert "<<<<<<<" not in graph.read_text()
    assert run_cli(["snapshot", "check", "--project-dir", str(root)]).exit_code == 0
