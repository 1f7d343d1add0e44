"""The action server: rasa-sdk's own server plus a start hook that loads the models.

Why not ``python -m rasa_sdk``: the knowledge-base encoder and index (and the emotion model)
take seconds to import and load. Loaded lazily inside the first request they would push that
request past the Rasa server's action timeout; loaded at import time of the actions package
they break Sanic's worker start-up (spawn vs fork, see shared/reference/runtime.md). A
``before_server_start`` listener runs inside the worker, before the port opens, so /health
answers only once everything is loaded and the first customer waits for nothing.

Observability (``bot.metrics``, ``bot.logs``): ``GET /metrics``, ``GET /health/live``,
``GET /health/ready`` (200 once the encoder, the knowledge index and the emotion head are
loaded), the time of each action, a request id per request (the Rasa server sends its turn's
``X-Request-Id``) and JSON logs (``ANXIN_LOG_FORMAT``), set up inside each worker process.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from functools import partial

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app_for_serve, create_argument_parser
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic
from sanic.worker.loader import AppLoader

from bot import logs, metrics

logger = logging.getLogger(__name__)
PROCESS = "actions"
# What warm_up loaded in this process: the readiness check reports it.
LOADED = {"knowledge_base": False, "emotion_model": False}


def warm_up(*_: object) -> None:
    """Load every model the actions use, once per worker process."""
    from bot.emotion import classifier
    from bot.knowledge import retriever

    started = time.perf_counter()
    for name, load in (("knowledge_base", lambda: retriever.shared().answer("warm-up", "zh")),
                       ("emotion_model", lambda: classifier.shared().classify("warm-up"))):
        try:
            load()  # the knowledge base's first answer loads the encoder and the index
            LOADED[name] = True
        except (OSError, ValueError) as error:  # the actions degrade politely until it is built
            logger.error("%s not loaded: %s", name.replace("_", " "), error)
    logger.info("models loaded in %.1f s", time.perf_counter() - started)


def models_ready() -> tuple[bool, dict]:
    """Ready when the encoder, the knowledge index and the emotion head are loaded and valid
    compliance rules are in force (the actions audit under their version; the copilot checks
    drafts with them); the reply names that version."""
    from bot.compliance import rulebook

    version = rulebook.current().version  # raises with no valid rules: readiness reports the error
    return all(LOADED.values()), {"models": dict(LOADED), "rules_version": version}


class TimedActionExecutor(ActionExecutor):
    """rasa-sdk's executor, timing every action it runs (``anxin_action_seconds``). A subclass,
    not a wrapped method: the executor is pickled into each spawned worker."""

    async def run(self, action_call, *args, **kwargs):
        action = metrics.bounded((action_call or {}).get("next_action"), self.actions)
        started = time.perf_counter()
        try:
            return await super().run(action_call, *args, **kwargs)
        finally:
            seconds = time.perf_counter() - started
            metrics.ACTION_SECONDS.labels(action).observe(seconds)
            logger.info("Action %s ran in %.3f s", action, seconds,
                        extra={"action": action, "seconds": round(seconds, 4)})


# rasa-sdk 3.21 serving Rasa 3.6 is the pairing shared/reference/runtime.md measured (rasa-sdk
# 3.6 does not run on Python 3.11). rasa-sdk warns about it on every action call, and with the
# library warning filters reset all the time (scikit-learn's) the warning became a masked JSON
# log record per call: a tenth of the action server's work under load (bench/load_profile.py).
PAIRED_VERSIONS = (r"Your versions of rasa and rasa_sdk might not be compatible\. "
                   r"You are currently running rasa version 3\.6\.\d+ and rasa_sdk version 3\.21\.")


def silence_paired_version_warning() -> None:
    """Ignore rasa-sdk's version warning for the measured pairing only (any other mismatch still
    warns), and say once, at start, which pairing runs."""
    warnings.filterwarnings("ignore", message=PAIRED_VERSIONS, category=UserWarning)
    import rasa_sdk

    logger.info("rasa-sdk %s serves Rasa 3.6 (the pairing of shared/reference/runtime.md); its "
                "per-call version warning is not logged", rasa_sdk.__version__)


def create_app(action_executor: ActionExecutor, **options):
    logs.configure(PROCESS)  # runs in every worker process (spawned: nothing is inherited)
    silence_paired_version_warning()
    app = create_app_for_serve(action_executor, **options)
    logs.install_request_ids(app)
    metrics.add_routes(app, models_ready)
    app.register_listener(warm_up, "before_server_start")
    return app


def main() -> None:
    args = create_argument_parser().parse_args()
    os.environ["LOG_LEVEL"] = logging.getLevelName(args.loglevel)  # the spawned workers read it
    if logs.log_format() == "text":
        utils.configure_colored_logging(args.loglevel)
    utils.update_sanic_log_level()
    logs.configure(PROCESS)
    executor = TimedActionExecutor()
    executor.register_package(args.actions_module or args.actions)
    loader = AppLoader(factory=partial(create_app, executor, cors_origins=args.cors,
                                       auto_reload=args.auto_reload, endpoints=args.endpoints))
    app = loader.load()
    app.prepare(host=os.environ.get("SANIC_HOST", "127.0.0.1"), port=args.port,
                workers=utils.number_of_sanic_workers())
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
