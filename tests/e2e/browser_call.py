"""A call between real browsers, for the browser tests (test_browser*.py): Debian's Chromium driven by
Playwright, the web app, Janus, captions.

Network layout (WebRTC media never leaves the two namespaces the test makes, tests/sfu/netns.py):

- ``server`` namespace: Janus (ICE only on its veth end, HTTP API on 10.77.0.1:8088) and the media
  service's RTP socket (127.0.0.1 there; the service itself runs in this process);
- ``client`` namespace: the Chromiums (launched through ``ip netns exec``), which reach the web app
  at ``http://127.0.0.1:<port>`` (a relay listening inside the namespace to the gateway) and Janus at
  ``http://10.77.0.1:8088/janus`` over the veth pair;
- root namespace, loopback: PostgreSQL, Redis, the gateway (calls on), STT and MT (LocalStack).

A speaking browser plays a 48 kHz WAV through Chromium's fake capture (silence, the clip, silence);
:data:`INIT_SCRIPT` stamps when capture starts and when each final caption line appears, so a test
measures final latency as ``make bench`` defines it (final received minus end of the segment's speech).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jiwer
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "sfu"))

from netns import NetnsPair, TcpRelay, socket_in, unavailable  # noqa: E402
from tests.conftest import run_sql  # noqa: E402

from babelroom.config import Settings  # noqa: E402
from babelroom.dev.devstack import LocalStack  # noqa: E402
from babelroom.sfu.janus_config import render  # noqa: E402
from babelroom.sfu.janus_process import JanusProcess  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
CHROMIUM = "/usr/bin/chromium"
ADMIN_KEY = "browser-admin-key"
JANUS_PORT = 8088
LEAD_S, TAIL_S = 5.0, 40.0  # silence before the clip (the call connects), after it (no loop in the test)
CHROMIUM_FLAGS = [
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--headless", "--no-sandbox",
    "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
# Stamps when capture starts and when each caption line appears (page clock = this machine's clock).
INIT_SCRIPT = """
(() => {
  window.__captureStart = null;
  window.__finals = [];
  const md = navigator.mediaDevices;
  const original = md.getUserMedia.bind(md);
  md.getUserMedia = async (c) => {
    const stream = await original(c);
    if (window.__captureStart === null && c && c.audio) window.__captureStart = Date.now();
    return stream;
  };
  const seen = new Set();
  new MutationObserver(() => {
    for (const el of document.querySelectorAll('[data-testid="caption-line"][data-type="final"]')) {
      const key = el.dataset.segmentId + '|' + el.dataset.lang + '|' + el.textContent;
      if (seen.has(key)) continue;
      seen.add(key);
      window.__finals.push({t: Date.now(), lang: el.dataset.lang, original: el.dataset.original,
                            text: el.querySelector('.text')?.textContent, speaker: el.dataset.speaker,
                            segment: el.dataset.segmentId, original_lang: el.dataset.originalLang,
                            backend: el.dataset.backend});
    }
  }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
})();
"""


def reference(references: Path, clip: str, column: str = "reference") -> str:
    """The reference transcript of ``clip`` in a references.tsv with a header row (``file`` first)."""
    header, *rows = (r.split("\t") for r in references.read_text().splitlines())
    return {r[0]: r[header.index(column)] for r in rows}[clip]


def normalise(text: str) -> str:
    return jiwer.RemovePunctuation()(text.lower()).strip()


def write_wav48(path: Path, audio16k: np.ndarray) -> None:
    """A 48 kHz mono s16 WAV of 16 kHz float audio (Chromium's fake capture plays it as is)."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=48000, layout="mono")
        up = np.repeat(np.clip(audio16k, -1, 1), 3)  # plain 3x: speech stays intelligible
        frame = av.AudioFrame.from_ndarray((up * 32767).astype("<i2").reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def speech_end_ms(clip: np.ndarray) -> float:
    """End of the clip's last voiced 30 ms frame (energy 30 dB under the loudest frame), in ms."""
    frames = clip[: len(clip) // 480 * 480].reshape(-1, 480)
    energy = 10 * np.log10((frames**2).mean(axis=1) + 1e-12)
    voiced = np.nonzero(energy > energy.max() - 30)[0]
    return (voiced[-1] + 1) * 30.0


class InboundRelay:
    """Listens on 127.0.0.1 inside ``ns`` and relays each connection to ``127.0.0.1:port`` of the
    root namespace (the browsers' way to the gateway)."""

    def __init__(self, ns: str, port: int) -> None:
        self.target = ("127.0.0.1", port)
        self._listener = socket_in(ns, kind=socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                conn.close()
                continue
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=TcpRelay._pump, args=(a, b), daemon=True).start()

    def close(self) -> None:
        self._listener.close()


class MediaInThread:
    """The media service in this process on its own event loop; its RTP socket is ``sock``."""

    def __init__(self, redis_url: str, sock: socket.socket) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.service = None

        async def start() -> None:
            import redis.asyncio as aioredis

            from babelroom.media.service import MediaService

            self.redis = aioredis.from_url(redis_url)
            self.service = MediaService(Settings(redis_url=redis_url, media_idle_flush_ms=800), self.redis)
            await self.service.start(sock=sock)

        asyncio.run_coroutine_threadsafe(start(), self.loop).result(30)

    def stop(self) -> None:
        async def stop() -> None:
            await self.service.stop()
            await self.redis.aclose()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)


def set_tier(database_url: str, display_name: str, tier: str) -> None:
    """Put the user called ``display_name`` on ``tier`` (as an admin would), from Playwright's thread."""
    with ThreadPoolExecutor(1) as pool:  # run_sql runs its own event loop; Playwright's is this thread's
        pool.submit(run_sql, database_url, "UPDATE users SET tier_name = :tier WHERE display_name = :name",
                    params={"tier": tier, "name": display_name}).result()


def ensure_web_app() -> None:
    """Skip the test when Chromium or Playwright is missing; build frontend/dist when it is not built."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (`make test` installs it: APT_PACKAGES)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package (services[dev]) is missing")
    if not (FRONTEND / "dist" / "index.html").exists():
        if shutil.which("npm") is None:
            pytest.skip("frontend/dist is not built and npm is missing")
        if not (FRONTEND / "node_modules").exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True, timeout=600)
        subprocess.run(["npm", "run", "build"], cwd=FRONTEND, check=True, timeout=600)


@contextlib.contextmanager
def call_stack(work: Path, env: dict[str, str] | None = None, tts: bool = False,
               jobs_queues: str = "") -> Iterator[dict]:
    """Janus in a server namespace, the local stack (with ``env`` added to its environment; with
    ``tts``, the ``babelroom tts`` worker too; with ``jobs_queues``, a Celery worker of those queues)
    and the relays; yields ``pair``, ``stack``, ``janus``,
    ``work`` and ``url`` (the web app as the browsers reach it). Skips the test when namespaces,
    Chromium, Playwright or the built web app are missing."""
    reason = unavailable()
    if reason:
        pytest.skip(f"network namespaces unavailable: {reason}")
    ensure_web_app()
    pair = NetnsPair.create()
    janus = media = relay_in = relay_janus = None
    try:
        config = render(work / "janus", http_port=JANUS_PORT, ws_port=None, admin_key=ADMIN_KEY,
                        ice_enforce_list=pair.server_if)
        janus = JanusProcess(config, work / "janus.log", prefix=pair.exec_prefix(pair.server)).start()
        relay_janus = TcpRelay(pair.server, "127.0.0.1", JANUS_PORT)  # the gateway's way to Janus
        rtp_socket = socket_in(pair.server)
        rtp_socket.bind(("127.0.0.1", 0))
        stack_env = {
            "BABELROOM_LOG_LEVEL": "INFO",
            "BABELROOM_FRONTEND_DIR": str(FRONTEND / "dist"),
            "BABELROOM_JANUS_ENABLED": "true",
            "BABELROOM_JANUS_URL": f"http://127.0.0.1:{relay_janus.port}/janus",
            "BABELROOM_JANUS_PUBLIC_URL": f"http://{pair.server_ip}:{JANUS_PORT}/janus",
            "BABELROOM_JANUS_ADMIN_KEY": ADMIN_KEY,
            "BABELROOM_JANUS_SYNC_INTERVAL_S": "0.5",
            "BABELROOM_MEDIA_ADVERTISE_HOST": "127.0.0.1",
            "BABELROOM_MEDIA_RTP_PORT": str(rtp_socket.getsockname()[1]),
            **(env or {}),
        }
        with LocalStack(state_dir=work / "stack", env=stack_env, tts=tts, jobs_queues=jobs_queues) as stack:
            media = MediaInThread(stack.redis_url, rtp_socket)
            relay_in = InboundRelay(pair.client, int(stack.gateway_url.rsplit(":", 1)[1]))
            yield {"pair": pair, "stack": stack, "janus": janus, "work": work,
                   "url": f"http://127.0.0.1:{relay_in.port}/"}
    finally:
        for closer in (relay_in, relay_janus):
            if closer is not None:
                closer.close()
        if media is not None:
            media.stop()
        if janus is not None:
            janus.stop()
        pair.delete()


def chromium_in(ns: str, work: Path) -> Path:
    """A wrapper that starts Chromium inside ``ns`` (Playwright's pipe fds pass through)."""
    wrapper = work / f"chromium-{ns}"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {ns} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def sign_up(page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_test_id("auth-mode-signup").click()
    page.get_by_test_id("signup-display-name").fill(name)
    page.get_by_test_id("signup-email").fill(f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.test")
    page.get_by_test_id("signup-password").fill("password-123456")
    page.get_by_test_id("signup-submit").click()
    page.get_by_test_id("lobby").wait_for(timeout=30_000)


def speaking_wav(work: Path, clip: np.ndarray, name: str = "speech48k.wav", lead_s: float = LEAD_S,
                 tail_s: float = TAIL_S) -> tuple[Path, float]:
    """The WAV a speaking browser captures (``lead_s`` of silence, ``clip``, ``tail_s`` of silence) and the
    end of its speech in the file (ms)."""
    path = work / name
    write_wav48(path, np.concatenate([np.zeros(int(lead_s * 16000), np.float32), clip,
                                      np.zeros(int(tail_s * 16000), np.float32)]))
    return path, lead_s * 1000 + speech_end_ms(clip)


def silent_wav(work: Path) -> Path:
    path = work / "silence48k.wav"
    write_wav48(path, np.zeros(16000 * 5, np.float32))
    return path


def launch(pw, work: Path, wrapper: Path, name: str, wav: Path):
    """A headless Chromium (through ``wrapper``) capturing ``wav`` as its microphone; (context, page)."""
    context = pw.chromium.launch_persistent_context(
        str(work / f"profile-{name}"), executable_path=str(wrapper), headless=True,
        args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={wav}"],
        viewport={"width": 1280, "height": 800}, chromium_sandbox=False)
    context.add_init_script(INIT_SCRIPT)
    return context, context.pages[0] if context.pages else context.new_page()


def wait_for_finals(page, lang: str, speech_end_ms: float, capture_start: float, timeout_s: float = 120) -> None:
    """Wait until ``page`` has finals in ``lang``, the speech is over by 5 s and 8 s pass without a new one."""
    deadline = time.time() + timeout_s
    last_count, last_change = 0, time.time()
    while time.time() < deadline:
        finals = [f for f in page.evaluate("window.__finals") if f["lang"] == lang]
        if len(finals) != last_count:
            last_count, last_change = len(finals), time.time()
        if finals and time.time() * 1000 > capture_start + speech_end_ms + 5000 and time.time() - last_change > 8:
            return
        time.sleep(0.5)


def page_finals(page) -> list[dict]:
    """The page's finals, one per (segment, language) (a re-render may stamp a line twice)."""
    seen, out = set(), []
    for f in page.evaluate("window.__finals"):
        key = (f["segment"], f["lang"])
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def create_room(page, name: str) -> str:
    """Create a room named ``name`` from the signed-in lobby, wait until joined; its id."""
    page.get_by_test_id("create-room-name").fill(name)
    page.get_by_test_id("create-room-submit").click()
    page.locator('[data-testid="room-page"][data-state="joined"]').wait_for(timeout=30_000)
    return page.get_by_test_id("room-page").get_attribute("data-room-id")


def join_room(page, room_id: str) -> None:
    """Join ``room_id`` from the signed-in lobby and wait until joined."""
    page.get_by_test_id("join-room-id").fill(room_id)
    page.get_by_test_id("join-room-id-submit").click()
    page.locator('[data-testid="room-page"][data-state="joined"]').wait_for(timeout=30_000)
