"""The bare upload path `bench.load` measures the platform against (bench only, not product code):
a minimal Flask app whose `POST /upload` reads the multipart body with werkzeug, puts the file to
the S3 server with minio-py under a uuid key and inserts one row into a table of its own with
psycopg (one autocommit connection per thread), then answers 201. No authentication, checks,
audit, outbox, ORM or events: what is left is the framework's and the libraries' own cost.

    gunicorn -c python:shared.web.gunicorn_conf 'bench.bare_upload:create_app()'

Configured like the services (S3_* and DATABASE_URL through shared.config)."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import uuid

import psycopg
from flask import Flask, request
from minio import Minio
from sqlalchemy import make_url

from shared.config import load_settings

TABLE = "bench_bare_upload"
SCHEMA = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    id uuid PRIMARY KEY, key text NOT NULL, size integer NOT NULL, sha256 text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())"""
SCHEMA_LOCK = 72_019  # advisory lock: the gunicorn workers create the table one at a time


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL (postgresql+psycopg://...) as a libpq one."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


def create_table(conninfo: str) -> None:
    with psycopg.connect(conninfo) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        conn.execute(SCHEMA)


def create_app() -> Flask:
    settings = load_settings(os.environ)
    conninfo = libpq_url(settings.effective_database_url)
    create_table(conninfo)
    store = Minio(settings.s3_endpoint, access_key=settings.s3_access_key,
                  secret_key=settings.s3_secret_key, secure=settings.s3_secure,
                  region=settings.s3_region)
    bucket = settings.s3_bucket
    local = threading.local()

    def connection() -> psycopg.Connection[tuple[object, ...]]:
        conn: psycopg.Connection[tuple[object, ...]] | None = getattr(local, "conn", None)
        if conn is None or conn.closed:
            conn = local.conn = psycopg.connect(conninfo, autocommit=True)
        return conn

    app = Flask(__name__)

    @app.post("/upload")
    def upload() -> tuple[str, int]:
        file = request.files.get("file")
        if file is None:
            return "file?", 400
        data = file.read()
        key = f"bare/{uuid.uuid4().hex}"
        store.put_object(bucket, key, io.BytesIO(data), len(data),
                         content_type=file.mimetype or "application/octet-stream")
        connection().execute(
            f"INSERT INTO {TABLE} (id, key, size, sha256) VALUES (%s, %s, %s, %s)",  # noqa: S608
            (uuid.uuid4(), key, len(data), hashlib.sha256(data).hexdigest()))
        return key, 201

    @app.get("/readyz")
    def ready() -> tuple[str, int]:
        return "ok", 200

    return app

