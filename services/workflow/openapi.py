"""The OpenAPI 3 document of the workflow API: every blueprint the app mounts under /api/,
documented by shared.web.openapi (a route without `@documented` fails the build)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Flask

from shared.web import openapi
from shared.web.openapi import BEARER, BEARER_SCHEME
from shared.web.service_auth import SERVICE_TOKEN_HEADER

SERVICE_TOKEN = "serviceToken"  # noqa: S105 - a security scheme's name
API_PREFIX = "/api/"
DOCUMENT = openapi.ApiDocument(
    title="SAKIP workflow API",
    description="Alur kerja SOP SAKIP: templat SOP, siklus dan langkahnya, tindakan tiap peran, "
                "perpanjangan, kalender kerja, notifikasi dan jejak audit. Semua waktu dalam "
                "ISO 8601 (UTC).",
    security_schemes={
        BEARER: BEARER_SCHEME,
        SERVICE_TOKEN: {"type": "apiKey", "in": "header", "name": SERVICE_TOKEN_HEADER,
                        "description": "Token bertanda tangan berumur pendek dari portal staf, "
                                       "atas nama pengguna yang sedang masuk."},
    },
    error_descriptions={
        401: "Belum masuk: token tidak ada, salah, kedaluwarsa, dicabut, atau pengguna "
             "dinonaktifkan.",
        403: "Data terlihat, tetapi peran Anda tidak boleh melakukan tindakan ini.",
        404: "Tidak ada, atau di luar cakupan Anda (dinas lain).",
        409: "Bertentangan dengan keadaan siklus (mis. keluaran langkah belum ada: lihat "
             "`details`; langkah belum aktif).",
        415: "Jenis isi permintaan tidak diterima.",
        422: "Isian tidak valid: lihat `fields` (atau `details` untuk berkas templat).",
    },
)


def api_blueprints(app: Flask) -> tuple[str, ...]:
    """The names of the app's blueprints mounted under /api/ (all are documented)."""
    return tuple(sorted(name for name, blueprint in app.blueprints.items()
                        if (blueprint.url_prefix or "").startswith(API_PREFIX)))


def build_spec(app: Flask) -> dict[str, Any]:
    return openapi.build_spec(app, replace(DOCUMENT, blueprints=api_blueprints(app)))
