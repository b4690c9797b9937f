"""The workflow's event consumer process: applies intake's and reporting's events to the SOP
state machine.

`python -m services.workflow.consumer`. The handlers (`handlers.py`) follow each Bidang's package
in the collection (SOP step 5); events of other types are acknowledged and left alone.
"""

from __future__ import annotations

import os
import socket

from services.workflow.handlers import HANDLERS
from shared.db import make_engine, make_session_factory
from shared.events import Consumer, make_redis_client
from shared.process import start_process

GROUP = "workflow"


def main() -> None:
    settings, stop = start_process("workflow-consumer")
    engine = make_engine(settings.effective_database_url)
    client = make_redis_client(settings.redis_url)
    consumer = Consumer(
        client,
        make_session_factory(engine),
        stream=settings.events_stream,
        group=GROUP,
        name=f"{socket.gethostname()}-{os.getpid()}",
        handlers=HANDLERS,
        max_deliveries=settings.events_max_deliveries,
    )
    try:
        consumer.run(stop)
    finally:
        client.close()
        engine.dispose()


if __name__ == "__main__":
    main()
