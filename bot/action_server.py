"""The action server: rasa-sdk's own server plus a start hook that loads the models.

Why not ``python -m rasa_sdk``: the knowledge-base encoder and index (and the emotion model)
take seconds to import and load. Loaded lazily inside the first request they would push that
request past the Rasa server's action timeout; loaded at import time of the actions package
they break Sanic's worker start-up (spawn vs fork, see shared/reference/runtime.md). A
``before_server_start`` listener runs inside the worker, before the port opens, so /health
answers only once everything is loaded and the first customer waits for nothing.
"""

from __future__ import annotations

import logging
import os
import time
from functools import partial

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app_for_serve, create_argument_parser
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic
from sanic.worker.loader import AppLoader

logger = logging.getLogger(__name__)


def warm_up(*_: object) -> None:
    """Load every model the actions use, once per worker process."""
    from bot.emotion import classifier
    from bot.knowledge import retriever

    started = time.perf_counter()
    for name, load in (("knowledge base", lambda: retriever.shared().answer("warm-up", "zh")),
                       ("emotion model", lambda: classifier.shared().classify("warm-up"))):
        try:
            load()
        except (OSError, ValueError) as error:  # the actions degrade politely until it is built
            logger.error("%s not loaded: %s", name, error)
    logger.info("models loaded in %.1f s", time.perf_counter() - started)


def create_app(action_executor: ActionExecutor, **options):
    app = create_app_for_serve(action_executor, **options)
    app.register_listener(warm_up, "before_server_start")
    return app


def main() -> None:
    args = create_argument_parser().parse_args()
    utils.configure_colored_logging(args.loglevel)
    utils.update_sanic_log_level()
    executor = ActionExecutor()
    executor.register_package(args.actions_module or args.actions)
    loader = AppLoader(factory=partial(create_app, executor, cors_origins=args.cors,
                                       auto_reload=args.auto_reload, endpoints=args.endpoints))
    app = loader.load()
    app.prepare(host=os.environ.get("SANIC_HOST", "127.0.0.1"), port=args.port,
                workers=utils.number_of_sanic_workers())
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
