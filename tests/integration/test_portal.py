"""The staff portal end to end through HTTP: real PostgreSQL, Redis and S3, real streaming
uploads, the browser's cookies and forms (Flask's test client), pages in Bahasa Indonesia."""

from __future__ import annotations

import io
import re
import urllib.request
import uuid
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from services.intake.auth import LOGIN_FAILED_MESSAGE, LOGIN_LIMITED_MESSAGE, SESSION_COOKIE
from services.intake.packages import ensure_package
from shared.audit import AuditEntry
from shared.cycles.models import Cycle
from shared.db import transaction
from shared.documents.models import DocumentVersion, Submission, SubmissionItem
from shared.identity.models import LoginSession
from tests.samples import make_pdf
from tests.world import PASSWORD, Dinas

CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
NOT_FOUND = "Halaman atau data tidak ditemukan."
IKU_LABEL = "Indikator Kinerja Utama (IKU)"
RENJA_LABEL = "Rencana Kerja (Renja)"


# -- fixtures and helpers ------------------------------------------------------------------------

@dataclass
class Package:
    id: uuid.UUID
    items: dict[str, uuid.UUID]  # document type -> item id


def package_of(session_factory, dinas: Dinas, bidang_index: int = 0) -> Package:
    with transaction(session_factory) as session:
        cycle = session.get_one(Cycle, dinas.cycle_id)
        package = ensure_package(session, cycle=cycle, bidang_id=dinas.bidang[bidang_index])
        items = session.scalars(select(SubmissionItem)
                                .where(SubmissionItem.submission_id == package.id)).all()
        return Package(id=package.id, items={i.document_type: i.id for i in items})


def csrf_of(page: str) -> str:
    found = CSRF_RE.search(page)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def log_in(app: Flask, username: str, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    token = csrf_of(client.get("/masuk").text)
    response = client.post("/masuk", data={"username": username, "password": password,
                                           "csrf_token": token})
    assert response.status_code == 303, response.text
    return client


def csrf(client: FlaskClient) -> str:
    return csrf_of(client.get("/", follow_redirects=True).text)


def upload_form(data: bytes | None, *, filename: str = "iku.pdf",
                content_type: str = "application/pdf", **fields: str) -> tuple[bytes, str]:
    values: dict[str, object] = {"title": "Dokumen kinerja 2026", "year": "2026",
                                 "notes": "", **fields}
    if data is not None:  # the file goes last, like the portal's form
        values["file"] = FileStorage(io.BytesIO(data), filename=filename,
                                     content_type=content_type)
    boundary, body = encode_multipart(values)
    return body, f"multipart/form-data; boundary={boundary}"


def upload(client: FlaskClient, item_id: uuid.UUID, data: bytes | None, *,
           token: str | None, json: bool = True, query_token: str | None = None,
           **form: str) -> TestResponse:
    body, content_type = upload_form(data, **form)
    headers = {"Accept": "application/json"} if json else {}
    if token is not None:
        headers["X-CSRF-Token"] = token
    url = f"/dokumen/{item_id}/unggah"
    if query_token is not None:
        url += f"?csrf_token={query_token}"
    return client.post(url, data=body, content_type=content_type, headers=headers)


def post(client: FlaskClient, url: str, token: str | None, **data: str) -> TestResponse:
    fields = dict(data)
    if token is not None:
        fields["csrf_token"] = token
    return client.post(url, data=fields)


def versions(session_factory, item_id: uuid.UUID) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(DocumentVersion)
                              .where(DocumentVersion.item_id == item_id)) or 0


def package_state(session_factory, package_id: uuid.UUID) -> str:
    with session_factory() as session:
        return session.get_one(Submission, package_id).state


def audit_rows(session_factory, action: str) -> list[AuditEntry]:
    with session_factory() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def messages(page: str) -> str:
    """The page's flash messages, as text."""
    return " ".join(re.findall(r'<li class="message message-[a-z-]+"[^>]*>([^<]*)</li>', page))


# -- logging in and out ----------------------------------------------------------------------

def test_login_sets_a_hardened_session_cookie_and_follows_a_local_next(app, world, settings):
    client = app.test_client()
    page = client.get("/masuk?next=/dinas/x")
    assert page.status_code == 200
    assert '<html lang="id">' in page.text
    response = client.post("/masuk", data={"username": "dinas-a.kasubbag",
                                           "password": PASSWORD, "next": "/dinas/x",
                                           "csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/dinas/x"
    cookie = next(h for h in response.headers.getlist("Set-Cookie")
                  if h.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    assert f"Max-Age={settings.session_lifetime_seconds}" in cookie
    assert "Secure" not in cookie  # plain HTTP outside production
    dashboard = client.get("/")
    assert "dinas-a.kasubbag" in dashboard.text
    assert "Kasubbag Program" in dashboard.text


def test_cookie_is_secure_over_https(app, world):
    client = app.test_client()
    page = client.get("/masuk", base_url="https://portal.example")
    response = client.post("/masuk", base_url="https://portal.example", data={
        "username": "dinas-a.tim", "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    cookie = next(h for h in response.headers.getlist("Set-Cookie")
                  if h.startswith(f"{SESSION_COOKIE}="))
    assert "Secure" in cookie


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                    "/\r\nSet-Cookie: x=1", "javascript:alert(1)", "paket"])
def test_next_never_leaves_the_site(app, world, target):
    client = app.test_client()
    page = client.get("/masuk")
    response = client.post("/masuk", data={"username": "dinas-a.tim", "password": PASSWORD,
                                           "next": target, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_unknown_user_and_wrong_password_get_the_same_answer_and_are_audited(
        app, world, session_factory):
    client = app.test_client()
    token = csrf_of(client.get("/masuk").text)
    unknown = client.post("/masuk", data={"username": "tidak.ada", "password": PASSWORD,
                                          "csrf_token": token})
    wrong = client.post("/masuk", data={"username": "dinas-a.staf1", "password": "salah-sekali",
                                        "csrf_token": token})
    assert unknown.status_code == wrong.status_code == 401
    assert LOGIN_FAILED_MESSAGE in unknown.text
    assert LOGIN_FAILED_MESSAGE in wrong.text
    assert unknown.text.replace("tidak.ada", "X") == wrong.text.replace("dinas-a.staf1", "X")
    assert SESSION_COOKIE not in (unknown.headers.get("Set-Cookie") or "")
    failed = audit_rows(session_factory, "login.failed")
    assert sorted(r.after["username"] for r in failed) == ["dinas-a.staf1", "tidak.ada"]


def test_five_failures_lock_the_login_for_a_while(app, world):
    client = app.test_client()
    token = csrf_of(client.get("/masuk").text)
    for _ in range(5):
        response = client.post("/masuk", data={"username": "dinas-a.staf1",
                                               "password": "salah-sekali", "csrf_token": token})
        assert response.status_code == 401
    limited = client.post("/masuk", data={"username": "dinas-a.staf1", "password": PASSWORD,
                                          "csrf_token": token})
    assert limited.status_code == 429
    assert LOGIN_LIMITED_MESSAGE in limited.text


def test_logout_revokes_the_server_side_session(app, world, session_factory):
    client = log_in(app, "dinas-a.kasubbag")
    old_cookie = client.get_cookie(SESSION_COOKIE)
    assert old_cookie is not None
    response = post(client, "/keluar", csrf(client))
    assert response.status_code == 303
    assert response.headers["Location"] == "/masuk"
    assert client.get_cookie(SESSION_COOKIE) is None
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(LoginSession)
                              .where(LoginSession.revoked_at.is_not(None))) == 1
    replay = app.test_client()
    replay.set_cookie(SESSION_COOKIE, old_cookie.value)
    page = replay.get(f"/dinas/{world.a.tenant_id}")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/masuk?next=")
    assert audit_rows(session_factory, "logout")


def test_anonymous_visitor_is_sent_to_the_login_page(app, world, session_factory):
    package = package_of(session_factory, world.a)
    response = app.test_client().get(f"/paket/{package.id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/masuk?next=/paket/{package.id}"
    assert "Masuk" in app.test_client().get("/").text


# -- CSRF --------------------------------------------------------------------------------------

def test_writes_without_the_right_csrf_token_are_refused_and_change_nothing(
        app, world, session_factory):
    package = package_of(session_factory, world.a)
    staff = log_in(app, "dinas-a.staf1")
    token = csrf(staff)
    iku = package.items["IKU"]
    for sent in (None, "0" * 64, "é"):
        refused = upload(staff, iku, make_pdf("csrf"), token=sent, json=False)
        assert refused.status_code == 400
        assert "Formulir kedaluwarsa" in refused.text
        assert post(staff, f"/paket/{package.id}/serahkan", sent).status_code == 400
        assert post(staff, "/keluar", sent).status_code == 400
    json_refusal = upload(staff, iku, make_pdf("csrf"), token="0" * 64)
    assert json_refusal.status_code == 400
    assert "Formulir kedaluwarsa" in json_refusal.json["error"]["message"]
    assert versions(session_factory, iku) == 0
    assert package_state(session_factory, package.id) == "draft"
    assert staff.get(f"/paket/{package.id}").status_code == 200  # still signed in
    login_without_token = app.test_client().post("/masuk", data={
        "username": "dinas-a.staf1", "password": PASSWORD})
    assert login_without_token.status_code == 400
    assert upload(staff, iku, make_pdf("ok"), token=token).status_code == 201


def test_login_posted_from_another_site_is_refused(app, world):
    client = app.test_client()
    token = csrf_of(client.get("/masuk").text)
    response = client.post("/masuk", headers={"Sec-Fetch-Site": "cross-site"}, data={
        "username": "dinas-a.tim", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 400
    assert client.get_cookie(SESSION_COOKIE) is None


# -- the Bidang's package ------------------------------------------------------------------------

def test_bidang_staff_lands_on_its_package_in_indonesian(app, world, session_factory):
    package = package_of(session_factory, world.a)
    staff = log_in(app, "dinas-a.staf1")
    home = staff.get("/")
    assert home.status_code == 302
    assert home.headers["Location"] == f"/paket/{package.id}"
    page = staff.get(f"/paket/{package.id}").text
    assert "Bidang 1" in page
    assert "Dinas A" in page
    assert "2026" in page
    assert IKU_LABEL in page
    assert RENJA_LABEL in page
    assert page.count("Belum diunggah") >= 2
    assert "Belum diserahkan" in page
    assert "13 April 2026 pukul 08.00 WIB" in page
    assert "batas waktu terlewati" in page or "waktu kerja" in page
    assert page.count('class="upload-form') == 2
    assert f'action="/dokumen/{package.items["IKU"]}/unggah?csrf_token=' in page
    form = page[page.index('class="upload-form'):]
    form = form[:form.index("</form>")]
    assert form.index('name="title"') < form.index('name="notes"') < form.index('type="file"')
    assert "upload.js" in page
    assert "Serahkan paket" in page
    assert "Terima dokumen" not in page  # no review for the Bidang


def test_upload_through_the_portal_then_an_identical_one(app, world, session_factory):
    package = package_of(session_factory, world.a)
    staff = log_in(app, "dinas-a.staf1")
    token = csrf(staff)
    pdf = make_pdf("Indikator Kinerja Utama Dinas A 2026")
    first = upload(staff, package.items["IKU"], pdf, token=token, title="IKU 2026")
    assert first.status_code == 201, first.text
    assert first.json["version"]["number"] == 1
    assert first.json["version"]["size_bytes"] == len(pdf)
    again = upload(staff, package.items["IKU"], pdf, token=token, title="IKU 2026")
    assert again.status_code == 200
    assert again.json["message"] == ("Berkas yang sama sudah diunggah sebelumnya; "
                                     "tidak ada versi baru.")
    assert again.json["version"]["id"] == first.json["version"]["id"]
    assert versions(session_factory, package.items["IKU"]) == 1
    page = staff.get(f"/paket/{package.id}").text
    assert "Diunggah" in page
    assert "IKU 2026" in page
    assert "iku.pdf" in page
    assert first.json["version"]["sha256"][:12] in page
    assert f"/versi/{first.json['version']['id']}/unduh" in page


def test_upload_without_javascript_redirects_back_with_a_message(app, world, session_factory):
    package = package_of(session_factory, world.a)
    staff = log_in(app, "dinas-a.staf1")
    token = csrf(staff)
    item = package.items["RENJA"]
    done = upload(staff, item, make_pdf("renja"), token=None, query_token=token, json=False,
                  filename="renja.pdf")
    assert done.status_code == 303
    assert done.headers["Location"] == f"/paket/{package.id}#dokumen-{item}"
    shown = messages(staff.get(done.headers["Location"]).text)
    assert "renja.pdf tersimpan sebagai versi 1" in shown
    bad = upload(staff, item, b"<!doctype html><html></html>", token=None, query_token=token,
                 json=False, filename="renja.html", content_type="text/html")
    assert bad.status_code == 303
    assert messages(staff.get(bad.headers["Location"]).text)
    assert versions(session_factory, item) == 1


def test_refused_uploads_answer_json_with_the_servers_message(app, world, session_factory):
    package = package_of(session_factory, world.a)
    staff = log_in(app, "dinas-a.staf1")
    token = csrf(staff)
    item = package.items["IKU"]
    html = upload(staff, item, b"<!doctype html><script>alert(1)</script>", token=token,
                  filename="iku.pdf")
    assert html.status_code == 415
    assert html.json["error"]["message"]
    untitled = upload(staff, item, make_pdf("x"), token=token, title="")
    assert untitled.status_code == 422
    assert untitled.json["error"]["fields"]["title"]
    no_file = upload(staff, item, None, token=token)
    assert no_file.status_code == 422
    assert no_file.json["error"]["fields"]["file"]
    unknown = upload(staff, uuid.uuid4(), make_pdf("x"), token=token)
    assert unknown.status_code == 404
    assert unknown.json["error"]["message"]
    assert versions(session_factory, item) == 0


def test_submitting_an_incomplete_package_lists_what_is_missing(app, world, session_factory):
    package = package_of(session_factory, world.a)
    staff = log_in(app, "dinas-a.staf1")
    token = csrf(staff)
    assert upload(staff, package.items["IKU"], make_pdf("iku"), token=token).status_code == 201
    response = post(staff, f"/paket/{package.id}/serahkan", token)
    assert response.status_code == 303
    shown = messages(staff.get(response.headers["Location"]).text)
    assert "Paket belum lengkap." in shown
    assert f"{RENJA_LABEL}: belum diunggah" in shown
    assert IKU_LABEL not in shown
    assert package_state(session_factory, package.id) == "draft"


def test_the_whole_round_return_replace_resubmit_accept(app, world, session_factory):
    package = package_of(session_factory, world.a)
    iku, renja = package.items["IKU"], package.items["RENJA"]
    staff = log_in(app, "dinas-a.staf1")
    token = csrf(staff)
    assert upload(staff, iku, make_pdf("iku v1"), token=token).status_code == 201
    assert upload(staff, renja, make_pdf("renja v1"), token=token).status_code == 201
    submitted = post(staff, f"/paket/{package.id}/serahkan", token)
    assert "sudah diserahkan" in messages(staff.get(submitted.headers["Location"]).text)
    page = staff.get(f"/paket/{package.id}").text
    assert "Menunggu pemeriksaan" in page
    assert "upload-form" not in page
    assert "Tarik kembali paket" in page
    assert "Serahkan paket" not in page  # nothing left to hand in

    kasubbag = log_in(app, "dinas-a.kasubbag")
    ktoken = csrf(kasubbag)
    listing = kasubbag.get("/").text
    assert "Bidang 1" in listing
    assert "Bidang 2" in listing
    assert "Menunggu pemeriksaan" in listing
    assert "0 dari 2" in listing
    review_page = kasubbag.get(f"/paket/{package.id}").text
    assert review_page.count("Terima dokumen") == 2
    assert "upload-form" not in review_page
    no_reason = post(kasubbag, f"/dokumen/{renja}/periksa", ktoken, decision="return", reason=" ")
    assert "Alasan pengembalian wajib diisi." in messages(
        kasubbag.get(no_reason.headers["Location"]).text)
    returned = post(kasubbag, f"/dokumen/{renja}/periksa", ktoken, decision="return",
                    reason="Tabel target 2026 belum diisi.\nLengkapi lalu unggah ulang.")
    assert returned.status_code == 303

    # Renja is back with the Bidang while IKU is still being reviewed.
    page = staff.get(f"/paket/{package.id}").text
    assert "Dikembalikan" in page
    assert "Tabel target 2026 belum diisi.\nLengkapi lalu unggah ulang." in page
    assert page.count('class="upload-form') == 1  # only the returned one can be replaced
    assert f"/dokumen/{renja}/unggah" in page
    assert f"/dokumen/{iku}/unggah" not in page
    assert upload(staff, iku, make_pdf("iku v2"), token=token).status_code == 409
    replaced = upload(staff, renja, make_pdf("renja v2"), token=token, title="Renja revisi")
    assert replaced.status_code == 201
    assert replaced.json["version"]["number"] == 2
    resubmitted = post(staff, f"/paket/{package.id}/serahkan", token)
    assert resubmitted.status_code == 303
    assert package_state(session_factory, package.id) == "submitted"
    assert "Tabel target" not in staff.get(f"/paket/{package.id}").text

    for item in (iku, renja):
        accepted = post(kasubbag, f"/dokumen/{item}/periksa", ktoken, decision="accept")
        assert accepted.status_code == 303
        assert "Dokumen diterima." in messages(kasubbag.get(accepted.headers["Location"]).text)
    final = staff.get(f"/paket/{package.id}").text
    assert '<span class="state state-accepted" id="package-state">Diterima</span>' in final
    assert "upload-form" not in final
    assert "Serahkan paket" not in final
    assert "Tarik kembali paket" not in final
    assert "2 dari 2" in kasubbag.get("/").text


def test_withdraw_before_review(app, world, session_factory):
    package = package_of(session_factory, world.a)
    staff = log_in(app, "dinas-a.staf1")
    token = csrf(staff)
    for code, item in package.items.items():
        assert upload(staff, item, make_pdf(code), token=token).status_code == 201
    post(staff, f"/paket/{package.id}/serahkan", token)
    assert package_state(session_factory, package.id) == "submitted"
    withdrawn = post(staff, f"/paket/{package.id}/tarik", token)
    assert "ditarik kembali" in messages(staff.get(withdrawn.headers["Location"]).text)
    assert package_state(session_factory, package.id) == "draft"
    again = post(staff, f"/paket/{package.id}/tarik", token)
    assert "Hanya paket yang sedang menunggu pemeriksaan" in messages(
        staff.get(again.headers["Location"]).text)


def test_download_redirects_to_a_presigned_url_and_is_audited(app, world, session_factory):
    package = package_of(session_factory, world.a)
    staff = log_in(app, "dinas-a.staf1")
    pdf = make_pdf("unduh saya")
    version_id = upload(staff, package.items["IKU"], pdf, token=csrf(staff),
                        filename="IKU final.pdf").json["version"]["id"]
    reader = log_in(app, "kota.inspektur")
    response = reader.get(f"/versi/{version_id}/unduh")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "X-Amz-Signature=" in location
    assert "X-Amz-Expires=300" in location
    with urllib.request.urlopen(location, timeout=10) as fetched:  # noqa: S310 - our test S3
        assert fetched.read() == pdf
        assert "IKU%20final.pdf" in fetched.headers["Content-Disposition"]
    rows = audit_rows(session_factory, "document.downloaded")
    assert len(rows) == 1
    assert rows[0].target_id == version_id
    assert rows[0].tenant_id == world.a.tenant_id
    assert rows[0].actor_user_id == world.city["inspektur"].user_id
    assert rows[0].service == "intake"


# -- who sees and does what ----------------------------------------------------------------------

def test_another_dinas_is_invisible(app, world, session_factory):
    theirs = package_of(session_factory, world.b)
    b_staff = log_in(app, "dinas-b.staf1")
    b_token = csrf(b_staff)
    version_id = upload(b_staff, theirs.items["IKU"], make_pdf("dinas b"),
                        token=b_token).json["version"]["id"]
    upload(b_staff, theirs.items["RENJA"], make_pdf("dinas b renja"), token=b_token)
    post(b_staff, f"/paket/{theirs.id}/serahkan", b_token)
    assert package_state(session_factory, theirs.id) == "submitted"
    for username in ("dinas-a.staf1", "dinas-a.kasubbag"):
        client = log_in(app, username)
        token = csrf(client)
        for response in (
            client.get(f"/paket/{theirs.id}"),
            client.get(f"/dinas/{world.b.tenant_id}"),
            client.get(f"/versi/{version_id}/unduh"),
            upload(client, theirs.items["RENJA"], make_pdf("a"), token=token, json=False),
            post(client, f"/dokumen/{theirs.items['IKU']}/periksa", token, decision="accept"),
            post(client, f"/paket/{theirs.id}/serahkan", token),
            post(client, f"/paket/{theirs.id}/tarik", token),
        ):
            assert response.status_code == 404, (username, response.request.path)
            assert NOT_FOUND in response.text
            assert "Dinas B" not in response.text
        assert upload(client, theirs.items["RENJA"], make_pdf("a"), token=token).status_code == 404
    assert versions(session_factory, theirs.items["RENJA"]) == 1
    assert package_state(session_factory, theirs.id) == "submitted"
    assert not audit_rows(session_factory, "document.downloaded")


def test_staff_cannot_reach_the_other_bidangs_package(app, world, session_factory):
    other = package_of(session_factory, world.a, bidang_index=1)
    staff = log_in(app, "dinas-a.staf1")
    token = csrf(staff)
    assert staff.get(f"/paket/{other.id}").status_code == 404
    assert upload(staff, other.items["IKU"], make_pdf("x"), token=token).status_code == 404
    assert post(staff, f"/paket/{other.id}/serahkan", token).status_code == 404
    assert versions(session_factory, other.items["IKU"]) == 0


@pytest.mark.parametrize("username", ["dinas-a.tim", "dinas-a.kepala"])
def test_evaluation_team_and_head_read_but_do_not_act(app, world, session_factory, username):
    package = package_of(session_factory, world.a)
    staff = log_in(app, "dinas-a.staf1")
    stoken = csrf(staff)
    for code, item in package.items.items():
        upload(staff, item, make_pdf(code), token=stoken)
    post(staff, f"/paket/{package.id}/serahkan", stoken)
    reader = log_in(app, username)
    token = csrf(reader)
    listing = reader.get("/").text
    assert "Bidang 1" in listing
    assert "Bidang 2" in listing
    page = reader.get(f"/paket/{package.id}")
    assert page.status_code == 200
    assert IKU_LABEL in page.text
    assert "upload-form" not in page.text
    assert "Terima dokumen" not in page.text
    assert "Serahkan paket" not in page.text
    iku = package.items["IKU"]
    review = post(reader, f"/dokumen/{iku}/periksa", token, decision="accept")
    assert review.status_code == 403
    assert "Hanya Kasubbag Program yang dapat memeriksa dokumen." in review.text
    assert post(reader, f"/paket/{package.id}/tarik", token).status_code == 403
    assert post(reader, f"/paket/{package.id}/serahkan", token).status_code == 403
    assert upload(reader, package.items["RENJA"], make_pdf("x"), token=token).status_code == 403
    assert package_state(session_factory, package.id) == "submitted"


def test_city_readers_see_every_dinas_read_only(app, world, session_factory):
    package = package_of(session_factory, world.b)
    for username in ("kota.inspektur", "kota.organisasi"):
        reader = log_in(app, username)
        home = reader.get("/").text
        assert "Dinas A" in home
        assert "Dinas B" in home
        assert f"/dinas/{world.a.tenant_id}" in home
        assert f"/dinas/{world.b.tenant_id}" in home
        listing = reader.get(f"/dinas/{world.b.tenant_id}").text
        assert "Bidang 1" in listing
        assert "Bidang 2" in listing
        assert "Belum diserahkan" in listing
        page = reader.get(f"/paket/{package.id}").text
        assert "13 April 2026 pukul 08.00 WIB" in page
        assert "upload-form" not in page
        token = csrf(reader)
        assert post(reader, f"/paket/{package.id}/serahkan", token).status_code == 403


def test_platform_admin_sees_no_tenant_documents(app, world, session_factory):
    package = package_of(session_factory, world.a)
    admin = log_in(app, "kota.admin")
    home = admin.get("/").text
    assert "Administrator Platform" in home
    assert "tidak" in home
    assert "Dinas A" not in home
    assert admin.get(f"/paket/{package.id}").status_code == 404
    assert admin.get(f"/dinas/{world.a.tenant_id}").status_code == 404


# -- pages are safe ------------------------------------------------------------------------------

def test_stored_markup_is_shown_as_text(app, world, session_factory):
    package = package_of(session_factory, world.a)
    staff = log_in(app, "dinas-a.staf1")
    token = csrf(staff)
    upload(staff, package.items["IKU"], make_pdf("xss"), token=token,
           title="<script>alert(1)</script>", notes='"><img src=x onerror=alert(2)>')
    upload(staff, package.items["RENJA"], make_pdf("xss2"), token=token)
    post(staff, f"/paket/{package.id}/serahkan", token)
    kasubbag = log_in(app, "dinas-a.kasubbag")
    post(kasubbag, f"/dokumen/{package.items['IKU']}/periksa", csrf(kasubbag),
         decision="return", reason="<b>Salah</b><script>alert(3)</script>")
    for client in (staff, kasubbag):
        page = client.get(f"/paket/{package.id}").text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "&lt;b&gt;Salah&lt;/b&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in page
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in page


def test_security_headers_and_no_inline_script_or_style(app, world, session_factory):
    package = package_of(session_factory, world.a)
    staff = log_in(app, "dinas-a.staf1")
    for response in (app.test_client().get("/masuk"), staff.get(f"/paket/{package.id}"),
                     staff.get("/paket/bukan-uuid"), app.test_client().get("/healthz")):
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
    page = staff.get(f"/paket/{package.id}")
    assert page.headers["Cache-Control"] == "no-store"
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)
    assert " style=" not in page.text
    assert "<style" not in page.text
    assert not re.search(r"\son[a-z]+=", page.text)
    for asset, kind in (("portal.css", "text/css"), ("upload.js", "text/javascript")):
        served = app.test_client().get(f"/portal-static/{asset}")
        assert served.status_code == 200
        assert served.mimetype == kind
        served.close()


def test_portal_errors_are_pages_and_the_rest_stays_json(app, world):
    staff = log_in(app, "dinas-a.staf1")
    for path in (f"/paket/{uuid.uuid4()}", "/paket/bukan-uuid", f"/versi/{uuid.uuid4()}/unduh"):
        response = staff.get(path)
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        assert NOT_FOUND in response.text
        assert '<html lang="id">' in response.text
    assert staff.get("/tidak-ada").json["error"]["message"] == "Data yang dicari tidak ditemukan."
