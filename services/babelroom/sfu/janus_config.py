"""The repository's Janus configuration (``stack/janus/``), rendered for one Janus process.

The files in ``stack/janus/`` are the one Janus configuration of the project: the Swarm stack mounts
them as Docker configs, and this module copies them for a local Janus (``babelroom janus-config``,
the local stack, the tests) with what differs per deployment filled in:

- ``configs_folder``, the HTTP (and WebSocket) port and bind address;
- the core ``api_secret`` and the VideoRoom ``admin_key`` (with ``lock_rtp_forward``, so only the
  holder of the key creates rooms or RTP forwards), from ``BABELROOM_JANUS_API_SECRET`` and
  ``BABELROOM_JANUS_ADMIN_KEY`` (or their ``_FILE`` twins);
- ``ice_enforce_list`` (``BABELROOM_JANUS_ICE_ENFORCE_LIST``: the interfaces ICE may use), the RTP
  port range, half or full trickle, the log level.

The files stay valid libconfig before and after: values are replaced or inserted in their section.
Source: Janus's sample janus.jcfg and janus.plugin.videoroom.jcfg (Debian package janus 1.1.2).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from babelroom.config import Settings

REPO_CONFIG = Path(__file__).resolve().parents[3] / "stack" / "janus"
MAIN = "janus.jcfg"
VIDEOROOM = "janus.plugin.videoroom.jcfg"
HTTP = "janus.transport.http.jcfg"
WEBSOCKETS = "janus.transport.websockets.jcfg"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def set_option(text: str, section: str, key: str, value: str | int | bool) -> str:
    """``key = value`` in ``section: { … }`` of a libconfig text: replaced if the key is set there
    (commented-out lines do not count), else inserted as the section's first line.

    Raises:
        ValueError: no such section.
    """
    literal = str(value).lower() if isinstance(value, bool) else str(value) if isinstance(value, int) else _quote(value)
    match = re.search(rf"(?m)^{re.escape(section)}\s*:\s*\{{", text)
    if match is None:
        raise ValueError(f"no section {section!r}")
    depth, end = 1, match.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        end += 1
    body = text[match.end() : end - 1]
    line = re.compile(rf"(?m)^(\s*){re.escape(key)}\s*=\s*[^\n#]*")
    if line.search(body):
        body = line.sub(lambda m: f"{m.group(1)}{key} = {literal}", body, count=1)
    else:
        body = f"\n\t{key} = {literal}" + body
    return text[: match.end()] + body + text[end - 1 :]


@dataclass(frozen=True)
class JanusConfig:
    """Where a rendered configuration is and what it listens on."""

    folder: Path
    http_port: int
    ws_port: int | None

    @property
    def main(self) -> Path:
        return self.folder / MAIN


def render(
    dest: Path,
    *,
    src: Path = REPO_CONFIG,
    http_port: int = 8088,
    http_ip: str | None = None,
    ws_port: int | None = 8188,
    api_secret: str | None = None,
    admin_key: str | None = None,
    ice_enforce_list: str = "",
    rtp_port_range: str | None = None,
    full_trickle: bool | None = None,
    debug_level: int | None = None,
) -> JanusConfig:
    """Copy ``src``'s ``*.jcfg`` into ``dest`` with the per-deployment values (see the module doc).

    ``ws_port=None`` turns the WebSocket transport off (the HTTP API is enough for the services);
    ``http_ip`` binds the HTTP API to one address (default: all of the namespace's).
    """
    dest.mkdir(parents=True, exist_ok=True)
    for f in src.glob("*.jcfg"):
        shutil.copy(f, dest / f.name)
    main = (dest / MAIN).read_text()
    main = set_option(main, "general", "configs_folder", str(dest))
    if api_secret:
        main = set_option(main, "general", "api_secret", api_secret)
    if ice_enforce_list:
        main = set_option(main, "nat", "ice_enforce_list", ice_enforce_list)
    if rtp_port_range:
        main = set_option(main, "media", "rtp_port_range", rtp_port_range)
    if full_trickle is not None:
        main = set_option(main, "nat", "full_trickle", full_trickle)
    if debug_level is not None:
        main = set_option(main, "general", "debug_level", debug_level)
    (dest / MAIN).write_text(main)

    room = (dest / VIDEOROOM).read_text()
    if admin_key:
        room = set_option(room, "general", "admin_key", admin_key)
        room = set_option(room, "general", "lock_rtp_forward", True)
    (dest / VIDEOROOM).write_text(room)

    http = set_option((dest / HTTP).read_text(), "general", "port", http_port)
    if http_ip:
        http = set_option(http, "general", "ip", http_ip)
    (dest / HTTP).write_text(http)

    ws = (dest / WEBSOCKETS).read_text()
    if ws_port is None:
        ws = set_option(ws, "general", "ws", False)
    else:
        ws = set_option(ws, "general", "ws_port", ws_port)
        if http_ip:
            ws = set_option(ws, "general", "ws_ip", http_ip)
    (dest / WEBSOCKETS).write_text(ws)
    return JanusConfig(dest, http_port, ws_port)


def render_from_settings(settings: Settings, dest: Path, **overrides: object) -> JanusConfig:
    """:func:`render` with the secrets and ``ice_enforce_list`` of ``settings``."""
    kwargs: dict[str, object] = dict(
        api_secret=settings.janus_api_secret,
        admin_key=settings.janus_admin_key,
        ice_enforce_list=settings.janus_ice_enforce_list,
    )
    kwargs.update(overrides)
    return render(dest, **kwargs)  # type: ignore[arg-type]
