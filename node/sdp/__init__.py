"""SDP as ifmesh reads it: a sans-IO parser with line numbers, the replay tool's own checks
(which aiortc does not make), the negotiation report, and the shipped fixtures.

Nothing here imports aiortc: ``ifmesh.node.mesh.sdp_replay`` drives the real peer connection and
hands this package the text and aiortc's answers.
"""
