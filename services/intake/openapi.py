"""The OpenAPI 3 document of the intake API (shared.web.openapi with intake's own title, its two
ways in -- personal API token or the portal's session -- and the words for its errors)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from services.intake.auth import SESSION_COOKIE
from shared.web import openapi
from shared.web.openapi import (
    BEARER,
    BEARER_SCHEME,
    Operation,
    UndocumentedRoute,
    api_rules,
    documented,
    openapi_path,
    path_parameters,
)

__all__ = ["BEARER", "COOKIE", "DOCUMENT", "ERROR_DESCRIPTIONS", "TITLE", "Operation",
           "UndocumentedRoute", "api_rules", "build_spec", "documented", "openapi_path",
           "path_parameters"]

TITLE = "SAKIP intake API"
COOKIE = "portalSession"
ERROR_DESCRIPTIONS = {
    400: "Permintaan rusak (mis. formulir unggahan tidak lengkap, token CSRF tidak ada).",
    401: "Belum masuk: token API tidak ada, salah, kedaluwarsa atau dicabut.",
    403: "Data terlihat, tetapi peran Anda tidak boleh melakukan tindakan ini.",
    404: "Tidak ada, atau di luar cakupan Anda (dinas lain, Bidang lain).",
    409: "Bertentangan dengan keadaan data (mis. paket belum lengkap: lihat `details`).",
    413: "Berkas melebihi batas ukuran.",
    415: "Jenis berkas atau jenis isi permintaan tidak diterima.",
    422: "Isian tidak valid: lihat `fields`.",
    429: "Terlalu banyak percobaan: tunggu sebentar, lalu coba lagi.",
    503: "Penyimpanan atau basis data sedang tidak dapat dihubungi.",
}
DOCUMENT = openapi.ApiDocument(
    title=TITLE,
    description="Dokumen kinerja SAKIP: siklus, paket dokumen per Bidang, unggahan, "
                "penyerahan dan pemeriksaan. Semua waktu dalam ISO 8601 (UTC).",
    security_schemes={
        BEARER: BEARER_SCHEME,
        COOKIE: {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                 "description": "Sesi portal; setiap penulisan juga mengirim header "
                                "X-CSRF-Token."},
    },
    error_descriptions=ERROR_DESCRIPTIONS,
)


def build_spec(app: Flask) -> dict[str, Any]:
    """The document of every blueprint the intake mounts under /api/ (the documents API and
    the administration APIs alike)."""
    return openapi.build_api_spec(app, DOCUMENT)
