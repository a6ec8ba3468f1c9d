"""The command that runs the semantic outputs and checks them against the registry: verify."""

from typing import Annotated

import typer

from semdag.app.session import Session
from semdag.cli.common import Outcome, fail_threshold, finish, parse_pairs
from semdag.cli.gate_cmds import REPORT_FORMATS, AllProfiles, findings_outcome, profiles_of
from semdag.cli.options import PROFILE_OPTIONS, FailOnOption, InputOption, command, session_of
from semdag.cli.run_cmds import CacheOpt, ExecutorOpt, OverrideOpt, ProgressOpt, progress_sink

VERIFY_HELP = """Run the semantic outputs and check each value against its registry entry.

Runs the profile's registry nodes (or those named by --output, as node names or semantic ids)
exactly as `execute` does (inputs, overrides, executor, cache, Dask), then checks each value:
dtype-mismatch (the element type does not fit the `dtype` tag; a DataFrame's columns per its
`columns` tag), keys-missing, keys-not-unique and keys-null (`entity_keys` / `join_keys`), and
output-type-mismatch (the node's declared Python type). A dtype verify does not know is
reported as dtype-unchecked (info). Findings have the severities of `semdag rules`, the
profile's `rules:` table applies, and snapshots/acknowledged.yaml can acknowledge them. Exit 1
on a finding at or above --fail-on (or a node that raised), 2 when a profile cannot run.
Example: semdag verify --all --sample 1000

Example: semdag verify --output function.loc.v1 -f json
"""


@command(
    "verify",
    options=PROFILE_OPTIONS,
    formats=REPORT_FORMATS,
    runs_nodes=True,
    help=VERIFY_HELP,
)
def verify_cmd(
    ctx: typer.Context,
    output: Annotated[
        list[str] | None,
        typer.Option(
            "--output",
            metavar="NODE",
            help="A semantic output to verify, by node name or semantic id (default: every "
            "registry entry). Repeatable.",
        ),
    ] = None,
    every: AllProfiles = False,
    inputs: InputOption = None,
    overrides: OverrideOpt = None,
    executor: ExecutorOpt = None,
    cache: CacheOpt = None,
    progress: ProgressOpt = None,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            metavar="N",
            help="Read at most N rows of each table for the key and value checks (a seeded "
            "random sample; column dtypes still answer for every row).",
        ),
    ] = None,
    fail_on: FailOnOption = "breaking",
) -> None:
    """Run the semantic outputs and check each value against its registry entry."""
    session = session_of(ctx)
    finish(
        session,
        lambda: _verify(
            session, output, every, inputs, overrides, executor, cache, progress, sample, fail_on
        ),
    )


def _verify(
    session: Session,
    output: list[str] | None,
    every: bool,
    inputs: list[str] | None,
    overrides: list[str] | None,
    executor: str | None,
    cache: bool | None,
    progress: bool | None,
    sample: int | None,
    fail_on: str,
) -> Outcome:
    from semdag.app.verify import Request, verify
    from semdag.core.errors import SemdagError

    threshold = fail_threshold(fail_on)
    request = Request(
        outputs=tuple(output or ()),
        inputs=parse_pairs(inputs, "--input"),
        overrides=parse_pairs(overrides, "--override"),
        executor=executor,
        cache=cache,
        sample=sample,
    )
    done, errors = [], []
    for name in profiles_of(session, every):
        try:
            done.append(verify(session, name, request, progress=progress_sink(progress)))
        except SemdagError as error:
            if not every:
                raise
            errors.append(error)
    return findings_outcome(
        session,
        done,
        errors,
        threshold,
        key="verifications",
        titles=[v.title for v in done],
        cases=[[o.semantic_id for o in v.outputs] for v in done],
        errors_exit=None,
    )
