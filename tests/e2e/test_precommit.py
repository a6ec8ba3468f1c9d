"""semdag as a pre-commit hook: the published manifest, and real commits refused or let through.

The commits run in a git repository made by `semdag init`, with its own
`.pre-commit-config.yaml` (`repo: local`, `language: system`) pointed at this interpreter's
semdag, so nothing is installed and no network is needed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from semdag.app.scaffold import HOOK_STAGES, HOOKS, INSTALL_HOOK_TYPES
from tests.conftest import ROOT, Result, run_cli

pytestmark = pytest.mark.slow

SEMDAG = f"{shlex.quote(sys.executable)} -m semdag"
METRICS = "modules/core/metrics.py"
ACKS = "snapshots/acknowledged.yaml"
SID = "example.total_units.v1"


def test_published_manifest_is_valid_and_matches_the_scaffold(tmp_path):
    from pre_commit.clientlib import load_config, load_manifest

    manifest = {hook["id"]: hook for hook in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))}
    assert list(manifest) == [hook_id for hook_id, _, _ in HOOKS]
    for hook_id, entry, _ in HOOKS:
        hook = manifest[hook_id]
        assert hook["entry"] == entry
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is False
        assert hook["require_serial"] is True
        # Every commit, whatever it touches: no file filter can see a deleted module.
        assert hook["always_run"] is True
        assert hook["files"] == ""
    assert manifest["semdag-validate"]["entry"] == "semdag validate"
    assert manifest["semdag-snapshot-check"]["entry"] == "semdag snapshot check --all"
    assert manifest["semdag-snapshot-update"]["stages"] == ["manual"]
    assert manifest["semdag-snapshot-check"]["stages"] == HOOK_STAGES
    assert manifest["semdag-validate"]["stages"] == HOOK_STAGES
    assert "pre-merge-commit" in HOOK_STAGES

    from semdag.app.scaffold import project_files

    scaffold = tmp_path / ".pre-commit-config.yaml"
    scaffold.write_text(project_files()[".pre-commit-config.yaml"], encoding="utf-8")
    config = load_config(str(scaffold))
    assert config["default_install_hook_types"] == INSTALL_HOOK_TYPES
    assert scaffold.read_text(encoding="utf-8").count("language: system") == len(HOOKS)
    (local,) = config["repos"]
    assert local["repo"] == "local"
    for hook in local["hooks"]:
        published = manifest[hook["id"]]
        # `system` runs the entry as is; pre-commit 4 reads it as its new name `unsupported`.
        assert hook["language"] in ("system", "unsupported")
        for key in ("entry", "files", "always_run", "pass_filenames", "require_serial", "stages"):
            assert hook[key] == published[key], (hook["id"], key)


class Repo:
    """A git repository with semdag's hooks installed, and the environment to commit in."""

    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        unreachable = "http://127.0.0.1:9"
        self.env = {
            **os.environ,
            "PRE_COMMIT_HOME": str(home / "pre-commit"),
            "PRE_COMMIT_COLOR": "never",
            "GIT_CONFIG_GLOBAL": str(home / "gitconfig"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(home),
            # Nothing here may reach the network; a hook that tried would fail loudly.
            "http_proxy": unreachable,
            "https_proxy": unreachable,
            "HTTP_PROXY": unreachable,
            "HTTPS_PROXY": unreachable,
            "PIP_NO_INDEX": "1",
        }
        (home / "gitconfig").write_text("", encoding="utf-8")

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)}: {done.stdout}{done.stderr}")
        return done

    def commit(self, message: str) -> tuple[int, str]:
        self.git("add", "-A")
        done = self.git("commit", "-m", message, check=False)
        return done.returncode, done.stdout + done.stderr

    def commits(self) -> int:
        return int(self.git("rev-list", "--count", "HEAD").stdout)

    def terminal(self, *args: str) -> Result:
        """The same command typed in a terminal in the repository (run in-process: faster)."""
        return run_cli(list(args), cwd=self.root)

    def edit(self, rel: str, old: str, new: str) -> None:
        path = self.root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def set_hook_args(self, hook_id: str, args: list[str]) -> None:
        path = self.root / ".pre-commit-config.yaml"
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        for hook in config["repos"][0]["hooks"]:
            if hook["id"] == hook_id:
                hook["args"] = args
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


@dataclass(frozen=True)
class Scaffold:
    """A repository made by ``semdag init`` with the hooks installed and its first commit made
    through them (the hooks' output kept), copied by each test that commits on top of it."""

    root: Path
    home: Path
    first_commit: tuple[int, str]


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory: pytest.TempPathFactory) -> Scaffold:
    base = tmp_path_factory.mktemp("scaffold")
    root, home = base / "shop", base / "home"
    done = run_cli(["init", str(root)])
    assert done.exit_code == 0, done.stderr
    # The scaffold's hooks, run with this interpreter's semdag instead of the one on PATH.
    config = root / ".pre-commit-config.yaml"
    text = config.read_text(encoding="utf-8")
    assert "entry: semdag " in text
    config.write_text(text.replace("entry: semdag ", f"entry: {SEMDAG} "), encoding="utf-8")
    home.mkdir()
    repo = Repo(root, home)
    repo.git("init", "-q", "-b", "main")
    repo.git("config", "user.email", "dev@example.com")
    repo.git("config", "user.name", "Dev")
    repo.git("config", "commit.gpgsign", "false")
    installed = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"],
        cwd=root,
        env=repo.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return Scaffold(root, home, repo.commit("scaffold"))


@pytest.fixture
def repo(scaffold: Scaffold, tmp_path: Path) -> Repo:
    """The scaffold's repository after its first commit, the test's own to commit in."""
    code, output = scaffold.first_commit
    assert code == 0, output
    shutil.copytree(scaffold.root, tmp_path / "shop", symlinks=True)
    shutil.copytree(scaffold.home, tmp_path / "home", symlinks=True)
    return Repo(tmp_path / "shop", tmp_path / "home")


def refused_as_in_the_terminal(repo: Repo, output: str, *args: str) -> None:
    """The terminal's check fails too, and the hook shows exactly what the terminal shows."""
    terminal = repo.terminal("snapshot", "check", "--all", *args)
    assert terminal.exit_code == 1
    assert terminal.stdout in output


def test_commits_are_gated_like_the_terminal(scaffold: Scaffold, repo: Repo):
    code, output = scaffold.first_commit
    assert code == 0, output
    assert "semdag validate" in output and "semdag snapshot check" in output
    assert "Passed" in output and "Failed" not in output

    # No semantic change: a docstring edit passes.
    repo.edit(METRICS, "Units sold: the sum", "Units sold in total: the sum")
    code, output = repo.commit("reword a docstring")
    assert code == 0, output
    assert repo.commits() == 2

    # A dtype change is refused, with the finding in the hook's output.
    repo.edit(METRICS, 'dtype="int64",', 'dtype="json",')
    code, output = repo.commit("widen total_units")
    assert code == 1, output
    assert repo.commits() == 2
    assert "semdag snapshot check" in output and "Failed" in output
    assert "dtype-changed" in output and SID in output
    assert "int64 -> json" in output
    refused_as_in_the_terminal(repo, output)

    # Acknowledged until a future date: reported, not refused, as in the terminal.
    ack = (
        f"acknowledged:\n  - rule: dtype-changed\n    semantic_id: {SID}\n"
        "    reason: readers moved to int64\n    expires: 2999-12-31\n"
    )
    (repo.root / ACKS).write_text(ack, encoding="utf-8")
    terminal = repo.terminal("snapshot", "check", "--all")
    assert terminal.exit_code == 0, terminal.stdout + terminal.stderr
    assert "[acknowledged]" in terminal.stdout
    code, output = repo.commit("widen total_units, acknowledged")
    assert code == 0, output
    assert repo.commits() == 3

    # The acknowledgement ran out: refused again, naming the expired acknowledgement.
    repo.edit(ACKS, "2999-12-31", "2000-01-01")
    code, output = repo.commit("touch the acknowledgement")
    assert code == 1, output
    assert "acknowledgement-expired" in output and "dtype-changed" in output
    refused_as_in_the_terminal(repo, output)

    # --fail-on never in the hook's args lets it through, as it does in the terminal.
    repo.set_hook_args("semdag-snapshot-check", ["--fail-on", "never"])
    assert repo.terminal("snapshot", "check", "--all", "--fail-on", "never").exit_code == 0
    code, output = repo.commit("report only")
    assert code == 0, output
    assert repo.commits() == 4

    # --fail-on warning blocks a warning (code changed, version not bumped) the default passes.
    repo.set_hook_args("semdag-snapshot-check", ["--fail-on", "warning"])
    (repo.root / ACKS).write_text("acknowledged: []\n", encoding="utf-8")
    assert repo.terminal("snapshot", "update", "--all").exit_code == 0
    repo.edit(
        METRICS, "return total_units * unit_price", "return round(total_units * unit_price, 2)"
    )
    assert repo.terminal("snapshot", "check", "--all").exit_code == 0
    code, output = repo.commit("round revenue")
    assert code == 1, output
    assert "code-changed" in output
    refused_as_in_the_terminal(repo, output, "--fail-on", "warning")

    # Accepting the change through the manual hook: it rewrites the baselines (pre-commit
    # reports a hook that modified files as failed), and the commit with them passes.
    manual = ["run", "semdag-snapshot-update", "--hook-stage", "manual"]
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", *manual],
        cwd=repo.root,
        env=repo.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "files were modified by this hook" in done.stdout
    assert repo.terminal("snapshot", "check", "--all", "--fail-on", "warning").exit_code == 0
    code, output = repo.commit("round revenue, baselines updated")
    assert code == 0, output
    assert repo.commits() == 5


def test_every_commit_that_can_change_the_verdict_is_gated(repo: Repo):

    # A hand edit of a baseline alone: refused, as the terminal's check fails.
    repo.edit("snapshots/dev/registry.json", '"dtype": "int64"', '"dtype": "json"')
    code, output = repo.commit("edit the baseline by hand")
    assert code == 1, output
    assert "semdag snapshot check" in output and "Failed" in output and "Skipped" not in output
    assert "dtype-changed" in output and SID in output
    refused_as_in_the_terminal(repo, output)
    repo.git("checkout", "HEAD", "--", "snapshots/dev/registry.json")

    # Deleting a module alone (no file left for a filter to match): refused too.
    (repo.root / "modules/core/metrics.py").unlink()
    code, output = repo.commit("drop the metrics")
    assert code == 1, output
    assert "semdag validate" in output and "Failed" in output
    repo.git("checkout", "HEAD", "--", "modules/core/metrics.py")
    assert repo.commits() == 1


def test_merge_commits_are_gated(repo: Repo):
    assert (repo.root / ".git/hooks/pre-merge-commit").is_file()
    # A branch committed without the hooks (a colleague's clone without pre-commit).
    repo.git("checkout", "-q", "-b", "widen")
    repo.edit(METRICS, 'dtype="int64",', 'dtype="json",')
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "widen total_units")
    repo.git("checkout", "-q", "main")
    (repo.root / "README.md").write_text("the shop\n", encoding="utf-8")
    assert repo.commit("a readme")[0] == 0

    merged = repo.git("merge", "--no-edit", "widen", check=False)

    output = merged.stdout + merged.stderr
    assert merged.returncode != 0, output
    assert "semdag snapshot check" in output and "Failed" in output
    assert "dtype-changed" in output
    assert repo.commits() == 2  # the merge commit was not made
