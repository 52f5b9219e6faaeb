"""The state directory's seq reservation: what a restarted node resumes above."""

from pathlib import Path

from ifmesh.node.runtime.statedir import SEQ_FILE, SeqReservation, reserved_seq_of


def test_nothing_recorded_reads_as_zero(tmp_path: Path) -> None:
    assert reserved_seq_of(tmp_path) == (0, 0)


def test_the_last_record_survives_the_process(tmp_path: Path) -> None:
    sent = SeqReservation(tmp_path)
    for seq in range(1, 12):
        sent.record(seq, seq * 3)
    # No close: a node killed with -9 leaves the file as the last pwrite made it.
    assert reserved_seq_of(tmp_path) == (11, 33)
    sent.close()


def test_a_shorter_number_overwrites_a_longer_one_cleanly(tmp_path: Path) -> None:
    sent = SeqReservation(tmp_path)
    sent.record(123456789, 987654321)
    sent.record(7, 8)  # fixed width: no digits of the old record are left behind
    sent.close()
    assert reserved_seq_of(tmp_path) == (7, 8)


def test_opening_keeps_what_an_earlier_node_recorded(tmp_path: Path) -> None:
    (tmp_path / SEQ_FILE).write_text("41 97\n", encoding="utf-8")  # the earlier format
    sent = SeqReservation(tmp_path)
    sent.close()
    assert sent.at_open == (41, 97)
    assert reserved_seq_of(tmp_path) == (41, 97)
    assert len((tmp_path / SEQ_FILE).read_bytes()) == 2 * SeqReservation.WIDTH + 2
