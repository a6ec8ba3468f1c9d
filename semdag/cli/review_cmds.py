"""The review command: what a pull request changes in the contract, for its CI job."""

from pathlib import Path
from typing import Annotated

import typer

from semdag.app.session import Session
from semdag.cli.common import Outcome, console, fail_threshold, finish
from semdag.cli.options import BUILD_OPTIONS, FailOnOption, Formats, command, session_of
from semdag.core.errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError
from semdag.core.progress import phase

REVIEW_HELP = """Review the working tree against a base git revision, for a pull request.

Lists every contract change between the base and the branch, from the registry built at
each and from the branch's committed baselines: each semantic id added, removed or changed,
with its severity, rule, old and new values, file:line and the semantic ids downstream with
their owners, and whether it fails the gate, was accepted in the branch's baselines
(`snapshot update`) or is acknowledged. A Mermaid diagram shows the changed nodes, one hop
around them and the semantic nodes downstream, coloured by change.

The markdown fits a GitHub comment (65,536 characters) and Mermaid's default limits (50,000
characters, 500 links): a change too big for them is drawn as one box per module, or listed
by module. Its first line is the hidden marker `<!-- semdag-review -->`, by which a CI job
finds its earlier comment to update.

`--out DIR` also writes review.md, review.json, review.svg and review.html (the full
picture and the HTML viewer, which need Graphviz's `dot`). The exit code follows `--fail-on`
as `snapshot check`'s does: changes accepted in the branch's baselines do not fail.

Example: semdag review --base git:origin/main -o semdag-review > review.md

Example: semdag review -f json --fail-on warning
"""
REVIEW_FORMATS = Formats(("markdown", "json"))


@command("review", options=BUILD_OPTIONS, formats=REVIEW_FORMATS, help=REVIEW_HELP)
def review_cmd(
    ctx: typer.Context,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            metavar="REV",
            help="The git revision to compare with, REV or git:REV (default: the merge base "
            "of HEAD with origin/HEAD, origin/main, origin/master, main or master).",
        ),
    ] = None,
    fail_on: FailOnOption = "breaking",
    out: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--out",
            metavar="DIR",
            help="Also write review.md, review.json, review.svg and review.html here.",
        ),
    ] = None,
    link: Annotated[
        str | None,
        typer.Option(
            "--link",
            metavar="URL",
            help="Where the artifacts are kept (a CI run's page): linked from the markdown.",
        ),
    ] = None,
) -> None:
    """Review the working tree against a base git revision, for a pull request."""
    session = session_of(ctx)
    finish(session, lambda: _review(session, base, fail_on, out, link))


def _review(
    session: Session, base: str | None, fail_on: str, out: Path | None, link: str | None
) -> Outcome:
    from semdag.app.review import (
        HTML_FILE,
        JSON_FILE,
        MARKDOWN_FILE,
        SVG_FILE,
        pictures,
        require_dot,
        review_branch,
        write_artifacts,
    )
    from semdag.core.review import review_document
    from semdag.core.review_markdown import markdown
    from semdag.store.artifacts import canonical_json

    threshold = fail_threshold(fail_on)
    if base is not None:
        base = base[4:] if base.startswith("git:") else base
        if not base:
            raise UsageError("--base takes a git revision (for example origin/main)")
    if link is not None and not link.startswith(("https://", "http://")):
        raise UsageError(f"--link takes an http(s) URL, got {link!r}")
    if out is not None:
        require_dot()
    with phase(f"reviewing against {base or 'the default branch'}"):
        run = review_branch(session, base, fail_on, threshold)
    review = run.review
    text, fitted = markdown(review, link=link)
    document = review_document(review, len(text), fitted.form, fitted.edges)
    written = []
    if out is not None:
        files = {MARKDOWN_FILE: text, JSON_FILE: canonical_json(document)}
        with phase("drawing the full picture with Graphviz's dot"):
            drawn = pictures(session, run)
        if drawn is not None:
            files[SVG_FILE], files[HTML_FILE] = drawn
        written = write_artifacts(out, files)
    code = EXIT_CHECK_FAILED if review.failed else EXIT_OK
    errors = [
        {
            "code": c.finding.rule,
            "message": c.finding.message,
            "file": c.finding.file,
            "line": c.finding.line,
        }
        for c in review.changes
        if c.status == "failing"
    ]

    def render() -> None:
        console.write(text)
        counts = review.counts()
        console.err().print(
            f"review: {len(review.changes)} changes against {review.base} "
            f"({', '.join(f'{n} {s}' for s, n in counts.items() if n) or 'none'}); "
            f"diagram: {fitted.form}, {fitted.edges} links, {len(fitted.text)} characters; "
            f"markdown: {len(text)} characters",
            markup=False,
        )
        for path in written:
            console.err().print(f"wrote {path}", markup=False)

    return Outcome(data=document, render=render, exit_code=code, errors=errors)
