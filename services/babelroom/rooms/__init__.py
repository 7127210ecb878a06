"""The room manager: rooms, participants, speaking-stream capacity, expiry and room notices."""
