"""The project as it was at another git revision: its graph, built in a separate checkout.

The revision is checked out in a temporary git worktree and built there by another semdag
process (the stack's modules are already imported here from the working tree), which sends
back its whole graph export. ``render --changed-since git:REF`` and ``review`` read it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semdag.app.session import Session
from semdag.core.errors import BaselineError, SemdagError, UsageError
from semdag.core.graph import GraphModel

# Where a default branch is looked for, in order, when no base revision is given.
DEFAULT_BRANCHES = ("origin/main", "origin/master", "main", "master")


@dataclass(frozen=True)
class Revision:
    """A profile's graph at a git revision."""

    ref: str  # as given (or chosen): shown in reports
    commit: str
    graph: GraphModel
    document: dict[str, Any]  # the export document the graph was read from
    tag_filter: dict[str, Any]  # the profile's registry filter at that revision


def git(cwd: Path, *args: str, ref: str | None = None) -> str:
    """``git args`` in ``cwd``; a UsageError naming ``ref`` (or git's own message) on failure."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise UsageError("git is not installed") from None
    if done.returncode != 0:
        if ref is not None:
            raise UsageError(f"unknown git revision {ref!r}")
        detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "git failed"
        raise UsageError(f"git {args[0]}: {detail}")
    return done.stdout.strip()


def default_base(root: Path) -> tuple[str, str]:
    """The merge base of HEAD with the default branch (the remote's HEAD when it is known,
    else the first of :data:`DEFAULT_BRANCHES` that exists): its commit and the branch."""
    candidates = list(DEFAULT_BRANCHES)
    remote_head = _try_git(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if remote_head:
        candidates.insert(0, remote_head)
    for branch in candidates:
        if _try_git(root, "rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}"):
            base = _try_git(root, "merge-base", "HEAD", branch)
            if base:
                return base, branch
    raise UsageError(
        "no default branch to compare with (looked for origin/HEAD, "
        + ", ".join(DEFAULT_BRANCHES)
        + "): pass --base REV"
    )


def _try_git(root: Path, *args: str) -> str | None:
    try:
        return git(root, *args)
    except UsageError:
        return None


@contextlib.contextmanager
def checkout(session: Session, ref: str) -> Iterator[tuple[str, Path]]:
    """The project as it was at ``ref``, checked out in a temporary git worktree: the
    commit and the project root inside that worktree. The worktree is removed afterwards."""
    project = session.project
    top = git(project.root, "rev-parse", "--show-toplevel")
    sub = Path(project.root).resolve().relative_to(Path(top).resolve())
    commit = git(project.root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", ref=ref)
    with tempfile.TemporaryDirectory(prefix="semdag-worktree-") as tmp:
        tree = Path(tmp) / "tree"
        git(project.root, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        try:
            yield commit, tree / sub
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)],
                cwd=project.root,
                capture_output=True,
                check=False,
            )


def semdag_json(root: Path, args: list[str], session: Session, ref: str) -> Any:
    """What ``semdag ARGS -f json`` reports as its data for the project at ``root`` (a
    checkout of ``ref``), run by another process with the session's profile and ``--set``
    values and no build cache; a BaselineError naming the revision when it fails."""
    name = session.profile.name
    command = [sys.executable, "-m", "semdag", *args, "-p", name, "-f", "json"]
    command += ["--project-dir", str(root)]
    for assignment in session.sets:
        command += ["--set", assignment]
    env = dict(os.environ, SEMDAG_NO_BUILD_CACHE="1")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    try:
        envelope = json.loads(done.stdout)
    except json.JSONDecodeError:
        envelope = None
    if not isinstance(envelope, dict) or not envelope.get("ok"):
        errors = (envelope or {}).get("errors") or [{"message": done.stderr.strip() or "failed"}]
        raise BaselineError(f"cannot build profile {name} at {ref}: {errors[0].get('message')}")
    return envelope.get("data")


def graph_at(session: Session, ref: str) -> Revision:
    """The selected profile's whole graph as built at the git revision ``ref``."""
    from semdag.config.profile import load_profile
    from semdag.config.project import find_project
    from semdag.core.graphdoc import graph_from_document

    name = session.profile.name
    with checkout(session, ref) as (commit, root):
        document = semdag_json(root, ["export", "--all"], session, ref)
        if not isinstance(document, dict):
            raise BaselineError(f"cannot build profile {name} at {ref}: no graph")
        try:
            old_profile = load_profile(find_project(explicit=root), name, sets=session.sets)
        except SemdagError as exc:
            raise BaselineError(f"cannot read profile {name} at {ref}: {exc.message}") from None
    tag_filter = dict(old_profile.tag_filter)
    graph = graph_from_document(document, tag_filter, f"the export at {ref}")
    return Revision(ref, commit, graph, document, tag_filter)
