"""The socket protocols' documents cannot drift from the code: docs/asyncapi.yaml is what
``babelroom.gateway.asyncapi`` generates from the models, its references resolve, the examples in it and
in docs/websockets.md validate against the models, and every close code the gateway's code uses is in
the close-code table (of both documents)."""

import ast
import dataclasses
import json
import re
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from babelroom.audio.pcm import StreamFormat
from babelroom.bus.schemas import Caption, Notice, SpeechAudio
from babelroom.gateway import asyncapi
from babelroom.ingest import SegmentNotice

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / "services" / "babelroom" / "gateway"
MODELS: dict[str, type[BaseModel]] = {"StreamFormat": StreamFormat, "Caption": Caption, "Notice": Notice,
                                         "SpeechAudio": SpeechAudio}
DOCUMENT = asyncapi.document()


def test_the_committed_document_is_the_generated_one():
    committed = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())
    assert committed == DOCUMENT, "docs/asyncapi.yaml is stale: run `make asyncapi`"


def test_every_reference_resolves():
    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in set(refs(DOCUMENT)):
        node = DOCUMENT
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]


def _check_example(name: str, payload: dict) -> None:
    if name in MODELS:
        MODELS[name].model_validate(payload)
    elif name == "Segment":
        assert set(payload) == {"type"} | {f.name for f in dataclasses.fields(SegmentNotice)}
    else:
        assert set(payload) == {"type"}
    schema = DOCUMENT["components"]["schemas"][name]
    assert set(schema["required"]) <= set(payload) <= set(schema["properties"])


def test_the_documents_examples_are_valid_messages():
    for name, message in DOCUMENT["components"]["messages"].items():
        for example in message.get("examples", []):
            _check_example(name, example["payload"])


def test_the_pages_examples_are_valid_messages():
    page = (ROOT / "docs" / "websockets.md").read_text()
    found = re.findall(r"<!-- example: (\w+) -->\n```json\n(.+?)\n```", page, re.DOTALL)
    assert {name for name, _ in found} == {"StreamFormat", "Segment", "Caption", "Notice", "SpeechAudio"}
    for name, text in found:
        _check_example(name, json.loads(text))


def close_codes_in(source: str) -> set[int]:
    """Integers 1000–4999 in ``source`` other than arithmetic operands and keyword arguments not
    named ``code`` (``block=1000`` is a timeout, ``/ 1000`` a unit change)."""
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            skip.update(id(n) for n in (node.left, node.right))
        elif isinstance(node, ast.keyword) and node.arg != "code":
            skip.add(id(node.value))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and type(n.value) is int
            and 1000 <= n.value <= 4999 and id(n) not in skip}


def test_close_codes_in_the_code_are_documented():
    table = {c.code for c in asyncapi.CLOSE_CODES}
    used = {code: path.name for path in GATEWAY.glob("*.py") if path.name != "asyncapi.py"
            for code in close_codes_in(path.read_text())}
    assert {1000, 1003, 1009, 1011, 4400, 4401, 4403, 4410} <= set(used)
    assert set(used) <= table, {c: f for c, f in used.items() if c not in table}
    page = (ROOT / "docs" / "websockets.md").read_text()
    assert {int(c) for c in re.findall(r"^\| (\d{4}) \|", page, re.MULTILINE)} == table
    for channel in ("audio", "captions"):
        listed = {c["code"] for c in DOCUMENT["channels"][channel]["x-close-codes"]}
        assert listed == {c.code for c in asyncapi.CLOSE_CODES if c.sockets in (channel, "both")}


@pytest.mark.parametrize(("source", "codes"), [
    ("await close_with(ws, ENDPOINT, 4429, 'too many')", {4429}),
    ("await redis.xread({}, block=1000)\nx = t / 1000", set()),
    ("await ws.close(code=1013, reason='later')", {1013}),
])
def test_close_code_scan(source, codes):
    assert close_codes_in(source) == codes
