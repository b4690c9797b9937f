"""The connections one service process holds: database, Redis, object storage.

Built lazily on first use, so each gunicorn worker opens its own after the fork.
"""

from __future__ import annotations

from functools import cached_property
from typing import cast

import redis
from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.db import make_engine, make_session_factory
from shared.events.connection import make_redis_client
from shared.storage import ObjectStore


class Resources:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.effective_database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def redis(self) -> redis.Redis:
        return make_redis_client(self.settings.redis_url)

    @cached_property
    def object_store(self) -> ObjectStore:
        return ObjectStore.from_settings(self.settings)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "redis" in self.__dict__:
            self.redis.close()


def current_resources() -> Resources:
    """The resources of the Flask app serving this request (set by create_service_app)."""
    return cast(Resources, current_app.extensions["sakip"])
