"""Every ``<!-- procedure -->`` block in docs/, run as written against real components.

A procedure that uses a command the node runtime (issue 10) defines but the CLI does not
register yet is reported as pending (skipped, with the command named); it runs as soon as the
command is registered. Every other procedure runs in a fresh temp environment
(:mod:`tests.docs.procedures`), and a non-zero exit, a timeout or missing expected output fails.

Procedures are independent (each has its own directory, ports, state and servers), so they
are started together, a few at a time, when the first test needs one; each test then checks
its own procedure's outcome. Most of a procedure's time is spent waiting for processes to start.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.conftest import require_tool
from tests.docs import commands, corpus
from tests.docs.corpus import STEP
from tests.docs.markdown import MarkdownError, read_document
from tests.docs.procedures import Outcome, missing_output, run_procedure

WORKERS = 3


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


def _selected(request: pytest.FixtureRequest) -> set[str]:
    """Ids of the procedures whose tests this run collected (``-k`` may select a few)."""
    found = set()
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and isinstance(callspec.params.get("procedure"), corpus.Procedure):
            found.add(callspec.params["procedure"].id)
    return found


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[Outcome]]]:
    selected = _selected(request)
    runnable = [
        p
        for p in PROCEDURES
        if p.id in selected
        and not pending_commands(p)
        and all(shutil.which(tool) for tool in p.tools)
    ]
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="procedure") as pool:
        futures: dict[str, Future[Outcome]] = {}
        for procedure in runnable:
            work = tmp_path_factory.mktemp("procedure") / "work"
            work.mkdir()
            futures[procedure.id] = pool.submit(
                run_procedure, procedure.script, work, procedure.timeout
            )
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.mark.integration
# The procedures run in a pool, so a test's wait includes others' run time: the bound that
# matters is each procedure's own timeout, enforced by the runner.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("procedure", PROCEDURES, ids=[p.id for p in PROCEDURES])
def test_procedure(procedure: corpus.Procedure, outcomes: dict[str, Future[Outcome]]) -> None:
    pending = pending_commands(procedure)
    if pending:
        pytest.skip(f"pending: {', '.join(pending)} not in the CLI yet (issue 10)")
    for tool in procedure.tools:
        require_tool(tool)
    # Queued behind up to WORKERS - 1 others, each bounded by its own timeout.
    outcome = outcomes[procedure.id].result(timeout=sum(p.timeout for p in PROCEDURES) + 60)
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
