"""The API's OpenAPI document and the sockets' message schemas as files, for the web app's generated types.

``babelroom openapi`` (``make api-types``) writes ``frontend/openapi.json`` (the gateway's ``/openapi.json``)
and ``frontend/socket-messages.json`` (an OpenAPI 3.1 document whose ``components.schemas`` are the caption
socket's messages, :class:`~babelroom.bus.schemas.Caption`, :class:`~babelroom.bus.schemas.Notice` and
:class:`~babelroom.bus.schemas.SpeechAudio` (the JSON header of a spoken translation, ``audio=1``), which
OpenAPI cannot describe); ``openapi-typescript`` turns both into TypeScript (``npm run gen:api``).

Both are rendered deterministically (sorted keys, two-space indent, UTF-8, final newline), so a test can
compare the committed files with what the code gives now (tests/gateway/test_schema_export.py).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import models_json_schema

from babelroom import __version__
from babelroom.bus.schemas import Caption, Notice, SpeechAudio


def openapi_document() -> dict[str, Any]:
    """The gateway's OpenAPI 3.1 document, as served at ``/openapi.json``.

    Builds the app without starting its lifespan, so no database, Redis or Janus is needed.
    """
    from babelroom.config import get_settings
    from babelroom.gateway.app import create_app

    return create_app(get_settings()).openapi()


def socket_messages_document() -> dict[str, Any]:
    """The caption socket's messages as an OpenAPI 3.1 document with no paths, only ``components.schemas``.

    The schemas are pydantic's serialization-mode JSON Schemas (what ``model_dump_json`` writes), see
    https://docs.pydantic.dev/latest/concepts/json_schema/.
    """
    _, schemas = models_json_schema(
        [(Caption, "serialization"), (Notice, "serialization"), (SpeechAudio, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Babelroom socket messages",
            "version": __version__,
            "description": "JSON text frames of /ws/rooms/{room}/captions: Caption (partial, final, retract) "
            "and Notice (room events); with audio=1 also SpeechAudio, each followed by one binary frame of its "
            "audio_bytes (an Ogg Opus file).",
        },
        "paths": {},
        "components": {"schemas": schemas["$defs"]},
    }


def render(document: dict[str, Any]) -> str:
    """``document`` as stable JSON text: sorted keys, two-space indent, non-ASCII kept, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
