"""Less work per turn in the Rasa server, found by profiling it under load (bench/load_profile.py).
Installed by the launcher (``bot.rasa_ext.server``); each change is idempotent and keeps what
Rasa does, only cheaper:

- **Selective domain** (Rasa's load-testing guidelines; ``enable_selective_domain: true`` under
  ``action_endpoint`` in endpoints.yml): an action call carries the domain's digest instead of the
  27 kB domain. Rasa 3.6 omits the domain but sends no digest, and rasa-sdk 3.21 then answers
  449 ("send the domain") to every call; here each call carries ``domain_digest`` and, on a 449,
  is sent once more with the domain, which the action server (each worker) then keeps until the
  digest changes (a new model). Actions see the same domain as before. An action listed with
  ``send_domain: true`` in domain.yml still gets it every time (Rasa's own rule).
- **Each event encoded once, the latest turns sent**: Rasa sends the whole conversation with
  every action call, making each event's dict and JSON each time (a fifth of a late turn's
  work); here both are kept on the event and the body is put together from those pieces (the
  same bytes ``json.dumps`` makes), and only the latest turns' events go (``_EventsFromKeptJson``).
- **A model loaded without a training step** (``install_load_without_training_step``): start-up.
- **One HTTP client session per endpoint**: Rasa opens a new aiohttp session, so a new TCP
  connection, for every action call; here the session (and its keep-alive connections) is kept
  per endpoint and event loop. Same headers, authentication and time-out as Rasa's.
- **Event classes by name looked up once**: deserialising an event (every event of the tracker,
  on every load from the tracker store) walked all Event subclasses to find its class.
- **Applied events continued, not walked again** (bot/rasa_ext/applied_events.py), **dialogue
  states extended, not recomputed** (bot/rasa_ext/incremental_states.py), and a
  conversation's events read once, then only its new rows (bot/rasa_ext/tracker_cache.py, in
  the tracker store), and **the RulePolicy shown the states its rules can see**
  (bot/rasa_ext/rule_window.py): the parts of a turn that grew with the conversation's length.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import logging
import weakref
from typing import Any

logger = logging.getLogger(__name__)
DOMAIN_RETRY_STATUS = 449  # rasa-sdk: "the digest is unknown here, send the domain"
KEEPALIVE_SECONDS = 5.0  # the action server keeps connections 120 s (rasa-sdk's default)

# The domain the current action call left out (set while its request body is built).
_omitted_domain: contextvars.ContextVar[dict | None] = contextvars.ContextVar("anxin_omitted_domain", default=None)
# id(Domain) -> (weak reference, digest, as_dict()). By identity: hashing a Domain fingerprints
# all of it (7% of a turn's work when the digest was looked up by the Domain itself).
_domains: dict[int, tuple[Any, str, dict]] = {}


def _domain_digest(domain: Any) -> tuple[str, dict]:
    kept = _domains.get(id(domain))
    if kept is not None and kept[0]() is domain:
        return kept[1], kept[2]
    as_dict = domain.as_dict()
    digest = hashlib.sha256(json.dumps(as_dict, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
    try:
        ref = weakref.ref(domain, lambda _, key=id(domain): _domains.pop(key, None))
    except TypeError:
        return digest, as_dict
    _domains[id(domain)] = (ref, digest, as_dict)
    return digest, as_dict


class _EncodedEvents(list):
    """The tracker's events in an action call (a list of dicts, as Rasa makes it), with each
    event's JSON at hand, so the body is not encoded event by event on every call."""

    fragments: list[str]


_EVENTS_SLOT = "\u0000anxin-events\u0000"


def _turns_sent() -> int:
    from bot import settings

    return settings.action_turns_sent()


def _kept_event(event: Any) -> tuple[dict, str]:
    """``event.as_dict()`` and its JSON, kept on the event. Rasa does not change an event once
    it is in a tracker, except its timestamp just before (``_log_action_on_tracker``), so what
    is kept is used only while the timestamp is the one it was made with; code of ours that
    changes one later calls ``forget_kept``. The dict is shared by every call body that carries
    the event: bodies are only encoded, never changed."""
    kept = event.__dict__.get("_anxin_json")
    if kept is not None and kept[0] == event.timestamp:
        return kept[1], kept[2]
    as_dict = event.as_dict()
    encoded = json.dumps(as_dict)
    event.__dict__["_anxin_json"] = (event.timestamp, as_dict, encoded)
    return as_dict, encoded


def forget_kept(event: Any) -> None:
    """Drop what ``_kept_event`` kept: for code that changes an event already in a tracker (the
    compliance hook stamps and may replace a message after Rasa logged it)."""
    event.__dict__.pop("_anxin_json", None)


def _latest_turns(events: Any, turns: int) -> list:
    """The events from the ``turns``-th last customer message on (all of them when ``turns`` is
    0 or the conversation is shorter)."""
    if turns <= 0:
        return list(events)
    seen = 0
    for back, event in enumerate(reversed(events)):
        if event.type_name == "user":  # UserUttered
            seen += 1
            if seen == turns:
                return [events[i] for i in range(len(events) - 1 - back, len(events))]
    return list(events)


def _encoded_events(tracker: Any) -> _EncodedEvents:
    kept = [_kept_event(event) for event in _latest_turns(tracker.events, _turns_sent())]
    encoded = _EncodedEvents(as_dict for as_dict, _ in kept)
    encoded.fragments = [fragment for _, fragment in kept]
    return encoded


class _EventsFromKeptJson:
    """The tracker as Rasa's ``_action_call_format`` reads it, its events (verbosity ALL)
    from the kept dicts: making every event's dict on every call was a twelfth of a late
    turn's work, and its JSON another part. Only the latest turns' events are sent
    (``ANXIN_ACTION_TURNS``, bot/settings.py): the actions look back a turn or two at most
    (who is speaking, the action before the message, a hand-off's last ten intents), slots and
    the latest message travel on their own, and sending and parsing a 300-turn conversation
    on every call was most of what a late turn still spent more than an early one."""

    def __init__(self, tracker: Any) -> None:
        self._tracker = tracker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracker, name)

    def current_state(self, event_verbosity: Any = None) -> dict:
        from rasa.shared.core.trackers import EventVerbosity

        if event_verbosity != EventVerbosity.ALL:
            return self._tracker.current_state(event_verbosity)
        state = self._tracker.current_state(EventVerbosity.NONE)
        state["events"] = _encoded_events(self._tracker)
        return state


def _encoded_body(kwargs: dict) -> dict:
    """aiohttp's ``json=`` body as ``data=`` bytes, the events spliced in from their kept JSON;
    the same bytes ``json.dumps`` makes of the whole body."""
    body = kwargs.get("json")
    events = body.get("tracker", {}).get("events") if isinstance(body, dict) else None
    if not isinstance(events, _EncodedEvents):
        return kwargs
    shell = json.dumps({**body, "tracker": {**body["tracker"], "events": _EVENTS_SLOT}})
    data = shell.replace(json.dumps(_EVENTS_SLOT), "[" + ", ".join(events.fragments) + "]", 1)
    return {**{k: v for k, v in kwargs.items() if k != "json"}, "data": data.encode("utf-8")}


def install_selective_domain() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig

    if getattr(RemoteAction._action_call_format, "_anxin_speed", False):
        return
    original_format = RemoteAction._action_call_format
    original_request = EndpointConfig.request

    def action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> dict[str, Any]:
        body = original_format(self, _EventsFromKeptJson(tracker), domain)
        _omitted_domain.set(None)
        if self._is_selective_domain_enabled() and domain is not None:
            digest, as_dict = _domain_digest(domain)
            body["domain_digest"] = digest
            if "domain" not in body:
                _omitted_domain.set(as_dict)
        return body

    async def request(self: EndpointConfig, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original_request(self, *args, **_encoded_body(kwargs))
        except ClientResponseError as error:
            body = kwargs.get("json")
            domain = _omitted_domain.get()
            if (error.status != DOMAIN_RETRY_STATUS or domain is None or not isinstance(body, dict)
                    or "domain_digest" not in body or "domain" in body):
                raise
            logger.debug("Action server asked for the domain (digest %s); sending it", body["domain_digest"])
            return await original_request(self, *args, **_encoded_body({**kwargs, "json": {**body, "domain": domain}}))

    action_call_format._anxin_speed = True  # type: ignore[attr-defined]
    action_call_format.original = original_format  # type: ignore[attr-defined]
    request._anxin_speed = True  # type: ignore[attr-defined]
    RemoteAction._action_call_format = action_call_format  # type: ignore[method-assign]
    EndpointConfig.request = request  # type: ignore[method-assign]


class _KeptSession:
    """``async with`` over a kept session: entering lends it, leaving does not close it."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc: object) -> None:
        return None


def install_kept_sessions() -> None:
    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    if getattr(EndpointConfig.session, "_anxin_speed", False):
        return
    kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop -> {endpoint id: (endpoint, session)}

    def session(self: EndpointConfig) -> Any:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return _unkept(self)
        sessions = kept.setdefault(loop, {})
        entry = sessions.get(id(self))
        if entry is None or entry[0] is not self or entry[1].closed:
            # Rasa's own session (headers, authentication, time-out), with kept connections
            auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) \
                if self.basic_auth else None
            fresh = aiohttp.ClientSession(headers=self.headers, auth=auth,
                                          timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                                          connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS))
            entry = sessions[id(self)] = (self, fresh)
        return _KeptSession(entry[1])

    _unkept = EndpointConfig.session
    session._anxin_speed = True  # type: ignore[attr-defined]
    EndpointConfig.session = session  # type: ignore[method-assign]


def install_event_class_cache() -> None:
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event

    if getattr(Event.resolve_by_type, "_anxin_speed", False):
        return
    original = Event.resolve_by_type
    by_name: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        cls = by_name.get(type_name)
        if cls is None:
            for candidate in rasa.shared.utils.common.all_subclasses(Event):  # as Rasa: first match wins
                by_name.setdefault(candidate.type_name, candidate)
            cls = by_name.get(type_name)
        return cls if cls is not None else original(type_name, default)

    resolve_by_type._anxin_speed = True  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]


def install_load_without_training_step() -> None:
    """Rasa builds a loaded TensorFlow model's weights by training it one step on an example
    (``RasaModel.load``: ``fit``, which traces the whole training graph with its gradients) and
    then overwrites them from the checkpoint: three quarters of the Rasa server's start-up here.
    For serving, one prediction on the example builds the weights the prediction uses (any
    other is restored from the checkpoint when it is created); the checkpoint is then loaded,
    and the labels' embeddings and the traced prediction, made with the untrained weights, are
    thrown away and made again, as Rasa's load does at its end. Fine-tuning keeps Rasa's way."""
    from rasa.utils.tensorflow.models import RasaModel

    if getattr(RasaModel.load, "_anxin_speed", False):
        return
    original = RasaModel.load.__func__

    def load(cls: Any, model_file_name: str, model_data_example: Any, predict_data_example: Any = None,
             finetune_mode: bool = False, *args: Any, **kwargs: Any) -> Any:
        if finetune_mode or not predict_data_example or kwargs.get("config", {}).get("run_eagerly"):
            return original(cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
                            *args, **kwargs)
        import tensorflow as tf

        model = cls(*args, **kwargs)
        model.compile(optimizer=tf.keras.optimizers.Adam(kwargs.get("config", {}).get("learning_rate", 0.001)))
        model.run_inference(predict_data_example)  # builds the weights, untrained
        model.load_weights(model_file_name).expect_partial()  # the optimizer's state is not needed
        model.prepared_for_prediction = False  # labels' embeddings from the loaded weights
        model._tf_predict_step = None  # traced again with them
        model.run_inference(predict_data_example)
        load.loaded_without_training_step += 1  # type: ignore[attr-defined]
        return model

    load.loaded_without_training_step = 0  # type: ignore[attr-defined]
    load._anxin_speed = True  # type: ignore[attr-defined]
    load.original = original  # type: ignore[attr-defined]
    RasaModel.load = classmethod(load)  # type: ignore[method-assign, assignment]


def install() -> None:
    from bot.rasa_ext import applied_events, incremental_states, rule_window

    install_selective_domain()
    install_kept_sessions()
    install_event_class_cache()
    install_load_without_training_step()
    applied_events.install()
    incremental_states.install()
    rule_window.install()
