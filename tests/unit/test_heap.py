"""A node's process runs aiortc without PyAV (node.runtime.heap.leave_out_media): ffmpeg's
libraries are never mapped, aiortc imports, and media, if anything asked for it, fails with a
clear error. Each case runs in a fresh interpreter: the import system is process-wide."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_node_imports_aiortc_without_mapping_ffmpeg() -> None:
    result = _python("""
        from pathlib import Path
        from ifmesh.node.runtime.heap import MediaUnavailable, leave_out_media

        assert leave_out_media()
        import aiortc.codecs  # every codec module names PyAV's classes
        import ifmesh.node.runtime.node  # the whole node
        import av

        maps = Path("/proc/self/maps").read_text()
        assert "libavcodec" not in maps and "av.libs" not in maps, "ffmpeg is mapped"
        assert not isinstance(object(), av.frame.Frame)
        for use in (lambda: av.AudioFrame(format="s16"), lambda: av.CodecContext.create("h264")):
            try:
                use()
            except MediaUnavailable as exc:
                assert "without media" in str(exc)
            else:
                raise AssertionError("media worked without PyAV")
        try:
            raise MediaUnavailable("decoding")
        except av.FFmpegError:  # aiortc's decoder names it in an except: a class of exception
            raise AssertionError("FFmpegError stands for PyAV's errors only")
        except MediaUnavailable:
            pass
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_pyav_already_imported_is_left_alone() -> None:
    result = _python("""
        import av
        from ifmesh.node.runtime.heap import leave_out_media

        assert not leave_out_media()
        assert av.AudioFrame(format="s16", layout="mono", samples=4).samples == 4
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


BIG_BUFFER_PROBE = """
    import ctypes
    from ifmesh.node.runtime.heap import keep_big_buffers_off_heap

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost")]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    if FIXED:
        assert keep_big_buffers_off_heap()
    freed = bytearray(20 << 20)  # a big buffer freed: glibc would raise its threshold to it
    del freed
    mapped = libc.mallinfo2().hblkhd
    kept = bytearray(1 << 20)  # a board render's size
    print(libc.mallinfo2().hblkhd - mapped >= 1 << 20)
"""


def test_after_a_big_free_a_megabyte_buffer_is_still_mapped_apart_from_the_heap() -> None:
    """The scribe's renders: without the fixed threshold the next buffer lands in the heap
    (and leaves a hole there when freed); with it, it is mapped, and unmapped when freed."""
    fixed = _python("FIXED = True\n" + textwrap.dedent(BIG_BUFFER_PROBE))
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.strip() == "True"
    default = _python("FIXED = False\n" + textwrap.dedent(BIG_BUFFER_PROBE))
    assert default.stdout.strip() == "False", "glibc no longer raises its threshold: recheck"


HOLES_PROBE = """
    from pathlib import Path
    from ifmesh.node.runtime import heap

    def rss_kb() -> int:
        line = next(x for x in Path("/proc/self/status").read_text().splitlines()
                    if x.startswith("VmRSS:"))
        return int(line.split()[1])

    heap.keep_big_buffers_off_heap()
    # 60 MB of 2 KB bytes objects (glibc's heap, not Python's small-object arenas), 1 in 16 kept:
    # the rest freed leaves holes no later allocation fills, as a start-up read does.
    held = [bytes(2048) for _ in range(30_000)]
    kept = held[::16]
    del held
    before = rss_kb()
    given = heap.give_back_free_heap()
    print(given, before - rss_kb(), len(kept))
"""


def test_the_free_heap_between_held_blocks_is_given_back() -> None:
    result = _python(HOLES_PROBE)
    assert result.returncode == 0, result.stderr
    given, freed_kb, _ = result.stdout.split()
    assert given == "True"
    assert int(freed_kb) > 30_000, f"only {freed_kb} KB given back of about 56 MB free"
