"""Capturing SDP from real implementations: a network namespace to keep the traffic in,
headless Chromium driven over the Chrome DevTools Protocol, headless Firefox driven over
WebDriver BiDi (with a profile that fetches nothing), both on one driver base (``browser``:
the process, its stderr, JSON commands over a WebSocket), and a strace reader that shows
what the browser tried to reach. Used by ``scripts/capture_sdp.py`` and the interop tests;
the aiortc side is ``ifmesh.node.mesh.sdp_replay.CapturePeer``.
"""
