"""The app's live chat talks to the bot over socket.io."""

import threading
import uuid

import socketio

from tests.e2e.conftest import customer_token, said


def test_socketio_round_trip_in_both_languages(servers):
    client = socketio.Client(reconnection=False)
    replies: list[dict] = []
    got = threading.Event()

    @client.on("bot_uttered")
    def on_bot(data):
        replies.append(data)
        got.set()

    session = f"e2e-sio-{uuid.uuid4().hex[:8]}"
    client.connect(servers.rasa_url, socketio_path="/socket.io", transports=["websocket"], wait_timeout=10,
                   auth={"token": customer_token(session)})
    try:
        client.emit("session_request", {"session_id": session})
        for text, language in (("你好", "zh"), ("hi there", "en")):
            got.clear()
            replies.clear()
            client.emit("user_uttered", {"message": text, "session_id": session})
            assert got.wait(20), f"no bot_uttered for {text!r}"
            assert said([r.get("text", "") for r in replies], "utter_greet", language)
    finally:
        client.disconnect()
