"""Capturing SDP from real implementations: a network namespace to keep the traffic in, and
headless Chromium driven over the Chrome DevTools Protocol. Used by ``scripts/capture_sdp.py``
and the interop tests; the aiortc side is ``node.mesh.sdp_replay.CapturePeer``.
"""
