"""The Rasa server does not serve unguarded: a plain `rasa run` installs the guard through the
modules it imports anyway, the launcher refuses to start without it, and /health/ready says so."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from rasa.core.processor import MessageProcessor

from bot.compliance import rulebook
from bot.rasa_ext import compliance_hook, server

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 180


def custom_classes() -> dict[str, list[str]]:
    """The project's own classes Rasa imports to load the model (config.yml: the model's graph)
    and the endpoints (endpoints.yml)."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    found = {"config.yml": [c["name"] for c in config["pipeline"] + config["policies"]],
             "endpoints.yml": [endpoints[store]["type"] for store in ("tracker_store", "lock_store")]}
    return {source: [name for name in names if name.startswith("bot.")] for source, names in found.items()}


@pytest.fixture
def hook_removed(monkeypatch):
    """Rasa's send step as it is without the guard (monkeypatch puts the guard back after)."""
    compliance_hook.install()
    monkeypatch.setattr(MessageProcessor, "_send_bot_messages", staticmethod(compliance_hook._original_send))
    assert not compliance_hook.installed()


def test_the_check_passes_with_the_guard_and_names_the_rules_version():
    compliance_hook.install()
    server.check_guard()
    ok, detail = server._ready(SimpleNamespace(ctx=SimpleNamespace(agent=None)))
    assert not ok  # no model loaded in this test
    assert detail["compliance_guard"] == {"installed": True, "rules_version": rulebook.current().version,
                                          "rules_refused": None}


def test_the_check_fails_when_the_hook_is_absent(hook_removed):
    with pytest.raises(server.GuardMissing):
        server.check_guard()
    agent = SimpleNamespace(is_ready=lambda: True, model_id="m-1")
    ok, detail = server._ready(SimpleNamespace(ctx=SimpleNamespace(agent=agent)))
    assert not ok and detail["model_loaded"] and detail["compliance_guard"]["installed"] is False


def test_the_check_fails_when_no_valid_rules_are_in_force(tmp_path, monkeypatch):
    compliance_hook.install()
    bad = tmp_path / "rules.yml"
    bad.write_text("mandatory_warning: {zh: '', en: ''}\n", encoding="utf-8")
    monkeypatch.setenv("ANXIN_COMPLIANCE_RULES", str(bad))
    with pytest.raises(server.GuardMissing):
        server.check_guard()
    ok, detail = compliance_hook.status()
    assert not ok and detail["rules_version"] is None and detail["rules_refused"]["problems"]


@pytest.mark.parametrize("source", custom_classes())
def test_what_rasa_imports_to_load_this_project_installs_the_guard(source):
    """What a plain `rasa run` does with this project: import the classes named in config.yml
    (loading the model) and in endpoints.yml. Either file's classes alone install the guard, in a
    fresh interpreter that never imports the launcher."""
    code = ("import rasa.shared.utils.common as common\n"
            + "".join(f"common.class_from_module_path({name!r})\n" for name in custom_classes()[source])
            + "from bot.rasa_ext import compliance_hook\n"
            "print('GUARD', compliance_hook.installed())\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=STARTUP_SECONDS)
    assert "GUARD True" in done.stdout, done.stderr[-2000:]


def _env() -> dict[str, str]:
    # --enable-api needs a token (from the environment: the server refuses an open API), and the
    # server refuses to start without the secret it signs action calls with
    return {"ANXIN_API_TOKEN": "guard-startup-test-token", "ANXIN_ACTION_SECRET": "guard-startup-test-secret",
            **os.environ, "PYTHONPATH": str(ROOT),
            "RASA_TELEMETRY_ENABLED": "false", "ANXIN_LOG_FORMAT": "json"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


LAUNCH = """
import sys
from bot.rasa_ext import compliance_hook, server
if sys.argv[1] == "without-guard":
    compliance_hook.install = lambda: None  # as if nothing had installed it
sys.argv = ["rasa", "run", "--enable-api", "--interface", "127.0.0.1", "--port", sys.argv[2]]
server.main()
"""


def _launch(mode: str, port: int, cwd: Path) -> subprocess.Popen:
    # An empty folder: no model, no credentials, no endpoints, so the server starts in seconds.
    return subprocess.Popen([sys.executable, "-c", LAUNCH, mode, str(port)], cwd=cwd, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def test_the_server_exits_non_zero_without_the_guard(tmp_path):
    process = _launch("without-guard", _free_port(), tmp_path)
    try:
        output, _ = process.communicate(timeout=STARTUP_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode not in (0, None), output[-3000:]
    refused = [json.loads(line) for line in output.splitlines()
               if line.startswith("{") and '"guard_missing"' in line]
    assert refused and refused[0]["level"] == "CRITICAL", output[-3000:]


def test_the_same_server_with_the_guard_starts_and_reports_it(tmp_path):
    """The control for the test above: only the guard differs, and this one serves."""
    port = _free_port()
    process = _launch("with-guard", port, tmp_path)
    try:
        deadline, reply = time.monotonic() + STARTUP_SECONDS, None
        while time.monotonic() < deadline and reply is None:
            assert process.poll() is None, process.stdout.read()[-3000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2)
            except urllib.error.HTTPError as not_ready:  # 503: no model in this folder
                reply = json.loads(not_ready.read())
            except OSError:
                time.sleep(0.5)
        assert reply is not None, "the server did not answer"
        assert reply["compliance_guard"]["installed"] is True and reply["model_loaded"] is False
        assert reply["compliance_guard"]["rules_version"] == rulebook.current().version
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
