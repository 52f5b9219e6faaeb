"""The WebRTC data-channel mesh: the only package that imports aiortc."""
