"""Bad input over HTTP, filling the gaps the existing suites leave: each gets a clear 4xx and
changes nothing.

Already proven elsewhere (not repeated here):
- uploads: ELF/HTML/SVG/PNG renamed .pdf, empty file, zip bomb as XLSX, over the size limit,
  bad metadata (tests/integration/test_uploads.py, test_api.py::test_upload_refusals,
  test_upload_over_the_limit_is_413, test_upload_with_bad_fields_is_422); the sniffing, archive
  and file-name rules themselves (tests/unit/test_filetypes.py);
- action bodies with extra, missing and wrong-typed fields (test_api.py::
  test_action_bodies_are_validated);
- malformed SOP templates, rubrics and LKE workbooks named by line and field
  (tests/unit/test_sop_template.py, test_rubric.py, test_lke_workbook.py,
  tests/integration/test_workflow_api.py, test_reporting_api.py).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from flask import Flask

from services.reporting.app import create_app as create_reporting_app
from services.workflow.app import create_app as create_workflow_app
from shared.config import Settings
from shared.cycles.models import CollectionExtension, Cycle, SopTemplate
from shared.documents.models import DocumentVersion
from shared.web.schemas import NUL_MESSAGE
from tests.integration.test_api import Api, bearer, count, item_ids, outbox_types
from tests.samples import document_keys, padded_pdf

API = "/api/v1"
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
       b"<script>alert(document.cookie)</script></svg>")
HUGE = "x" * 200_000


@pytest.fixture
def api(app, session_factory, world) -> Api:
    return Api(app.test_client(), session_factory)


@pytest.fixture
def services(settings: Settings, world) -> Iterator[dict[str, Flask]]:
    workflow, reporting = create_workflow_app(settings), create_reporting_app(settings)
    yield {"workflow": workflow, "reporting": reporting}
    for application in (workflow, reporting):
        application.extensions["sakip"].close()


def iku_item(api: Api, world) -> str:
    package = api.package(world.a.cycle_id, world.a.bidang[0], as_="dinas-a.staf1")
    return item_ids(package)["IKU"]


# -- uploads --------------------------------------------------------------------------------------

@pytest.mark.evidence(
    "bad input",
    "Uploaded a Windows executable and an SVG with a script, each named .pdf and sent as "
    "application/pdf, through the intake API.",
    "Both were refused with 415 and a message; no version, object or event was stored.")
@pytest.mark.parametrize("body", [PE, SVG], ids=["pe", "svg-script"])
def test_spoofed_executables_and_scripts_are_refused(api, world, session_factory, object_store,
                                                     body):
    response = api.upload(iku_item(api, world), body, as_="dinas-a.staf1",
                          filename="laporan.pdf")
    assert response.status_code == 415
    assert response.get_json()["error"]["message"]
    assert count(session_factory, DocumentVersion) == 0
    assert outbox_types(session_factory) == Counter()
    assert document_keys(object_store, world.a.tenant_id) == []


HOSTILE_NAMES = {
    "traversal": "../../../etc/passwd.pdf",
    "windows-traversal": "..\\..\\boot.ini.pdf",
    "nul": "laporan\x00.exe.pdf",
    "very-long": "Laporan " + "sangat panjang " * 200 + ".pdf",
    "rtl-override": "laporan\u202eexe.pdf",
}


@pytest.mark.evidence(
    "bad input",
    "Uploaded files named with path traversal, a NUL byte, 3,000 characters and a "
    "right-to-left override through the intake API.",
    "Each was stored under a key of the platform's own making, with a short, plain name ending "
    "in .pdf: no separator, control or bidi character survived.")
@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_hostile_file_names_are_made_harmless(api, world, session_factory, name):
    response = api.upload(iku_item(api, world), padded_pdf(3_000), as_="dinas-a.staf1",
                          filename=name)
    assert response.status_code == 201, response.get_json()
    stored = response.get_json()["filename"]
    assert stored.endswith(".pdf")
    assert len(stored) <= 255
    assert not any(c in stored for c in "/\\\x00\u202e\u202d\u2066\u2067\u2068\u2069")
    assert not stored.startswith(".")
    with session_factory() as session:
        version = session.get_one(DocumentVersion, uuid.UUID(response.get_json()["id"]))
    assert version.object_key.startswith(f"tenants/{world.a.tenant_id}/cycles/")
    assert ".." not in version.object_key
    assert stored not in version.object_key


# -- forms and API bodies -------------------------------------------------------------------------

@pytest.mark.evidence(
    "bad input",
    "Sent upload metadata with a 300-character title, 3,000-character notes, a 200,000-character "
    "title, and years 99999, -1, 2026.5 and 1e400.",
    "Each was refused (422 naming the field; 400 for a field over the form's 64 KB part limit); "
    "nothing was stored.")
@pytest.mark.parametrize(("fields", "status", "field"), [
    ({"title": "x" * 300}, 422, "title"),
    ({"notes": "x" * 3_000}, 422, "notes"),
    ({"title": HUGE}, 400, None),
    ({"year": "99999"}, 422, "year"),
    ({"year": "-1"}, 422, "year"),
    ({"year": "2026.5"}, 422, "year"),
    ({"year": "1e400"}, 422, "year"),
], ids=["long-title", "long-notes", "huge-title", "year-99999", "year-negative",
        "year-fraction", "year-overflow"])
def test_upload_metadata_out_of_bounds_is_refused(api, world, session_factory, fields, status,
                                                  field):
    response = api.upload(iku_item(api, world), padded_pdf(2_000), as_="dinas-a.staf1",
                          **fields)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["message"]
    if field is not None:
        assert error["fields"][field], error
    assert count(session_factory, DocumentVersion) == 0


def as_user(client, session_factory, username: str):
    headers = bearer(session_factory, username)

    def call(method: str, path: str, **kwargs):
        return client.open(API + path, method=method, headers=headers, **kwargs)

    return call


@pytest.mark.evidence(
    "bad input",
    "Asked the workflow API for an extension with an impossible date (30 February), a date "
    "without a time zone, a number for a date, a 200,000-character reason, an unknown field, "
    "no body, broken JSON and a JSON array.",
    "Each was refused with a 4xx naming what was wrong; no extension was granted.")
@pytest.mark.parametrize(("body", "status", "field"), [
    ({"bidang_id": None, "due_at": "2026-02-30T08:00:00+07:00", "reason": "x"}, 422, "due_at"),
    ({"bidang_id": None, "due_at": "2026-04-20T08:00:00", "reason": "x"}, 422, "due_at"),
    ({"bidang_id": None, "due_at": 1776643200, "reason": "x"}, 422, "due_at"),
    ({"bidang_id": None, "due_at": "2026-04-20T08:00:00+07:00", "reason": HUGE}, 422, "reason"),
    ({"bidang_id": "bukan-uuid", "due_at": "2026-04-20T08:00:00+07:00", "reason": "x"}, 422,
     "bidang_id"),
    ({"bidang_id": None, "due_at": "2026-04-20T08:00:00+07:00", "reason": "x", "lagi": 1}, 422,
     "lagi"),
    ({"due_at": "2026-04-20T08:00:00+07:00"}, 422, "reason"),
    (b"{\"reason\": ", 422, None),
    ([{"reason": "x"}], 422, None),
    (None, 422, None),
], ids=["feb-30", "naive", "number", "huge-reason", "bad-uuid", "extra", "missing",
        "broken-json", "array", "no-body"])
def test_extension_requests_of_the_wrong_shape_are_refused(services, world, session_factory,
                                                           body, status, field):
    call = as_user(services["workflow"].test_client(), session_factory, world.a.username("kepala"))
    path = f"/cycles/{world.a.cycle_id}/extensions"
    if isinstance(body, bytes):
        response = call("POST", path, data=body, content_type="application/json")
    elif body is None:
        response = call("POST", path)
    else:
        response = call("POST", path, json=body)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["message"]
    if field is not None:
        assert error["fields"][field], error
    assert count(session_factory, CollectionExtension) == 0


@pytest.mark.evidence(
    "bad input",
    "Asked the workflow API to open a cycle for the years 1999, 2101, 'dua ribu' and 10^30, "
    "and for a template id that does not exist.",
    "The years were refused with 422 on the year field, the unknown template with a 4xx; no "
    "cycle was opened.")
@pytest.mark.parametrize("year", [1999, 2101, "dua ribu", 10**30])
def test_opening_a_cycle_for_an_impossible_year_is_422(services, world, session_factory, year):
    call = as_user(services["workflow"].test_client(), session_factory,
                   world.city_users["organisasi"])
    before = count(session_factory, Cycle)
    response = call("POST", "/cycles", json={"tenant_id": str(world.a.tenant_id), "year": year,
                                             "template_id": str(uuid.uuid4())})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["fields"]["year"]
    unknown = call("POST", "/cycles", json={"tenant_id": str(world.a.tenant_id), "year": 2030,
                                            "template_id": str(uuid.uuid4())})
    assert 400 <= unknown.status_code < 500, unknown.get_json()
    assert count(session_factory, Cycle) == before


@pytest.mark.evidence(
    "bad input",
    "Published an SOP template made of binary garbage, of invalid UTF-8 and of a 2 MB YAML "
    "string through the workflow API.",
    "Each was refused with a 4xx and a message; no template was published.")
@pytest.mark.parametrize("text", [
    bytes(range(256)) * 4,
    b"name: \xff\xfe\xfa tidak utf-8\n",
    b"name: '" + b"a" * 2_000_000 + b"'\n",
], ids=["binary", "not-utf8", "huge"])
def test_garbage_templates_are_refused(services, world, session_factory, text):
    call = as_user(services["workflow"].test_client(), session_factory,
                   world.city_users["admin"])
    before = count(session_factory, SopTemplate)
    response = call("POST", "/templates", data=text, content_type="application/yaml")
    assert 400 <= response.status_code < 500, response.get_json()
    assert response.get_json()["error"]["message"]
    assert count(session_factory, SopTemplate) == before


UNKNOWN = uuid.UUID(int=0x5A)
UNKNOWN_PATHS = [
    ("intake", "GET", f"/cycles/{UNKNOWN}"),
    ("intake", "GET", f"/packages/{UNKNOWN}"),
    ("intake", "GET", f"/versions/{UNKNOWN}"),
    ("intake", "POST", f"/packages/{UNKNOWN}/submit"),
    ("intake", "GET", "/packages/bukan-uuid"),
    ("workflow", "GET", f"/cycles/{UNKNOWN}"),
    ("workflow", "POST", f"/cycles/{UNKNOWN}/steps/1/complete"),
    ("workflow", "POST", f"/cycles/{{cycle}}/steps/{2**70}/complete"),
    ("workflow", "GET", f"/templates/{UNKNOWN}"),
    ("workflow", "GET", "/cycles/bukan-uuid"),
    ("reporting", "GET", f"/rubrics/{UNKNOWN}"),
    ("reporting", "GET", f"/reports/{UNKNOWN}"),
    ("reporting", "GET", f"/reports/{UNKNOWN}/files/exe"),
    ("reporting", "GET", f"/cycles/{UNKNOWN}/evaluation"),
]


@pytest.mark.evidence(
    "bad input",
    "Asked each service for cycles, packages, versions, templates, rubrics and reports by ids "
    "that do not exist, by ids that are not UUIDs and by a step number of 2^70.",
    "Each answered 404 with a JSON error; nothing changed.")
def test_unknown_ids_are_404(app, services, world, session_factory):
    clients = {"intake": app.test_client(), **{name: application.test_client()
                                               for name, application in services.items()}}
    events = outbox_types(session_factory)
    for service, method, path in UNKNOWN_PATHS:
        call = as_user(clients[service], session_factory, world.a.username("kepala"))
        response = call(method, path.format(cycle=world.a.cycle_id),
                        **({"json": {}} if method == "POST" else {}))
        assert response.status_code == 404, (service, path, response.status_code)
        assert response.get_json()["error"]["message"], (service, path)
    assert outbox_types(session_factory) == events


@pytest.mark.evidence(
    "bad input",
    "Sent a NUL character in JSON text fields (an extension reason, a review reason, a new "
    "Bidang's name, a field name) and in an upload's title.",
    "Each was refused with 422 naming the field, before reaching the database; nothing was "
    "stored. (Found by the fuzz run: a NUL once reached PostgreSQL and answered 500.)")
def test_nul_characters_in_text_are_422(api, app, services, world, session_factory):
    workflow = as_user(services["workflow"].test_client(), session_factory,
                       world.a.username("kepala"))
    response = workflow("POST", f"/cycles/{world.a.cycle_id}/extensions", json={
        "bidang_id": None, "due_at": "2026-04-20T08:00:00+07:00", "reason": "tunda\x00"})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["fields"] == {"reason": [NUL_MESSAGE]}
    assert count(session_factory, CollectionExtension) == 0

    intake = as_user(app.test_client(), session_factory, world.a.username("kepala"))
    for body, field in (({"name": "\x00"}, "name"), ({"name": "Bidang X", "\x00": 1}, "\x00")):
        response = intake("POST", f"/admin/tenants/{world.a.tenant_id}/bidang", json=body)
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["error"]["fields"][field] == [NUL_MESSAGE]

    item = iku_item(api, world)
    review = api.post(f"/items/{item}/review", as_="dinas-a.kasubbag",
                      json={"decision": "return", "reason": "kurang\x00"})
    assert review.status_code == 422, review.get_json()
    upload = api.upload(item, padded_pdf(2_000), as_="dinas-a.staf1", title="IKU\x00")
    assert upload.status_code == 422, upload.get_json()
    assert upload.get_json()["error"]["fields"]["title"]
    assert count(session_factory, DocumentVersion) == 0
