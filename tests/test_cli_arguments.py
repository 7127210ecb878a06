"""The ``babelroom`` CLI's argument handling: ``--version``, bad values as usage errors (a message
naming the option, exit status 2, no traceback), enum options with their choices in ``--help``."""

import re

import pytest
from typer.testing import CliRunner

from babelroom import __version__
from babelroom.accounts import Role, TierName
from babelroom.cli import app, leads, speaker_counts

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code != 1 or result.exception is None or isinstance(result.exception, SystemExit), (
        f"traceback: {result.exception!r}")
    return result.exit_code, re.sub(r"[\s│╭╮╰╯─]+", " ", result.output)


def test_version():
    assert run("--version") == (0, f"babelroom {__version__} ")


@pytest.mark.parametrize("speakers", ["1,x", "", "0,2", "2,-1"])
def test_bench_refuses_bad_speaker_counts_with_a_message(speakers):
    code, out = run("bench", "--speakers", speakers)
    assert code == 2, out
    assert "Invalid value for '--speakers'" in out and "positive whole numbers" in out


def test_speaker_counts():
    assert speaker_counts("1, 2,4,") == [1, 2, 4]


@pytest.mark.parametrize("value", ["0,x", "", "-110", "0,20000"])
def test_eval_refuses_bad_leads_with_a_message(value, tmp_path):
    manifest = tmp_path / "m.tsv"
    manifest.write_text("audio\tlanguage\treference\n")
    code, out = run("eval", str(manifest), "--leads-ms", value)
    assert code == 2, out
    assert "Invalid value for '--leads-ms'" in out and "give leads in ms" in out


def test_leads():
    assert leads("0, 110,220,") == [0, 110, 220]


def test_set_user_offers_roles_and_tiers_as_choices():
    code, out = run("set-user", "--help")
    assert code == 0
    assert f"<{'|'.join(Role)}>" in out and f"<{'|'.join(TierName)}>" in out
    code, out = run("set-user", "ana@example.org", "--tier", "gold")
    assert code == 2 and "Invalid value for '--tier'" in out and "enterprise" in out
    code, out = run("set-user", "ana@example.org", "--role", "root")
    assert code == 2 and "Invalid value for '--role'" in out


@pytest.mark.parametrize("ports", ["20000", "20099-20000", "a-b", "0-10", "20000-70000"])
def test_janus_config_refuses_a_bad_port_range(ports, tmp_path):
    code, out = run("janus-config", "--out", str(tmp_path), "--rtp-port-range", ports)
    assert code == 2 and "Invalid value for '--rtp-port-range'" in out
    assert not list(tmp_path.iterdir())


def test_autoscaler_log_level_is_a_choice():
    code, out = run("autoscaler", "--log-level", "LOUD")
    assert code == 2 and "Invalid value for '--log-level'" in out and "'warning'" in out
