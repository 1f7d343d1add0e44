"""V3 Session management: a socket.io session id is not a credential (issue 23).

Over Engine.IO's long-polling transport every HTTP request naming a session id (``sid``)
speaks for that session: whoever saw the sid could send messages as the signed-in customer.
The attack here: a customer connects the way a browser does by default (long-polling first;
the server may only offer WebSocket), an attacker takes the sid and posts a message with it
over HTTP. It must be refused and never reach the customer's conversation.
"""

from __future__ import annotations

import threading
import uuid

import requests
import socketio

from tests.e2e.conftest import customer_token


def _tracker_texts(servers, conversation: str) -> list[str]:
    reply = requests.get(f"{servers.rasa_url}/conversations/{conversation}/tracker",
                         headers={"Authorization": f"Bearer {servers.token}"}, timeout=10)
    assert reply.status_code == 200, reply.text
    return [e.get("text") or "" for e in reply.json().get("events", []) if e.get("event") == "user"]


def test_a_stolen_sid_cannot_speak_for_the_customer(servers):
    customer = f"sec-sid-{uuid.uuid4().hex[:8]}"
    answered = threading.Event()
    client = socketio.Client(reconnection=False)
    client.on("bot_uttered", lambda _data: answered.set())
    auth = {"token": customer_token(customer)}
    try:  # a browser's default: long-polling first
        client.connect(servers.rasa_url, socketio_path="/socket.io", transports=["polling"], wait_timeout=10,
                       auth=auth)
    except socketio.exceptions.ConnectionError:  # the server offers WebSocket only
        client.connect(servers.rasa_url, socketio_path="/socket.io", transports=["websocket"], wait_timeout=10,
                       auth=auth)
    try:
        client.emit("session_request", {"session_id": customer})
        sid = client.eio.sid
        probe = f"stolen-sid-probe-{uuid.uuid4().hex[:6]}"
        stolen = requests.post(f"{servers.rasa_url}/socket.io/", params={"EIO": "4", "transport": "polling",
                                                                          "sid": sid},
                               data=f'42["user_uttered",{{"message":"{probe}"}}]'.encode(),
                               headers={"Content-Type": "text/plain;charset=UTF-8"}, timeout=10)
        listened = requests.get(f"{servers.rasa_url}/socket.io/", params={"EIO": "4", "transport": "polling",
                                                                           "sid": sid}, timeout=10)
        assert stolen.status_code == 400, f"the stolen sid was accepted: {stolen.status_code} {stolen.text}"
        assert listened.status_code == 400, f"the stolen sid could listen: {listened.status_code}"
        # the customer's own connection still works; their turn is processed after any earlier one
        # in the conversation, so the tracker below has whatever the attacker got in
        client.emit("user_uttered", {"message": "你好"})
        assert answered.wait(30), "the customer's own message got no answer"
        texts = _tracker_texts(servers, customer)
        assert probe not in texts and "你好" in texts
    finally:
        client.disconnect()
