"""The rubric files shipped with the platform: the published structure and weights, criteria
from the regulations' annexes (in Indonesian, with their source cited), and consistency rules
that pair each quality or use criterion with a fulfilment criterion."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.reporting.rubric import (
    RUBRICS_DIR,
    RubricDefinition,
    bundled_rubrics,
    load_bundled_rubric,
)

D = Decimal


def weights(definition: RubricDefinition) -> dict[str, tuple[Decimal, list[Decimal]]]:
    return {c.code: (c.weight, [s.weight for s in c.subcomponents])
            for c in definition.components}


def test_both_regulations_ship_and_parse() -> None:
    assert [(r.code, r.version) for r in bundled_rubrics()] == [
        ("permenpanrb-12-2015", 1), ("permenpanrb-88-2021", 1)]


def test_12_2015_has_the_published_components_and_weights() -> None:
    definition = load_bundled_rubric("permenpanrb-12-2015", 1)
    assert [(c.code, c.name) for c in definition.components] == [
        ("A", "Perencanaan Kinerja"), ("B", "Pengukuran Kinerja"), ("C", "Pelaporan Kinerja"),
        ("D", "Evaluasi Internal"), ("E", "Capaian Kinerja")]
    assert weights(definition) == {
        "A": (D(30), [D(2), D(5), D(3), D(4), D(10), D(6)]),  # Renstra 10 + tahunan 20
        "B": (D(25), [D(5), D("12.5"), D("7.5")]),
        "C": (D(15), [D(3), D("7.5"), D("4.5")]),
        "D": (D(10), [D(2), D(5), D(3)]),
        "E": (D(20), [D("7.5"), D("12.5")]),
    }
    groups = [(s.group, s.name) for s in definition.components[0].subcomponents]
    assert groups == [
        ("Perencanaan Strategis", "Pemenuhan Renstra"),
        ("Perencanaan Strategis", "Kualitas Renstra"),
        ("Perencanaan Strategis", "Implementasi Renstra"),
        ("Perencanaan Kinerja Tahunan", "Pemenuhan Perencanaan Kinerja Tahunan"),
        ("Perencanaan Kinerja Tahunan", "Kualitas Perencanaan Kinerja Tahunan"),
        ("Perencanaan Kinerja Tahunan", "Implementasi Perencanaan Kinerja Tahunan")]
    assert [s.name for s in definition.components[4].subcomponents] == [
        "Kinerja yang Dilaporkan (Output)", "Kinerja yang Dilaporkan (Outcome)"]
    assert len(definition.criteria()) == 92
    assert definition.criterion("A.1.a.1").text == "Renstra telah disusun"
    assert definition.criterion("C.a.1").text == "Laporan Kinerja telah disusun"


def test_88_2021_splits_each_component_20_30_50() -> None:
    definition = load_bundled_rubric("permenpanrb-88-2021", 1)
    assert [(c.code, c.name, c.weight) for c in definition.components] == [
        ("1", "Perencanaan Kinerja", D(30)), ("2", "Pengukuran Kinerja", D(30)),
        ("3", "Pelaporan Kinerja", D(15)),
        ("4", "Evaluasi Akuntabilitas Kinerja Internal", D(25))]
    for component in definition.components:
        assert [s.weight / component.weight for s in component.subcomponents] == [
            D("0.2"), D("0.3"), D("0.5")]
        assert [s.group for s in component.subcomponents] == [
            "Pemenuhan", "Kualitas", "Pemanfaatan"]
    assert [len(s.criteria) for c in definition.components for s in c.subcomponents] == [
        6, 11, 8, 3, 7, 10, 6, 9, 7, 3, 5, 5]
    assert definition.criterion("1.a.1").text == "Terdapat pedoman teknis perencanaan kinerja."
    assert definition.components[0].subcomponents[0].name == (
        "Dokumen Perencanaan kinerja telah tersedia")


@pytest.mark.parametrize("definition", bundled_rubrics(), ids=lambda d: d.code)
def test_every_file_uses_the_published_scales_and_bands(definition: RubricDefinition) -> None:
    assert definition.scales == {"YT": {"Y": D(1), "T": D(0)},
                                 "AE": {"A": D(1), "B": D("0.75"), "C": D("0.5"),
                                        "D": D("0.25"), "E": D(0)}}
    assert [(g.grade, g.above) for g in definition.grades] == [
        ("AA", D(90)), ("A", D(80)), ("BB", D(70)), ("B", D(60)), ("CC", D(50)), ("C", D(30)),
        ("D", None)]
    assert sum(c.weight for c in definition.components) == 100


@pytest.mark.parametrize("definition", bundled_rubrics(), ids=lambda d: d.code)
def test_every_file_cites_its_source(definition: RubricDefinition) -> None:
    text = (RUBRICS_DIR / f"{definition.code}.v{definition.version}.yaml").read_text("utf-8")
    header = text.split("\ncode:")[0]
    assert "Lampiran" in header
    assert "https://github.com/" in header
    assert definition.source.startswith("Lampiran PermenPANRB Nomor")
    assert "https://github.com/" in definition.source
    assert definition.regulation.startswith(
        "Peraturan Menteri Pendayagunaan Aparatur Negara dan Reformasi Birokrasi Nomor")


@pytest.mark.parametrize("definition", bundled_rubrics(), ids=lambda d: d.code)
def test_criteria_are_indonesian_sentences_with_unique_codes(
        definition: RubricDefinition) -> None:
    codes = [c.code for c in definition.criteria()]
    assert len(codes) == len(set(codes))
    for comp in definition.components:
        for sub in comp.subcomponents:
            assert sub.code.startswith(comp.code + ".")
            for criterion in sub.criteria:
                assert criterion.code.startswith(sub.code + ".")
                assert len(criterion.text) > 10
                assert "*" not in criterion.text
    every_text = " ".join(c.text for c in definition.criteria()).lower()
    assert "telah" in every_text
    assert "kinerja" in every_text


@pytest.mark.parametrize("definition", bundled_rubrics(), ids=lambda d: d.code)
def test_rules_bound_quality_and_use_by_a_fulfilment_answer(
        definition: RubricDefinition) -> None:
    assert definition.rules
    for rule in definition.rules:
        limited = definition.subcomponent_of(rule.criterion)
        bound = definition.subcomponent_of(rule.not_above)
        assert limited.code != bound.code or definition.code == "permenpanrb-12-2015"
        assert (bound.name.split()[0] in ("Pemenuhan", "Kualitas")
                or bound.group == "Pemenuhan"), rule
