"""V14 Configuration: the API token never in argv or addresses, browser security headers on
every page, /metrics behind a token, private state and log files, the per-address limit behind
a trusted proxy (issue 23). Each attack goes through the real servers.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import stat
from pathlib import Path

import pytest
import requests

from bot.servers import Servers

ROOT = Path(__file__).resolve().parents[3]
PROXY = "127.0.0.2"  # a second loopback address plays the reverse proxy (Linux routes 127/8 to lo)


def _process_tree(pid: int) -> list[int]:
    """``pid`` and every process in its process group (each server runs in its own session)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pid:  # the process group id
                found.append(int(entry.name))
    return found or [pid]


def test_no_server_has_the_api_token_on_its_command_line(servers):
    seen = 0
    for name, process in servers.processes.items():
        for pid in _process_tree(process.pid):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            seen += 1
            assert servers.token not in argv, f"{name} (pid {pid}) shows the API token to `ps`: {argv}"
    assert seen >= 3


def test_the_api_token_works_in_a_header_and_is_refused_in_the_address(servers):
    in_header = requests.get(f"{servers.rasa_url}/status", headers={"Authorization": f"Bearer {servers.token}"},
                             timeout=10)
    assert in_header.status_code == 200, in_header.text
    in_address = requests.get(f"{servers.rasa_url}/status", params={"token": servers.token}, timeout=10)
    assert in_address.status_code == 400 and servers.token not in in_address.text
    wrong = requests.get(f"{servers.rasa_url}/status", headers={"Authorization": "Bearer not-the-token"}, timeout=10)
    assert wrong.status_code == 401


def test_haproxy_does_not_log_query_strings():
    for config in sorted((ROOT / "deploy" / "haproxy").glob("*.cfg")):
        text = "\n".join(line.split("#", 1)[0] for line in config.read_text(encoding="utf-8").splitlines())
        formats = re.findall(r"^\s*log-format\s+(.*)$", text, re.M)
        assert formats, f"{config.name}: no log-format (httplog logs the whole request line with its query)"
        assert not re.search(r"^\s*option\s+httplog", text, re.M), config.name
        for fmt in formats:
            assert not re.search(r"%(\{[^}]*\})?(r|HU|HQ)\b", fmt), f"{config.name}: logs the query string: {fmt}"


SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy", "X-Content-Type-Options")


def _assert_protected(reply: requests.Response) -> None:
    for name in SECURITY_HEADERS:
        assert name in reply.headers, f"{reply.url} ({reply.status_code}) lacks {name}"
    assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"], reply.url
    assert reply.headers["X-Frame-Options"] == "DENY" and reply.headers["X-Content-Type-Options"] == "nosniff"


def test_every_page_carries_the_security_headers(servers):
    pages = [f"{servers.rasa_url}{p}" for p in ("/webhooks/rest/chat", "/webhooks/rest/", "/health/ready",
                                                 "/webhooks/rest/report/not-a-report", "/no-such-page", "/")]
    pages += [f"{servers.copilot_url}{p}" for p in ("/copilot", "/console", "/health", "/api/me", "/no-such-page")]
    for url in pages:
        _assert_protected(requests.get(url, timeout=10))
    # the pages still run their own inline script: its hash is in the policy
    for url in (f"{servers.rasa_url}/webhooks/rest/chat", f"{servers.copilot_url}/copilot"):
        page = requests.get(url, timeout=10)
        for script in re.findall(r"<script>(.*?)</script>", page.text, re.S):
            digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
            assert f"'sha256-{digest}'" in page.headers["Content-Security-Policy"], f"{url}: its script is blocked"


def test_metrics_need_the_token(servers):
    token = os.environ["ANXIN_METRICS_TOKEN"]
    for base in (servers.rasa_url, servers.action_url, servers.copilot_url):
        assert requests.get(f"{base}/metrics", timeout=10).status_code == 403, base
        assert requests.get(f"{base}/metrics", headers={"Authorization": "Bearer guess"}, timeout=10).status_code == 403
        scraped = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert scraped.status_code == 200 and "anxin_" in scraped.text, base


def test_state_and_log_files_are_private(servers, chat):
    chat.say("你好")  # the conversation stores are written by now
    state = servers.logs.parent
    made_by_servers = [*state.glob("logs/*.log"), *state.glob("*.db"), *state.glob("*.key"), *state.glob("*.jsonl")]
    assert any(p.suffix == ".log" for p in made_by_servers) and any(p.suffix == ".db" for p in made_by_servers)
    for path in made_by_servers:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.name} is {oct(mode)}: readable by other users"
    for folder in (state, state / "logs"):
        assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0, f"{folder} is open to other users"


# -- the per-address limit behind a trusted proxy -------------------------------------------


@pytest.fixture(scope="module")
def limited_rasa(tmp_path_factory, servers):
    """A second Rasa server (no action server needed: the limit is checked before any turn)
    with a per-address limit of 3 a minute, behind a proxy at 127.0.0.2."""
    port = servers.rasa_port + 1
    running = Servers(rasa_port=port, action_port=servers.action_port, copilot_port=servers.copilot_port,
                      environment={"ANXIN_STATE_DIR": str(tmp_path_factory.mktemp("proxied-state")),
                                   "ANXIN_RATE_LIMIT_ADDRESS": "3/minute", "ANXIN_TRUSTED_PROXIES": PROXY})
    running.migrate()
    running.start_rasa()
    try:
        running.wait(running.rasa_ready, "rasa", 300)
        yield running
    finally:
        running.stop()


def _get(server: Servers, source: str, forwarded_for: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", server.rasa_port, timeout=10, source_address=(source, 0))
    try:
        connection.request("GET", "/webhooks/rest/report/x", headers={"X-Forwarded-For": forwarded_for})
        return connection.getresponse().status
    finally:
        connection.close()


def test_forwarded_for_counts_behind_a_trusted_proxy_and_not_from_anyone_else(limited_rasa):
    # through the proxy: each client has its own budget; a client's own claim on the left is ignored
    assert [_get(limited_rasa, PROXY, "203.0.113.1") for _ in range(4)][-1] == 429
    assert _get(limited_rasa, PROXY, "203.0.113.2") != 429  # another client behind the proxy is not starved
    assert _get(limited_rasa, PROXY, "203.0.113.3, 203.0.113.1") == 429  # spoofed left part: still client .1
    # straight from a client: its X-Forwarded-For is its own claim, not evidence
    statuses = [_get(limited_rasa, "127.0.0.1", f"198.51.100.{i}") for i in range(4)]
    assert statuses[:3] != [429] * 3 and statuses[3] == 429
