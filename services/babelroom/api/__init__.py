"""The HTTP API of the gateway: auth, account and tiers, rooms, transcripts, admin."""
