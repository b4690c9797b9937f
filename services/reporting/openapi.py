"""The OpenAPI 3 document of the reporting API: every blueprint the app mounts under /api/,
documented by shared.web.openapi (a route without `@documented` fails the build)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from shared.web import openapi
from shared.web.openapi import BEARER, BEARER_SCHEME, SERVICE_TOKEN, SERVICE_TOKEN_SCHEME

DOCUMENT = openapi.ApiDocument(
    title="SAKIP reporting API",
    description="Langkah 6 SOP SAKIP: rubrik LKE, pengisian dan penilaian LKE oleh tim evaluasi, "
                "laporan hasil evaluasi (PDF dan XLSX, disusun oleh pekerja di latar belakang), "
                "persetujuan Kepala Dinas dan arsipnya, tanda terima Bagian Organisasi dan "
                "Inspektur, serta rekap kota. Semua waktu dalam ISO 8601 (UTC); nilai sebagai "
                "teks desimal (\"87.50\").",
    security_schemes={
        BEARER: BEARER_SCHEME,
        SERVICE_TOKEN: SERVICE_TOKEN_SCHEME,
    },
    error_descriptions={
        401: "Belum masuk: token tidak ada, salah, kedaluwarsa, dicabut, atau pengguna "
             "dinonaktifkan.",
        403: "Data terlihat, tetapi peran Anda tidak boleh melakukan tindakan ini.",
        404: "Tidak ada, atau di luar cakupan Anda (dinas lain); berkas laporan yang belum siap.",
        409: "Bertentangan dengan keadaan saat ini (mis. langkah 6 belum berjalan, LKE sudah "
             "difinalisasi, kriteria belum dijawab: lihat `details`).",
        413: "Berkas terlalu besar.",
        415: "Jenis isi permintaan tidak diterima.",
        422: "Isian tidak valid: lihat `fields` (atau `details` untuk jawaban LKE dan buku "
             "kerja LKE).",
        503: "Arsip laporan sedang tidak dapat ditulis; tidak ada yang berubah.",
    },
)



def build_spec(app: Flask) -> dict[str, Any]:
    return openapi.build_api_spec(app, DOCUMENT)
