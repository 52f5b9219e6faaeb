"""Every ``<!-- procedure -->`` block in docs/, run as written against real components.

A procedure that uses a command the node runtime (issue 10) defines but the CLI does not
register yet is reported as pending (skipped, with the command named); it runs as soon as the
command is registered. Every other procedure runs in a fresh temp environment
(:mod:`tests.docs.procedures`), and a non-zero exit, a timeout or missing expected output fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.docs import commands, corpus
from tests.docs.corpus import STEP
from tests.docs.markdown import MarkdownError, read_document
from tests.docs.procedures import missing_output, run_procedure


def _collect() -> list[corpus.Procedure]:
    found: list[corpus.Procedure] = []
    for path in corpus.doc_paths():
        try:
            found.extend(corpus.procedures(read_document(path)))
        except MarkdownError:
            continue  # test_static reports it
    return found


PROCEDURES = _collect()


def pending_commands(procedure: corpus.Procedure) -> list[str]:
    real = commands.registered_paths()
    return sorted(
        {
            "ifmesh "
            + " ".join(command.path[:2] if command.path[:1] == ("governor",) else command.path[:1])
            for command in commands.find_commands(procedure.script)
            if commands.check(command, real).pending
        }
    )


@pytest.mark.integration
@pytest.mark.parametrize("procedure", PROCEDURES, ids=[p.id for p in PROCEDURES])
def test_procedure(procedure: corpus.Procedure, tmp_path: Path) -> None:
    pending = pending_commands(procedure)
    if pending:
        pytest.skip(f"pending: {', '.join(pending)} not in the CLI yet (issue 10)")
    for tool in procedure.tools:
        require_tool(tool)
    work = tmp_path / "work"
    work.mkdir()
    outcome = run_procedure(procedure.script, work, procedure.timeout)
    assert outcome.returncode == 0 and not outcome.timed_out, (
        f"{procedure.id} failed: {outcome.describe()}"
    )
    segments = outcome.stdout.split(STEP + "\n")
    assert len(segments) == len(procedure.steps), outcome.stdout
    for step, stdout in zip(procedure.steps, segments, strict=True):
        if step.output is None:
            continue
        missing = missing_output(step.output.text, stdout)
        assert missing is None, (
            f"{step.block.where}: expected output line {missing!r} (from {step.output.where}) "
            f"not found in:\n{stdout}"
        )
