"""The SOP template file format: the seed SOP ships faithfully, and bad files are refused with
the line and the field of each problem."""

from __future__ import annotations

import pytest
import yaml

from shared.calendar import DurationUnit
from shared.identity.roles import Role
from shared.sop.template import (
    TEMPLATES_DIR,
    TemplateError,
    load_shipped_template,
    parse_template,
    shipped_templates,
)

SEED = ("pengumpulan-data-kinerja", 1)


def seed_text() -> str:
    return (TEMPLATES_DIR / "pengumpulan-data-kinerja.v1.yaml").read_text(encoding="utf-8")


def test_the_seed_sop_ships_with_its_six_steps_and_their_times():
    template = load_shipped_template(*SEED)
    assert [(s.number, s.duration.amount, s.duration.unit) for s in template.steps] == [
        (1, 1, DurationUnit.WORKING_HOURS),  # 1 jam
        (2, 1, DurationUnit.WORKING_DAYS),  # 1 hari
        (3, 1, DurationUnit.WORKING_DAYS),  # 1 hari
        (4, 1, DurationUnit.WORKING_HOURS),  # 1 jam
        (5, 5, DurationUnit.WORKING_DAYS),  # 5 hari
        (6, 3, DurationUnit.WORKING_DAYS),  # 3 hari
    ]
    assert [s.guard["kind"] for s in template.steps] == [
        "confirmation", "document_uploaded", "document_list_and_guideline", "notice_sent",
        "all_packages_accepted", "report_approved"]
    assert template.step(1).guard["by"] == Role.KEPALA_DINAS
    assert template.step(2).guard["document"] == "SK_TIM_EVALUASI"
    assert template.step(5).actors == (Role.BIDANG_STAFF, Role.KASUBBAG_PROGRAM)


def test_the_seed_sop_keeps_its_header():
    header = load_shipped_template(*SEED).header
    assert header["number"] == "Perwali SOP Nomor 104 Tahun 2020"
    assert header["created_on"].isoformat() == header["effective_on"].isoformat() == "2020-03-04"
    assert header["revised_on"] is None
    assert len(header["legal_basis"]) == 5
    assert header["records"] == ["Laporan hasil evaluasi SAKIP internal"]
    assert "SK tim evaluasi SAKIP internal" in header["equipment"]
    assert header["warning"].startswith("Implementasi SAKIP akan terkendala")


def test_every_shipped_template_parses():
    assert {(t.code, t.version) for t in shipped_templates()} >= {SEED}


def _edited(change) -> str:  # type: ignore[no-untyped-def]
    document = yaml.safe_load(seed_text())
    change(document)
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def test_an_unknown_duration_unit_names_its_line_and_field():
    text = seed_text().replace("duration: {amount: 5, unit: working_days}",
                               "duration: {amount: 5, unit: fortnights}")
    with pytest.raises(TemplateError) as caught:
        parse_template(text, source="variant.yaml")
    message = str(caught.value)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "fortnights" in row)
    assert f"variant.yaml:baris {line}: steps.4.duration.unit" in message


def test_steps_out_of_order_and_missing_fields_are_all_reported():
    def change(document):  # type: ignore[no-untyped-def]
        document["steps"][0]["number"] = 2
        del document["steps"][1]["guard"]
        del document["header"]["number"]

    with pytest.raises(TemplateError) as caught:
        parse_template(_edited(change))
    message = str(caught.value)
    assert "steps: steps must be numbered 1, 2, 3" in message
    assert "steps.1.guard" in message
    assert "header.number" in message


def test_a_guard_without_what_it_needs_is_refused():
    def change(document):  # type: ignore[no-untyped-def]
        del document["steps"][1]["guard"]["document"]
        document["steps"][0]["guard"] = {"kind": "confirmation"}

    with pytest.raises(TemplateError) as caught:
        parse_template(_edited(change))
    assert "steps.1.guard.document" in str(caught.value)
    assert "steps.0.guard.by" in str(caught.value)


def test_malformed_yaml_is_refused_with_its_position():
    with pytest.raises(TemplateError, match="not valid YAML"):
        parse_template("code: [unclosed\nsteps: {")


def test_a_tenant_variant_is_its_own_version():
    variant = parse_template(_edited(lambda d: d.update(
        version=2, deadlines={**d["deadlines"], "refuse_submissions_after_deadline": False})))
    assert (variant.code, variant.version) == (SEED[0], 2)
    assert variant.deadlines["refuse_submissions_after_deadline"] is False
