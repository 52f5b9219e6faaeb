"""The IFMessage protocol: the envelope and typed payloads, their canonical encoding, fast
decoding of what peers send, validation of files of messages, and the shipped fixtures.

Everything else in the node speaks in these types; this package imports nothing else of it but
:mod:`ifmesh.node.errors`.
"""
