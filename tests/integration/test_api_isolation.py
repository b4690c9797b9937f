"""Bidang isolation and the role rules of the intake API inside one dinas and at city level.
The tenant matrix over every route (dinas A's users with dinas B's ids: 404, nothing changed)
is tests/security/test_isolation_matrix.py, built on `prepare` and `BODIES` here."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shared.audit import AuditEntry
from shared.documents.models import DocumentVersion, Submission, SubmissionItem
from shared.events.models import OutboxEvent
from tests.integration.test_api import Api, item_ids, upload_form
from tests.samples import padded_pdf

API = "/api/v1"
# A body each write would accept if the object were the caller's, so that only the scope
# can refuse it (an endpoint not listed here is called without a body).
BODIES = {
    "api.upload_version": lambda: upload_form(padded_pdf(3_000, seed=77)),
    "api.review_item": lambda: {"json": {"decision": "return", "reason": "Coba-coba."}},
    "api.upload_cycle_document": lambda: upload_form(padded_pdf(3_000, seed=78), title=None,
                                                     year=None, notes=None),
}


@pytest.fixture
def api(app, session_factory, world):
    return Api(app.test_client(), session_factory)


def prepare(api: Api, dinas) -> dict[str, str]:
    """Dinas's Bidang 1 package, uploaded complete and submitted: ids for every parameter."""
    staff = dinas.username("staf1")
    package = api.package(dinas.cycle_id, dinas.bidang[0], as_=staff)
    versions = []
    for n, item_id in enumerate(item_ids(package).values()):
        response = api.upload(item_id, padded_pdf(4_000, seed=n), as_=staff)
        assert response.status_code == 201, response.get_json()
        versions.append(response.get_json()["id"])
    assert api.post(f"/packages/{package['id']}/submit", as_=staff).status_code == 200
    documents = api.get(f"/cycles/{dinas.cycle_id}/documents", as_=dinas.username("kepala"))
    sk = next(d for d in documents.get_json()["documents"] if d["kind"] == "SK_TIM_EVALUASI")
    return {"cycle_id": str(dinas.cycle_id), "package_id": package["id"],
            "item_id": item_ids(package)["IKU"], "version_id": versions[0],
            "kind": sk["kind"], "document_id": sk["id"]}


def snapshot(session_factory, object_store, dinas) -> tuple:
    """Everything of `dinas` a leaked write could change."""
    with session_factory() as session:
        def n(model, *where):
            return session.scalar(select(func.count()).select_from(model).where(*where))

        return (
            n(OutboxEvent),
            n(AuditEntry, AuditEntry.tenant_id == dinas.tenant_id),
            n(Submission, Submission.tenant_id == dinas.tenant_id),
            n(DocumentVersion, DocumentVersion.tenant_id == dinas.tenant_id),
            sorted(session.execute(select(Submission.id, Submission.state, Submission.submitted_at)
                                   .where(Submission.tenant_id == dinas.tenant_id)).all()),
            sorted(session.execute(select(SubmissionItem.id, SubmissionItem.state,
                                          SubmissionItem.return_reason)
                                   .where(SubmissionItem.tenant_id == dinas.tenant_id)).all()),
            sorted(object_store.keys(f"tenants/{dinas.tenant_id}/")),
        )


@pytest.mark.evidence(
    "isolation",
    "A bidang_staff read, downloaded, uploaded to and withdrew the package of another Bidang "
    "of the same dinas.",
    "Each answered 404, the listing showed only the staff's own Bidang, nothing changed.")
def test_bidang_staff_see_only_their_own_bidang(api, world, session_factory, object_store):
    own = prepare(api, world.a)  # Bidang 1 of dinas A
    other = "dinas-a.staf2"  # Bidang 2
    before = snapshot(session_factory, object_store, world.a)
    for path in (f"/packages/{own['package_id']}", f"/versions/{own['version_id']}",
                 f"/versions/{own['version_id']}/download"):
        assert api.get(path, as_=other).status_code == 404, path
    assert api.upload(own["item_id"], padded_pdf(3_000, seed=5), as_=other).status_code == 404
    assert api.post(f"/packages/{own['package_id']}/withdraw", as_=other).status_code == 404
    listed = api.get(f"/cycles/{world.a.cycle_id}/packages", as_=other).get_json()["packages"]
    assert [p["bidang_id"] for p in listed] == [str(world.a.bidang[1])]
    assert snapshot(session_factory, object_store, world.a)[1:] == before[1:]


@pytest.mark.evidence(
    "security",
    "The tim_evaluasi reviewed, submitted and withdrew a package of its dinas.",
    "It reads the package but each write answered 403 with a message; nothing changed.")
def test_tim_evaluasi_reads_but_may_not_review_or_submit(api, world, session_factory,
                                                         object_store):
    own = prepare(api, world.a)
    tim = "dinas-a.tim"
    assert api.get(f"/packages/{own['package_id']}", as_=tim).status_code == 200
    assert api.get(f"/versions/{own['version_id']}", as_=tim).status_code == 200
    before = snapshot(session_factory, object_store, world.a)
    review = api.post(f"/items/{own['item_id']}/review", as_=tim, json={"decision": "accept"})
    assert review.status_code == 403
    assert review.get_json()["error"]["message"]
    assert api.post(f"/packages/{own['package_id']}/submit", as_=tim).status_code == 403
    assert api.post(f"/packages/{own['package_id']}/withdraw", as_=tim).status_code == 403
    assert snapshot(session_factory, object_store, world.a) == before


@pytest.mark.evidence(
    "security",
    "The inspektur reviewed, withdrew, submitted and uploaded in a dinas.",
    "It reads every dinas, every write answered 403 and nothing changed.")
def test_inspektur_reads_every_dinas_but_writes_nothing(api, world, session_factory,
                                                        object_store):
    a, b = prepare(api, world.a), prepare(api, world.b)
    inspektur = "kota.inspektur"
    for ids in (a, b):
        assert api.get(f"/packages/{ids['package_id']}", as_=inspektur).status_code == 200
        assert api.get(f"/versions/{ids['version_id']}", as_=inspektur).status_code == 200
        packages = api.get(f"/cycles/{ids['cycle_id']}/packages", as_=inspektur).get_json()
        assert len(packages["packages"]) == 2
    before = snapshot(session_factory, object_store, world.a)
    writes = [
        api.post(f"/items/{a['item_id']}/review", as_=inspektur, json={"decision": "accept"}),
        api.post(f"/packages/{a['package_id']}/withdraw", as_=inspektur),
        api.post(f"/packages/{a['package_id']}/submit", as_=inspektur),
        api.upload(a["item_id"], padded_pdf(3_000, seed=6), as_=inspektur),
    ]
    assert [w.status_code for w in writes] == [403] * 4
    assert snapshot(session_factory, object_store, world.a) == before


@pytest.mark.evidence(
    "isolation",
    "The platform admin read the cycles, packages, versions and downloads of a dinas.",
    "Each answered 404 (the cycle list is empty): the platform admin sees no documents.")
def test_platform_admin_reads_no_tenant_documents(api, world, session_factory, object_store):
    a = prepare(api, world.a)
    admin = "kota.admin"
    assert api.get("/cycles", as_=admin).get_json() == {"cycles": []}
    for path in (f"/cycles/{a['cycle_id']}", f"/cycles/{a['cycle_id']}/packages",
                 f"/packages/{a['package_id']}", f"/versions/{a['version_id']}",
                 f"/versions/{a['version_id']}/download"):
        assert api.get(path, as_=admin).status_code == 404, path
    assert api.post(f"/items/{a['item_id']}/review", as_=admin,
                    json={"decision": "accept"}).status_code == 404
