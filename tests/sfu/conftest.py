"""A real Janus (Debian package) on the repository's configuration, for the SFU tests.

``janus`` runs on loopback with its HTTP API on a free port, the WebSocket transport off, ICE limited
to ``lo`` (no WebRTC media here: that is test_janus_media.py's network-namespace setup), an
``api_secret`` and a VideoRoom ``admin_key``.
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

from babelroom.dev.devstack import free_port  # noqa: E402
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
