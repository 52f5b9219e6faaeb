"""ifmesh signaling server: the WebSocket rendezvous nodes use to find each other."""
