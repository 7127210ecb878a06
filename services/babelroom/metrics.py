"""Every Prometheus metric the services export, defined once.

Names follow https://prometheus.io/docs/practices/naming/ (base units: seconds, bytes). Alerts in
``monitoring/`` and the Grafana dashboards refer to these names; a test checks that they exist.
The default ``process_*`` collectors (``process_cpu_seconds_total`` …) are exported too.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

# --- pipeline latency ---
STAGE_LATENCY = Histogram(
    "babelroom_stage_latency_seconds",
    "Time spent in one pipeline stage (queue waits are their own stages)",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
CAPTION_LATENCY = Histogram(
    "babelroom_caption_latency_seconds",
    "From the end of a segment's speech (ingest wall clock) to the caption leaving the gateway",
    ["kind"],
    buckets=LATENCY_BUCKETS,
)

# --- ingest ---
INGEST_AUDIO_SECONDS = Counter("babelroom_ingest_audio_seconds_total", "Audio received (s)")
INGEST_REJECTED = Counter(
    "babelroom_ingest_rejected_total", "Audio sockets or frames refused", ["reason"]
)
SEGMENTS = Counter("babelroom_segments_total", "VAD segments by outcome", ["outcome"])
WS_CONNECTIONS = Gauge("babelroom_ws_connections", "Open WebSockets", ["endpoint"])
WS_CLOSED = Counter("babelroom_ws_closed_total", "WebSockets closed", ["endpoint", "code"])
WS_ORIGIN_REFUSED = Counter(
    "babelroom_ws_origin_refused_total", "WebSockets refused for a foreign Origin (closed 4403)", ["endpoint"]
)
# Gateway hardening (issue 8): outages, socket caps, the room feeds, audio checks.
DEPENDENCY_UNAVAILABLE = Counter(
    "babelroom_dependency_unavailable_total",
    "Requests answered 503 or sockets closed 1013 because Redis or PostgreSQL was unreachable",
    ["dependency", "surface"],
)
WS_LIMITED = Counter(
    "babelroom_ws_limited_total", "Sockets refused by a socket cap (close 4429)", ["endpoint", "limit"]
)
ROOM_FEEDS = Gauge("babelroom_room_feeds", "Rooms this gateway reads captions and notices for (one task each)")
ROOM_FEED_RETRIES = Counter(
    "babelroom_room_feed_retries_total", "Room feed reads retried after a Redis error", ["error"]
)
CAPTION_HISTORY_LOST = Counter(
    "babelroom_caption_history_lost_total", "history_lost notices sent (the caption stream lost entries)",
    ["cause"],
)
INGEST_CHANNEL_CHECKS = Counter(
    "babelroom_ingest_channel_checks_total",
    "Stereo audio streams checked for mono data sent as stereo, by result", ["result"],
)

# --- bus ---
BUS_QUEUE_DEPTH = Gauge(
    "babelroom_bus_queue_depth", "Entries not yet delivered to a consumer group", ["stream"]
)
BUS_DROPPED = Counter("babelroom_bus_dropped_total", "Messages shed", ["stream", "kind", "reason"])
BUS_RECLAIMED = Counter(
    "babelroom_bus_reclaimed_total", "Pending entries taken over from a dead consumer", ["stream"]
)
BUS_POISON = Counter("babelroom_bus_poison_total", "Malformed entries acknowledged and skipped", ["stream"])
BUS_RECONNECTS = Counter(
    "babelroom_bus_reconnects_total",
    "Times a stage's consume loop resumed after losing Redis or its consumer group",
    ["stream"],
)
BUS_DEAD_LETTERS = Counter(
    "babelroom_bus_dead_letters_total",
    "Entries copied to <stream>:dead and acknowledged, by reason: malformed, max_deliveries, bad_entry",
    ["stream", "reason"],
)

# --- speech-to-text ---
STT_INFERENCE = Histogram(
    "babelroom_stt_inference_seconds", "One Whisper decode", ["kind"], buckets=LATENCY_BUCKETS
)
STT_AUDIO_SECONDS = Counter(
    "babelroom_stt_audio_seconds_total", "Audio decoded by Whisper (s)", ["kind"]
)
STT_AVG_LOGPROB = Histogram(
    "babelroom_stt_avg_logprob",
    "Average token log-probability of final hypotheses",
    buckets=(-3.0, -2.0, -1.5, -1.0, -0.75, -0.5, -0.3, -0.2, -0.1, 0.0),
)
STT_NO_SPEECH_PROB = Histogram(
    "babelroom_stt_no_speech_prob",
    "Whisper's no-speech probability of final hypotheses",
    buckets=(0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0),
)
STT_DROPPED = Counter(
    "babelroom_stt_hallucination_drops_total",
    "Hypotheses (partials and finals) dropped as non-speech",
    ["reason"],
)
STT_MODEL_INFO = Gauge("babelroom_stt_model_info", "Loaded STT model", ["model", "compute_type"])
STT_PROMPT_SKIPS = Counter(
    "babelroom_stt_prompt_skips_total",
    "Decodes whose prompted text skipped the audio's first words, replaced by the unprompted decode "
    "(stt/prompt_skip.py)",
)
STT_WINDOW_FALLBACKS = Counter(
    "babelroom_stt_window_fallbacks_total",
    "Finals whose decode looped (compression ratio above stt_compression_ratio_threshold) on "
    "stt_final_window_s, decoded again on Whisper's native 30 s window (stt/whisper.py)",
)
STT_LANGUAGE_MODEL = Gauge(
    "babelroom_stt_language_model", "The STT model serving each source language ('auto': language ID)",
    ["language", "model"],
)
STT_LANGUAGE_LOCKED = Counter(
    "babelroom_stt_language_locked_total", "Speakers of spoken_language=auto whose language got locked",
    ["language"],
)

# --- translation ---
MT_INFERENCE = Histogram(
    "babelroom_mt_inference_seconds", "One translation batch", ["backend"], buckets=LATENCY_BUCKETS
)
MT_SENTENCES = Counter("babelroom_mt_sentences_total", "Sentences translated", ["backend"])
MT_FALLBACK = Counter(
    "babelroom_mt_fallback_total", "Batches a backend failed, handed to the next", ["backend"]
)
MT_CACHE_HITS = Counter("babelroom_mt_cache_hits_total", "Translation cache hits")
MT_CACHE_MISSES = Counter("babelroom_mt_cache_misses_total", "Translation cache misses")
MT_CIRCUIT_OPEN = Gauge("babelroom_mt_circuit_open", "1 while a backend's breaker is open", ["backend"])

# --- text-to-speech (updated by babelroom.tts; gTTS's breaker reports in MT_CIRCUIT_OPEN{backend="gtts"}) ---
TTS_SYNTHESIS = Histogram(
    "babelroom_tts_synthesis_seconds", "Compute time of one synthesis (cache misses)", ["backend"],
    buckets=LATENCY_BUCKETS,
)
TTS_RTF = Histogram(
    "babelroom_tts_real_time_factor", "Synthesis compute seconds per second of audio", ["backend"],
    buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0),
)
TTS_AUDIO_SECONDS = Counter("babelroom_tts_audio_seconds_total", "Speech synthesised (s)", ["backend"])
TTS_FALLBACK = Counter(
    "babelroom_tts_fallback_total", "Syntheses a backend failed, handed to the next", ["backend"]
)
TTS_CACHE = Counter("babelroom_tts_cache_total", "Speech cache lookups", ["result"])
TTS_SKIPPED = Counter(
    "babelroom_tts_skipped_total", "Finals wanted as audio but not spoken", ["reason"]
)
TTS_FIRST_AUDIO = Histogram(
    "babelroom_tts_first_audio_seconds",
    "From a final's translation (mt_end) to its first speech chunk published on tts:{room}", ["backend"],
    buckets=LATENCY_BUCKETS,
)

# --- media service: RTP audio tap (updated by babelroom.media) ---
MEDIA_PACKETS = Counter(
    "babelroom_media_rtp_packets_total",
    "RTP datagrams received, by outcome: accepted, duplicate, late, unknown_ssrc, malformed, "
    "rtcp, overflow",
    ["outcome"],
)
MEDIA_REORDERED = Counter(
    "babelroom_media_rtp_reordered_total", "Packets that arrived after a later one (still used)"
)
MEDIA_LOST = Counter(
    "babelroom_media_rtp_lost_total",
    "Packets never received, by concealment: fec (rebuilt from the next packet's in-band FEC, "
    "libopus falling back to PLC if it has none) or plc",
    ["concealment"],
)
MEDIA_DECODE_ERRORS = Counter(
    "babelroom_media_opus_decode_errors_total", "Opus packets libopus refused (concealed instead)"
)
MEDIA_JITTER_DELAY = Histogram(
    "babelroom_media_jitter_delay_seconds",
    "Time a packet waited in the jitter buffer",
    buckets=(0.0005, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.2),
)
MEDIA_SILENCE_INSERTED = Counter(
    "babelroom_media_silence_inserted_seconds_total",
    "Silence inserted where RTP timestamps jump (DTX, paused sender) (s)",
)
MEDIA_STREAMS = Gauge("babelroom_media_streams", "RTP audio streams being decoded")

# --- delivery ---
CAPTIONS_DELIVERED = Counter(
    "babelroom_captions_delivered_total", "Caption messages sent to listeners", ["kind"]
)
SPEECH_DELIVERED = Counter(
    "babelroom_speech_delivered_total", "Spoken translations sent to audio listeners", ["tts_backend"]
)
SPEECH_DROPPED = Counter(
    "babelroom_speech_dropped_total",
    "Spoken translations not sent to an audio listener (stale: older than ws_speech_max_age_s after its final)",
    ["reason"],
)
SPEECH_LATENCY = Histogram(
    "babelroom_speech_latency_seconds",
    "From the end of a segment's speech (ingest wall clock) to its spoken translation leaving the gateway",
    buckets=LATENCY_BUCKETS,
)


def render_latest() -> tuple[bytes, str]:
    """The text exposition of the default registry, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST


# ---------------------------------------------------------------------------------------------------
# Added for the deployment issue (stack, alerts, dashboards, autoscaler). Each says who updates it.
# ---------------------------------------------------------------------------------------------------

# --- gateway HTTP (updated by the gateway's request middleware; WebSocket routes are not observed) ---
HTTP_REQUEST_LATENCY = Histogram(
    "babelroom_http_request_duration_seconds",
    "HTTP request handling time, by route template (not raw path), method and status code",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)

# --- capacity (updated by the gateway's room manager from its Redis state) ---
ROOMS_ACTIVE = Gauge("babelroom_rooms_active", "Rooms open right now (whole deployment)")
CAPACITY_SLOTS = Gauge(
    "babelroom_capacity_slots",
    "Configured concurrent speaking streams of one STT or MT worker instance",
    ["pool", "worker"],
)
CAPACITY_SLOTS_USED = Gauge(
    "babelroom_capacity_slots_used",
    "Speaking streams currently admitted on one STT or MT worker instance",
    ["pool", "worker"],
)

CAPACITY_UTILISATION = Gauge(
    "babelroom_capacity_utilisation_ratio",
    "Admitted speaking streams over configured slots of one STT or MT worker instance (0..1)",
    ["pool", "worker"],
)
CAPACITY_DRAINING = Gauge(
    "babelroom_capacity_draining",
    "1 while an admin drains the instance (no new streams are placed on it)",
    ["pool", "worker"],
)
CAPACITY_REFUSED = Counter(
    "babelroom_capacity_refused_total", "Room creations or joins answered 503 (no slot left)", ["pool"]
)

# --- accounts, tiers and transcripts (issue 3; updated by the gateway and the jobs worker) ---
TIER_LIMIT_HITS = Counter(
    "babelroom_tier_limit_hits_total", "Requests refused by a tier limit (403 or 429)", ["limit"]
)
RATE_LIMITED = Counter(
    "babelroom_rate_limited_total", "Requests answered 429 by a sliding window", ["scope"]
)
ROOM_EVENTS = Counter(
    "babelroom_room_events_total", "Room lifecycle events (created, warned, closed_*, participant_*)", ["event"]
)
TRANSCRIPT_SEGMENTS_PERSISTED = Counter(
    "babelroom_transcript_segments_persisted_total",
    "Finals written to transcript_segments by the persist consumer (replays excluded)",
)
RETENTION_DELETED = Counter(
    "babelroom_retention_deleted_total",
    "Transcript segments deleted by the retention task, by the room owner's tier",
    ["tier"],
)
DIARIZATION_JOBS = Counter(
    "babelroom_diarization_jobs_total",
    "Diarization windows by outcome (labelled, no_speech, empty, failed)",
    ["outcome"],
)
DIARIZATION_SECONDS = Histogram(
    "babelroom_diarization_seconds",
    "Wall time of one diarization window (engine only)",
    buckets=(0.5, 1, 2, 4, 8, 16, 32, 64),
)

XTTS_QUEUED = Counter(
    "babelroom_xtts_queued_total",
    "Finals offered for the cloned voice by the TTS worker, by result (queued, no_clone, lookup_failed, "
    "queue_failed)",
    ["result"],
)
XTTS_JOBS = Counter(
    "babelroom_xtts_jobs_total",
    "Cloned-voice jobs by outcome (spoken, stale, no_sample, no_language, failed)",
    ["outcome"],
)
XTTS_SYNTHESIS = Histogram(
    "babelroom_xtts_synthesis_seconds", "Compute time of one cloned-voice synthesis (XTTS)",
    buckets=(0.25, 0.5, 1, 2, 4, 8, 16, 32),
)
XTTS_LATENTS = Counter(
    "babelroom_xtts_latents_total", "Speaker latents of a voice sample: cached (hit) or computed (miss)", ["result"]
)

# --- dependencies (updated by each service's /readyz probe: 1 reached, 0 not) ---
DEPENDENCY_UP = Gauge(
    "babelroom_dependency_up",
    "1 when this process last reached the dependency (redis, postgres …), else 0",
    ["dependency"],
)

# --- autoscaler (updated by babelroom.autoscaler itself) ---
AUTOSCALER_REPLICAS = Gauge(
    "babelroom_autoscaler_replicas", "Replicas of a scaled service as last seen", ["service"]
)
AUTOSCALER_DECISIONS = Counter(
    "babelroom_autoscaler_decisions_total",
    "Scaling decisions carried out",
    ["service", "direction"],
)
AUTOSCALER_ERRORS = Counter(
    "babelroom_autoscaler_errors_total", "Failed Prometheus queries or Docker calls", ["kind"]
)


# --- container resources: read at scrape time, nothing needs to update them ---
class ResourceCollector:
    """The limits this container runs under and the free space of its filesystems.

    ``process_cpu_seconds_total`` and ``process_resident_memory_bytes`` say how much a process uses;
    these say out of how much, so that alerts can be written as ratios without a node exporter:

    - ``babelroom_cpu_limit_cores``: the cgroup CPU quota (Swarm ``limits.cpus``), else the CPUs usable.
    - ``babelroom_memory_limit_bytes``: the cgroup memory limit, else the machine's RAM.
    - ``babelroom_filesystem_size_bytes`` / ``babelroom_filesystem_avail_bytes`` ``{path}``: ``/`` (in a
      container: the node's Docker data disk, where the volumes live too) and the models and state
      directories named by ``BABELROOM_MODELS_DIR`` / ``BABELROOM_STATE_DIR`` when they exist.
    """

    def __init__(self, root: str = "/sys/fs/cgroup") -> None:
        self.root = root

    def _read(self, *parts: str) -> str | None:
        try:
            with open(os.path.join(self.root, *parts)) as f:
                return f.read().strip()
        except OSError:
            return None

    def cpu_limit_cores(self) -> float:
        """cgroup v2 ``cpu.max``, then v1 ``cfs_quota/cfs_period``, then the CPUs this process may use."""
        v2 = self._read("cpu.max")
        if v2:
            quota, _, period = v2.partition(" ")
            if quota != "max" and period:
                return int(quota) / int(period)
        quota_v1, period_v1 = self._read("cpu", "cpu.cfs_quota_us"), self._read("cpu", "cpu.cfs_period_us")
        if quota_v1 and period_v1 and int(quota_v1) > 0:
            return int(quota_v1) / int(period_v1)
        try:
            return float(len(os.sched_getaffinity(0)))
        except AttributeError:  # not Linux
            return float(os.cpu_count() or 1)

    def memory_limit_bytes(self) -> float:
        """cgroup v2 ``memory.max``, then v1 ``memory.limit_in_bytes``, then physical RAM."""
        ram = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        for parts in (("memory.max",), ("memory", "memory.limit_in_bytes")):
            raw = self._read(*parts)
            if raw and raw != "max":
                return min(float(raw), ram)  # v1 reports an enormous number when unlimited
        return ram

    @staticmethod
    def paths() -> list[str]:
        out = ["/"]
        for env in ("BABELROOM_MODELS_DIR", "BABELROOM_STATE_DIR"):
            path = os.environ.get(env)
            if path and os.path.isdir(path) and os.path.abspath(path) not in out:
                out.append(os.path.abspath(path))
        return out

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "babelroom_cpu_limit_cores", "CPU quota of this container (cores)", value=self.cpu_limit_cores()
        )
        yield GaugeMetricFamily(
            "babelroom_memory_limit_bytes", "Memory limit of this container", value=self.memory_limit_bytes()
        )
        size = GaugeMetricFamily(
            "babelroom_filesystem_size_bytes", "Size of the filesystem holding path", labels=["path"]
        )
        avail = GaugeMetricFamily(
            "babelroom_filesystem_avail_bytes",
            "Space on the filesystem holding path that this (non-root) process may still use",
            labels=["path"],
        )
        for path in self.paths():
            try:
                st = os.statvfs(path)
            except OSError:
                continue
            size.add_metric([path], float(st.f_blocks * st.f_frsize))
            avail.add_metric([path], float(st.f_bavail * st.f_frsize))
        yield size
        yield avail

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("babelroom_cpu_limit_cores", "")
        yield GaugeMetricFamily("babelroom_memory_limit_bytes", "")
        yield GaugeMetricFamily("babelroom_filesystem_size_bytes", "", labels=["path"])
        yield GaugeMetricFamily("babelroom_filesystem_avail_bytes", "", labels=["path"])


def _register_resource_collector() -> None:
    with contextlib.suppress(ValueError):  # already registered (module reloaded)
        REGISTRY.register(ResourceCollector())


_register_resource_collector()

# --- voice samples (updated by babelroom.api.voice_samples) ---
VOICE_SAMPLES = Counter(
    "babelroom_voice_samples_total",
    "Voice-sample uploads by outcome: accepted, or the refusal (not_audio, too_large, too_short, too_long, "
    "clipped, too_quiet, too_little_speech, several_speakers, tier_limit)", ["outcome"],
)
VOICE_SAMPLE_CHECKS = Counter(
    "babelroom_voice_sample_checks_total",
    "One-speaker checks of voice samples by outcome: queued, not_queued (gateway); passed, failed (also counted "
    "as babelroom_voice_samples_total{outcome=\"several_speakers\"}), gone, done_already, error (jobs worker)",
    ["outcome"],
)

DOCUMENTS = Counter(
    "babelroom_documents_total",
    "Room document uploads by outcome: accepted, or the refusal (tier_limit, not_owner, not_found, room_closed, "
    "too_large, unsupported_type, corrupt, encrypted, undecodable, empty, bad_name, too_many)", ["outcome"],
)
CONTEXT_FAILURES = Counter(
    "babelroom_context_failures_total",
    "STT: a room's recent final not recorded or its re-ordering job not queued (the decode went on without it)",
)
CONTEXT_JOBS = Counter(
    "babelroom_context_jobs_total",
    "Document-context jobs by job (index, order) and outcome: index: queued, not_queued (gateway), indexed, "
    "gone, failed; order: ordered, no_finals, failed, expired (jobs worker)", ["job", "outcome"],
)

JOBS_REQUEUED = Counter(
    "babelroom_jobs_requeued_total",
    "Jobs queued again by beat for what is still pending (babelroom.jobs.requeue): index (documents), "
    "speaker_check (voice samples)", ["job"],
)
