"""The OpenAPI 3 document of the workflow API: every blueprint the app mounts under /api/,
documented by shared.web.openapi (a route without `@documented` fails the build)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from shared.web import openapi
from shared.web.openapi import BEARER, BEARER_SCHEME, SERVICE_TOKEN, SERVICE_TOKEN_SCHEME

DOCUMENT = openapi.ApiDocument(
    title="SAKIP workflow API",
    description="Alur kerja SOP SAKIP: templat SOP, siklus dan langkahnya, tindakan tiap peran, "
                "perpanjangan, kalender kerja, notifikasi dan jejak audit. Semua waktu dalam "
                "ISO 8601 (UTC).",
    security_schemes={
        BEARER: BEARER_SCHEME,
        SERVICE_TOKEN: SERVICE_TOKEN_SCHEME,
    },
    error_descriptions={
        401: "Belum masuk: token tidak ada, salah, kedaluwarsa, dicabut, atau pengguna "
             "dinonaktifkan.",
        403: "Data terlihat, tetapi peran Anda tidak boleh melakukan tindakan ini.",
        404: "Tidak ada, atau di luar cakupan Anda (dinas lain).",
        409: "Bertentangan dengan keadaan siklus (mis. keluaran langkah belum ada: lihat "
             "`details`; langkah belum aktif).",
        413: "Berkas melebihi batas ukuran.",
        415: "Jenis isi permintaan tidak diterima.",
        422: "Isian tidak valid: lihat `fields` (atau `details` untuk berkas templat).",
    },
)



def build_spec(app: Flask) -> dict[str, Any]:
    return openapi.build_api_spec(app, DOCUMENT)
