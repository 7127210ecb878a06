"""Operation ids of the HTTP API's OpenAPI schema: ``<tag>-<action>``, for generated clients.

The action is the route function's name with ``_`` as ``-``, less a trailing word that repeats the
tag's singular (``rooms`` + ``create_room`` → ``rooms-create``; ``account`` + ``add_voice_sample`` →
``account-add-voice-sample``; ``transcripts`` + ``search`` → ``transcripts-search``). Every API route
carries exactly one tag (its router's); ``tests/api/test_openapi.py`` checks the pattern and that
the ids are unique.

Source: FastAPI, "Generate Clients" (``generate_unique_id_function``),
https://fastapi.tiangolo.com/advanced/generate-clients/
"""

from __future__ import annotations

import re

from fastapi.routing import APIRoute

#: What every operation id of the API looks like.
PATTERN = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")


def operation_id(route: APIRoute) -> str:
    """``<tag>-<action>`` of ``route`` (see the module docstring); an untagged route (not part of
    the API's schema, such as the ops routes) gets just its action."""
    action = route.name.lower().replace("_", "-")
    if not route.tags:
        return action
    tag = str(route.tags[0]).lower()
    singular = tag[:-1] if tag.endswith("s") else tag
    return f"{tag}-{action.removesuffix(f'-{singular}')}"
