"""What an unreachable remote says: git's own reason, then what the node does about it."""

from __future__ import annotations

import pytest

from ifmesh.node.gitsync.clone import git_cause
from ifmesh.node.gitsync.errors import RemoteUnreachable

# git 2.x's stderr, as `git fetch` writes it for each kind of unreachable remote.
NOT_A_REPOSITORY = """\
fatal: '/srv/coordination.git' does not appear to be a git repository
fatal: Could not read from remote repository.

Please make sure you have the correct access rights
and the repository exists.
"""
NO_SUCH_HOST = """\
ssh: Could not resolve hostname nohost.invalid: Name or service not known
fatal: Could not read from remote repository.

Please make sure you have the correct access rights
and the repository exists.
"""
REFUSED = (
    "warning: redirecting to http://127.0.0.1:1/x.git/\n"
    "fatal: unable to access 'http://127.0.0.1:1/x.git/': Failed to connect to 127.0.0.1 "
    "port 1 after 0 ms: Couldn't connect to server\n"
)


@pytest.mark.parametrize(
    ("stderr", "cause"),
    [
        (NOT_A_REPOSITORY, "fatal: '/srv/coordination.git' does not appear to be a git repository"),
        (NO_SUCH_HOST, "ssh: Could not resolve hostname nohost.invalid: Name or service not known"),
        (REFUSED, REFUSED.splitlines()[1]),
        ("error: src refspec x does not match any\nerror: failed to push some refs\n",
         "error: src refspec x does not match any"),
        ("hint: something\nsomething went wrong\n", "something went wrong"),
        ("", "git gave no reason"),
    ],
)  # fmt: skip
def test_the_cause_is_gits_first_reason_not_its_last_advice(stderr: str, cause: str) -> None:
    assert git_cause(stderr) == cause


def test_while_running_events_wait_for_the_remote() -> None:
    error = RemoteUnreachable("/srv/c.git", "push", "fatal: '/srv/c.git' does not appear…")
    assert str(error) == (
        "cannot push /srv/c.git: fatal: '/srv/c.git' does not appear…; events stay committed "
        "locally and are pushed when the remote is back (check the URL, network and credentials)"
    )


@pytest.mark.parametrize(
    ("remote", "advice"),
    [
        ("/srv/c.git", "a local path must be a git repository (`git init --bare /srv/c.git`, "
                       "then start one node with --create-branch)"),
        ("../c.git", "a local path must be a git repository (`git init --bare ../c.git`, "
                     "then start one node with --create-branch)"),
        ("file:///srv/c.git", "a local path must be a git repository (`git init --bare "
                              "/srv/c.git`, then start one node with --create-branch)"),
        ("git@example.org:team/c.git", None),
        ("https://example.org/team/c.git", None),
        ("ssh://example.org/c.git", None),
    ],
)  # fmt: skip
def test_at_start_the_node_stops_and_says_how_to_fix_the_url(
    remote: str, advice: str | None
) -> None:
    error = RemoteUnreachable(remote, "fetch", "fatal: …").at_start()
    assert error.code == "remote_unreachable"
    expected = advice or "the network and your git credentials for it"
    separator = ": " if advice else ", "
    assert str(error) == (
        f"cannot fetch {remote}: fatal: …; the node stops: it has no board to start from; "
        f"check the URL (--remote){separator}{expected}"
    )
    assert "pushed when the remote is back" not in str(error)
