"""The SFU side: Janus's configuration, its HTTP API client and the room synchronisation."""
