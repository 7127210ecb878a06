"""A real Janus (Debian package) on the repository's configuration, for the SFU tests.

``janus`` runs on loopback with its HTTP API on a free port, the WebSocket transport off, ICE limited
to ``lo`` (no WebRTC media here), an ``api_secret`` and a VideoRoom ``admin_key``.

For WebRTC media (test_janus_media.py, test_janus_restart.py): ``netns``, two network namespaces
(see netns.py); ``janus_in_netns``, Janus in the server one; ``stack``, a LocalStack (Redis, gateway,
STT, MT) in the root namespace. All three are per test module.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "media"))  # bus_captions, rtp_source

from janus_secrets import ADMIN_KEY, API_SECRET  # noqa: E402
from netns import NetnsPair, TcpRelay, unavailable  # noqa: E402

from babelroom.dev.devstack import LocalStack, free_port  # noqa: E402
from babelroom.sfu.janus_client import JanusClient, VideoRoomAdmin  # noqa: E402
from babelroom.sfu.janus_config import render  # noqa: E402
from babelroom.sfu.janus_process import JanusProcess  # noqa: E402


@pytest.fixture(scope="session")
def janus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("janus") is None:
        pytest.fail("janus is not installed: `make test` installs it (Debian janus)")
    work = tmp_path_factory.mktemp("janus")
    port = free_port()
    config = render(work / "conf", http_port=port, http_ip="127.0.0.1", ws_port=None,
                    api_secret=API_SECRET, admin_key=ADMIN_KEY, ice_enforce_list="lo")
    with JanusProcess(config, work / "janus.log", extra_args=["-i", "127.0.0.1"]):
        yield f"http://127.0.0.1:{port}/janus"


@pytest.fixture
async def janus(janus_url: str) -> AsyncIterator[JanusClient]:
    async with JanusClient(janus_url, api_secret=API_SECRET) as client:
        yield client


@pytest.fixture
async def videoroom(janus: JanusClient) -> AsyncIterator[VideoRoomAdmin]:
    admin = VideoRoomAdmin(janus, admin_key=ADMIN_KEY)
    yield admin
    await admin.close()


JANUS_NS_PORT = 8088  # Janus's HTTP API inside the server namespace: nothing else listens there


@pytest.fixture(scope="module")
def netns() -> Iterator[NetnsPair]:
    reason = unavailable()
    if reason:
        pytest.skip(f"network namespaces unavailable: {reason}")
    pair = NetnsPair.create()
    try:
        yield pair
    finally:
        pair.delete()


@pytest.fixture(scope="module")
def janus_in_netns(netns: NetnsPair, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[tuple[JanusProcess, str, str]]:
    """Janus in the server namespace, ICE on its veth end: (process, API URL from here through a
    TCP relay, API URL from the client namespace)."""
    work = tmp_path_factory.mktemp("janus-ns")
    config = render(work / "conf", http_port=JANUS_NS_PORT, ws_port=None, api_secret=API_SECRET,
                    admin_key=ADMIN_KEY, ice_enforce_list=netns.server_if, full_trickle=False)
    with JanusProcess(config, work / "janus.log", prefix=netns.exec_prefix(netns.server)) as janus:
        relay = TcpRelay(netns.server, "127.0.0.1", JANUS_NS_PORT)
        try:
            yield janus, f"http://127.0.0.1:{relay.port}/janus", f"http://{netns.server_ip}:{JANUS_NS_PORT}/janus"
        finally:
            relay.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(state_dir=tmp_path_factory.mktemp("stack-ns"), env={"BABELROOM_LOG_LEVEL": "INFO"}) as s:
        yield s
