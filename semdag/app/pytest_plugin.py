"""semdag in a project's own pytest suite: the registry and its runtime contracts as tests.

Registered through the ``pytest11`` entry point and inert until used: it declares three fixtures
and two options, and builds nothing until a test asks for a fixture or ``--semdag-contracts``
is given.

- ``semdag_registry(profile=None, format="json")``: the profile's registry as plain data (the
  document that ``semdag registry -f json`` prints); ``format="odcs"``, ``"openlineage"`` or
  ``"jsonschema"``: the document that ``semdag registry -f FORMAT`` prints, as plain data.
- ``semdag_check(profile=None, fail_on="breaking")``: compares the profile's build with its
  committed baselines as ``semdag snapshot check`` does (severities, acknowledgements) and
  fails the test with the failing findings, one line each; the baseline is the only copy.
- ``semdag_verify(profile=None, ...)``: runs ``semdag verify`` for the profile and fails the
  test with the failing findings, one line each; returns the verification otherwise.
- ``pytest --semdag-contracts``: one test per semantic id of each ``--semdag-profile`` (default:
  the project's default profile), so a broken contract fails by name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from semdag.app.session import Session
    from semdag.app.verify import Request, Verification
    from semdag.config.project import Project
    from semdag.core.rules import Finding

COMMAND = "pytest"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("semdag", "semdag: the semantic registry and its runtime contracts")
    group.addoption(
        "--semdag-contracts",
        action="store_true",
        default=False,
        help="Add one test per semantic id: the runtime contract of each registry entry of "
        "each --semdag-profile (as `semdag verify` checks it).",
    )
    group.addoption(
        "--semdag-profile",
        action="append",
        default=[],
        metavar="NAME",
        help="A profile for --semdag-contracts (default: the project's default profile). "
        "Repeatable.",
    )
    parser.addini(
        "semdag_project_dir",
        "The semdag project root, relative to pytest's rootdir (default: found from the "
        "rootdir as the semdag command finds it from the working directory).",
        default="",
    )


class SemdagFailure(Exception):
    """A contract or registry that failed: reported as its message alone."""


class _State:
    """What one pytest run has built: the project, and each verification once."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._project: Project | None = None
        self._verified: dict[tuple[str | None, str], Verification | Exception] = {}

    def project(self) -> Project:
        from semdag.config.project import find_project

        if self._project is None:
            configured = str(self.config.getini("semdag_project_dir") or "")
            root = self.config.rootpath
            if configured:
                self._project = find_project(explicit=root / configured)
            else:
                self._project = find_project(start=root)
        return self._project

    @contextlib.contextmanager
    def session(self, profile: str | None) -> Iterator[Session]:
        """A session for ``profile``, finished (its cache writes done) afterwards."""
        from semdag.app.session import Session

        session = Session(command=COMMAND, profile_name=profile, project_dir=self.project().root)
        try:
            yield session
        finally:
            session.finish()

    @contextlib.contextmanager
    def at_root(self) -> Iterator[None]:
        """Run with the project root as the working directory, as the command does."""
        with contextlib.chdir(self.project().root):
            yield

    def registry(self, profile: str | None = None, fmt: str = "json") -> dict[str, Any]:
        from semdag.app.exports import FORMATS, docs_of, export
        from semdag.app.gate import current_registry

        if fmt != "json" and fmt not in FORMATS:
            raise ValueError(f"format must be one of json, {', '.join(FORMATS)}, got {fmt!r}")
        with _reported(), self.at_root(), self.session(profile) as session:
            registry, graph = current_registry(session, None)
            if fmt != "json":
                return export(registry, docs_of(registry, graph), fmt).data
        return registry.as_document()

    def check(self, profile: str | None) -> Any:
        from semdag.app.gate import check

        with _reported(), self.at_root(), self.session(profile) as session:
            return check(session, None)

    def semantic_ids(self, profile: str | None) -> tuple[str, list[str]]:
        """The profile's name and its semantic ids."""
        document = self.registry(profile)
        return document["profile"], sorted(document["entries"])

    def verify(self, profile: str | None, request: Request) -> Verification:
        import dataclasses
        import json

        from semdag.app.verify import verify

        key = (profile, json.dumps(dataclasses.asdict(request), sort_keys=True, default=repr))
        if key not in self._verified:
            try:
                with _reported(), self.at_root(), self.session(profile) as session:
                    self._verified[key] = verify(session, None, request)
            except SemdagFailure as failure:
                self._verified[key] = failure  # every test that asks fails the same way
        done = self._verified[key]
        if isinstance(done, Exception):
            raise done
        return done


@contextlib.contextmanager
def _reported() -> Iterator[None]:
    """A semdag error (a bad profile, a module that does not import) as a one-line failure."""
    from semdag.core.errors import SemdagError

    try:
        yield
    except SemdagError as error:
        raise SemdagFailure(f"semdag: error: {error.location()}{error.message}") from None


_STATE = pytest.StashKey[_State]()


def _state(config: pytest.Config) -> _State:
    if _STATE not in config.stash:
        config.stash[_STATE] = _State(config)
    return config.stash[_STATE]


def finding_line(item: Finding) -> str:
    """``dtype-mismatch function.loc.v1: <message> (modules/core/metrics.py:31)``."""
    where = f"{item.file}:{item.line}" if item.file and item.line else item.file
    return f"{item.rule} {item.subject}: {item.message}" + (f" ({where})" if where else "")


def failure_text(verification: Verification, failing: Sequence[Finding]) -> str:
    """The failing findings, one line each, under a heading naming the profile."""
    lines = [f"semdag verify {verification.title}: {len(failing)} failing finding(s)"]
    return "\n".join([*lines, *(finding_line(f) for f in failing)])


@pytest.fixture
def semdag_registry(pytestconfig: pytest.Config) -> Callable[..., dict[str, Any]]:
    """``semdag_registry(profile=None, format="json")``: the profile's semantic registry as
    plain data, or exported to ``odcs``, ``openlineage`` or ``jsonschema``."""
    state = _state(pytestconfig)

    def registry(profile: str | None = None, format: str = "json") -> dict[str, Any]:
        try:
            return state.registry(profile, format)
        except SemdagFailure as failure:
            pytest.fail(str(failure), pytrace=False)

    return registry


@pytest.fixture
def semdag_check(pytestconfig: pytest.Config) -> Callable[..., Any]:
    """``semdag_check(profile=None, *, fail_on="breaking")``: compare the profile's build with
    its committed baselines (``semdag snapshot check``); fail with the failing findings."""
    state = _state(pytestconfig)

    def compare(profile: str | None = None, *, fail_on: str = "breaking") -> Any:
        from semdag.core.rules import FAIL_ON

        if fail_on not in FAIL_ON:
            raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON)}, got {fail_on!r}")
        try:
            comparison = state.check(profile)
        except SemdagFailure as failure:
            pytest.fail(str(failure), pytrace=False)
        failing = [f for f in comparison.findings if f.fails(FAIL_ON[fail_on])]
        if failing:
            lines = [
                f"semdag snapshot check {comparison.profile}: {len(failing)} failing finding(s)",
                *(finding_line(f) for f in failing),
                f"accept the changes with `semdag snapshot update -p {comparison.profile}` "
                "and commit the baselines",
            ]
            pytest.fail("\n".join(lines), pytrace=False)
        return comparison

    return compare


@pytest.fixture
def semdag_verify(pytestconfig: pytest.Config) -> Callable[..., Verification]:
    """``semdag_verify(profile=None, *, outputs=(), inputs=None, overrides=None, sample=None,
    fail_on="breaking")``: verify the profile's runtime contracts; fail with the findings."""
    state = _state(pytestconfig)

    def check(
        profile: str | None = None,
        *,
        outputs: Sequence[str] = (),
        inputs: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
        sample: int | None = None,
        fail_on: str = "breaking",
    ) -> Verification:
        from semdag.app.verify import Request
        from semdag.core.rules import FAIL_ON

        if fail_on not in FAIL_ON:
            raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON)}, got {fail_on!r}")
        try:
            with _reported():
                request = Request(
                    outputs=tuple(outputs),
                    inputs=dict(inputs or {}),
                    overrides=dict(overrides or {}),
                    sample=sample,
                )
            verification = state.verify(profile, request)
        except SemdagFailure as failure:
            pytest.fail(str(failure), pytrace=False)
        failing = [f for f in verification.findings if f.fails(FAIL_ON[fail_on])]
        if failing:
            pytest.fail(failure_text(verification, failing), pytrace=False)
        return verification

    return check


# --- one test per semantic id ------------------------------------------------------------------


class ContractItem(pytest.Item):
    """The runtime contract of one registry entry."""

    def __init__(self, *, profile: str | None, semantic_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.profile = profile
        self.semantic_id = semantic_id

    def runtest(self) -> None:
        from semdag.app.verify import Request
        from semdag.core.rules import FAIL_ON

        verification = _state(self.config).verify(self.profile, Request())
        threshold = FAIL_ON["breaking"]
        mine = [f for f in verification.findings if f.subject == self.semantic_id]
        failing = [f for f in mine if f.fails(threshold)]
        if failing:
            raise SemdagFailure(failure_text(verification, failing))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SemdagFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


class ContractFile(pytest.File):
    """A profile's file: one :class:`ContractItem` per semantic id of its registry."""

    def __init__(self, *, profile: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.profile = profile

    def collect(self) -> Iterator[pytest.Item]:
        _, ids = _state(self.config).semantic_ids(self.profile)
        for sid in ids:
            yield ContractItem.from_parent(
                self, name=f"semdag_contract[{sid}]", profile=self.profile, semantic_id=sid
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SemdagFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # tryfirst: the items exist before -k, -m and --deselect choose among them.
    if not config.getoption("semdag_contracts"):
        return
    state = _state(config)
    for profile in config.getoption("semdag_profile") or [None]:
        try:
            project = state.project()
        except Exception as error:
            raise pytest.UsageError(f"--semdag-contracts: {error}") from None
        path = project.profile_path(profile or project.default_profile)
        # genitems reports the file like any collected file: counted, or a collection error.
        items.extend(
            session.genitems(ContractFile.from_parent(session, path=path, profile=profile))
        )
