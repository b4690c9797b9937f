"""LKE scoring, checked against totals computed by hand: sub-component = mean of its answers x its
weight (unanswered counts 0), component = sum, total = sum, everything exact until one half-up
rounding to 2 places, and the total rounded BEFORE grading (90.00 is A, 90.01 is AA).

The band-edge answer sets are written as "quarter steps lost" per sub-component: from the best
answers (Y, A), each step moves one A-E answer one letter down (A->B is 0.25 of a criterion), a
Y->T costs 4 steps. A sub-component of weight w and n criteria loses w x q / (4 x n) for q steps;
each case below shows that sum, worked out by hand.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

import pytest
import yaml

from shared.reporting.rubric import (
    RUBRICS_DIR,
    GradeBand,
    RubricDefinition,
    RubricError,
    answer_problems,
    canonical_decimal,
    grade_for,
    load_bundled_rubric,
    parse_rubric,
    round_half_up,
    rubric_from_dict,
    score,
    unanswered,
)

D = Decimal
P12 = ("permenpanrb-12-2015", 1)
P88 = ("permenpanrb-88-2021", 1)


@cache
def rubric(which: tuple[str, int]) -> RubricDefinition:
    return load_bundled_rubric(*which)


def best(definition: RubricDefinition) -> dict[str, str | None]:
    return {c.code: "Y" if c.scale == "YT" else "A" for c in definition.criteria()}


def worst(definition: RubricDefinition) -> dict[str, str | None]:
    return {c.code: "T" if c.scale == "YT" else "E" for c in definition.criteria()}


def losing(definition: RubricDefinition, steps: dict[str, int]) -> dict[str, str | None]:
    """The best answers, minus `steps` quarter steps in each named sub-component (Y->T first,
    4 steps each, then A-E answers one letter per step)."""
    answers = best(definition)
    for comp in definition.components:
        for sub in comp.subcomponents:
            left = steps.get(sub.code, 0)
            for criterion in sub.criteria:
                if criterion.scale == "YT" and left >= 4:
                    answers[criterion.code], left = "T", left - 4
            for criterion in sub.criteria:
                if criterion.scale == "AE" and left:
                    taken = min(4, left)
                    answers[criterion.code], left = "ABCDE"[taken], left - taken
            assert left == 0, f"{sub.code} cannot lose {steps[sub.code]} steps"
    return answers


# -- rounding and banding ---------------------------------------------------------------------

@pytest.mark.parametrize(("value", "rounded"), [
    ("0.125", "0.13"),  # half-even would give 0.12
    ("2.345", "2.35"),  # half-even would give 2.34
    ("87.125", "87.13"),
    ("90.004", "90.00"),
    ("90.005", "90.01"),
    ("89.994999", "89.99"),
    ("0", "0.00"),
    ("100", "100.00"),
])
def test_round_half_up_to_two_places(value: str, rounded: str) -> None:
    result = round_half_up(D(value))
    assert result == D(rounded)
    assert str(result) == rounded


@pytest.mark.parametrize(("total", "grade"), [
    ("100", "AA"), ("90.01", "AA"), ("90.005", "AA"), ("90.00", "A"), ("90.004", "A"),
    ("80.01", "A"), ("80.00", "BB"),
    ("70.01", "BB"), ("70.00", "B"),
    ("60.01", "B"), ("60.00", "CC"),
    ("50.01", "CC"), ("50.00", "C"),
    ("30.01", "C"), ("30.00", "D"), ("30.004", "D"),
    ("0", "D"), ("0.00", "D"),
])
def test_grade_for_every_band_edge(total: str, grade: str) -> None:
    for which in (P12, P88):
        definition = rubric(which)
        assert grade_for(definition.grades, D(total)).grade == grade
        assert definition.grade_for(D(total)).grade == grade


def test_the_band_labels_are_the_published_ones() -> None:
    assert [(g.grade, g.above, g.label) for g in rubric(P12).grades] == [
        ("AA", D(90), "Sangat Memuaskan"), ("A", D(80), "Memuaskan"),
        ("BB", D(70), "Sangat Baik"), ("B", D(60), "Baik"), ("CC", D(50), "Cukup"),
        ("C", D(30), "Kurang"), ("D", None, "Sangat Kurang")]
    assert rubric(P88).grades == rubric(P12).grades


# -- hand-computed totals -----------------------------------------------------------------------

def test_best_and_worst_answers_score_100_and_0() -> None:
    for which in (P12, P88):
        definition = rubric(which)
        top = score(definition, best(definition))
        assert (top.total, top.grade.grade, top.complete) == (D("100.00"), "AA", True)
        assert [c.score for c in top.components] == [c.weight for c in definition.components]
        bottom = score(definition, worst(definition))
        assert (bottom.total, bottom.grade.grade, bottom.complete) == (D("0.00"), "D", True)


def test_12_2015_mixed_answers_by_hand() -> None:
    definition = rubric(P12)
    answers = best(definition)
    answers["A.1.a.9"] = "T"  # A.1.a (w 2, 9 criteria): 2 x 8/9 = 1.7777... -> 1.78
    answers["B.b.1"], answers["B.b.2"] = "B", "C"  # B.b (12.5, 10): 12.5 x 9.25/10 = 11.5625
    answers["E.b.1"] = "D"  # E.b (12.5, 3): 12.5 x 2.25/3 = 9.375 -> 9.38
    answers["C.c.2"] = answers["C.c.3"] = answers["C.c.4"] = "E"  # C.c (4.5, 4): 4.5/4 = 1.125
    result = score(definition, answers)
    subs = {p.code: p for c in result.components for p in c.parts}
    assert subs["A.1.a"].score == D("1.78")
    assert subs["B.b"].score == D("11.56")
    assert subs["E.b"].score == D("9.38")
    assert subs["C.c"].score == D("1.13")  # 1.125 half-up (half-even: 1.12)
    comps = {c.code: c.score for c in result.components}
    # A = 1.7777... + 5 + 3 + 20 = 29.7777... ; B = 5 + 11.5625 + 7.5 = 24.0625
    # C = 3 + 7.5 + 1.125 = 11.625 ; D = 10 ; E = 7.5 + 9.375 = 16.875
    assert comps == {"A": D("29.78"), "B": D("24.06"), "C": D("11.63"), "D": D("10.00"),
                     "E": D("16.88")}
    # total = 29.7777... + 24.0625 + 11.625 + 10 + 16.875 = 92.3402777... -> 92.34, AA
    assert (result.total, result.grade.grade) == (D("92.34"), "AA")
    assert (result.answered, result.criteria, result.complete) == (92, 92, True)


def test_88_2021_mixed_answers_by_hand() -> None:
    definition = rubric(P88)
    answers = best(definition)
    answers["1.a.2"] = "T"  # 1.a (w 6, 6 criteria): 6 x 5/6 = 5
    answers["1.b.1"], answers["1.b.2"] = "B", "C"  # 1.b (9, 11): 9 x 10.25/11 = 8.386363...
    for n in range(1, 8):
        answers[f"3.c.{n}"] = "C"  # 3.c (7.5, 7): 7.5 x 3.5/7 = 3.75
    answers["4.c.1"] = "D"  # 4.c (12.5, 5): 12.5 x 4.25/5 = 10.625 -> 10.63
    result = score(definition, answers)
    subs = {p.code: p.score for c in result.components for p in c.parts}
    assert (subs["1.a"], subs["1.b"], subs["3.c"], subs["4.c"]) == (
        D("5.00"), D("8.39"), D("3.75"), D("10.63"))
    comps = {c.code: c.score for c in result.components}
    # 1 = 5 + 8.386363... + 15 = 28.386363... ; 2 = 30 ; 3 = 3 + 4.5 + 3.75 = 11.25
    # 4 = 5 + 7.5 + 10.625 = 23.125 -> 23.13
    assert comps == {"1": D("28.39"), "2": D("30.00"), "3": D("11.25"), "4": D("23.13")}
    # total = 28.386363... + 30 + 11.25 + 23.125 = 92.761363... -> 92.76
    assert (result.total, result.grade.grade) == (D("92.76"), "AA")


def test_a_total_exactly_on_half_a_cent_rounds_up() -> None:
    definition = rubric(P12)
    answers = best(definition)
    answers["C.c.2"] = answers["C.c.3"] = answers["C.c.4"] = "E"  # C.c: 4.5 x 1/4 = 1.125
    # total = 100 - 4.5 + 1.125 = 96.625 -> 96.63 (half-even would give 96.62)
    assert score(definition, answers).total == D("96.63")


def test_unanswered_criteria_count_zero_and_leave_the_score_incomplete() -> None:
    definition = rubric(P12)
    result = score(definition, {"A.1.a.1": "Y", "A.1.a.2": None})
    # A.1.a: 2 x 1/9 = 0.2222... ; nothing else
    assert (result.total, result.grade.grade) == (D("0.22"), "D")
    assert (result.answered, result.criteria, result.complete) == (1, 92, False)
    a1a = result.components[0].parts[0]
    assert (a1a.code, a1a.group, a1a.answered, a1a.criteria) == ("A.1.a", "Perencanaan Strategis",
                                                                  1, 9)
    assert unanswered(definition, {"A.1.a.1": "Y"})[:2] == ["A.1.a.2", "A.1.a.3"]
    assert len(unanswered(definition, {})) == 92
    assert unanswered(definition, best(definition)) == []
    empty = score(definition, {})
    assert (empty.total, empty.grade.grade, empty.answered) == (D("0.00"), "D", 0)


def test_an_answer_outside_its_scale_counts_as_unanswered() -> None:
    definition = rubric(P12)
    answers = best(definition)
    answers["A.1.a.1"] = "A"  # a Y/T criterion
    result = score(definition, answers)
    assert result.answered == 91
    assert "A.1.a.1" in unanswered(definition, answers)


# Band edges hit by real answer sets. Each line: {sub-component: quarter steps lost}, then the
# hand computation of the loss (w x q / (4n) per sub-component) and the total it leaves.
EDGES_12_2015 = [
    # A.2.b (w 10, n 10): 10 x 40/40 = 10 -> 90
    ("90.00", "A", {"A.2.b": 40}),
    # A.2.c (6, 5): 6 x 19/20 = 5.7 ; C.b (7.5, 7): 7.5 x 16/28 = 4.285714... ;
    # 100 - 9.985714... = 90.014285... -> 90.01
    ("90.01", "AA", {"A.2.c": 19, "C.b": 16}),
    # A.2.b: 10 x 30/40 = 7.5 ; B.b (12.5, 10): 12.5 -> 100 - 20 = 80
    ("80.00", "BB", {"A.2.b": 30, "B.b": 40}),
    # A.2.c: 5.7 ; B.b: 12.5 x 26/40 = 8.125 ; C.b: 7.5 x 23/28 = 6.160714... ;
    # 100 - 19.985714... = 80.014285... -> 80.01
    ("80.01", "A", {"A.2.c": 19, "B.b": 26, "C.b": 23}),
    # A.2.b: 10 ; B.b: 12.5 ; B.c (7.5, 6): 7.5 -> 70
    ("70.00", "B", {"A.2.b": 40, "B.b": 40, "B.c": 24}),
    # B.b: 12.5 x 37/40 = 11.5625 ; C.b: 7.5 x 26/28 = 6.964285... ;
    # E.b (12.5, 3): 12.5 x 11/12 = 11.458333... ; 100 - 29.985119... = 70.014880... -> 70.01
    ("70.01", "BB", {"B.b": 37, "C.b": 26, "E.b": 11}),
    # A.1.b (5, 8): 5 ; A.2.b: 10 ; B.b: 12.5 ; E.b: 12.5 -> 60
    ("60.00", "CC", {"A.1.b": 32, "A.2.b": 40, "B.b": 40, "E.b": 12}),
    # A.2.b: 10 x 38/40 = 9.5 ; B.b: 11.5625 ; C.b: 7.5 x 24/28 = 6.428571... ; E.b: 12.5 ;
    # 100 - 39.991071... = 60.008928... -> 60.01
    ("60.01", "B", {"A.2.b": 38, "B.b": 37, "C.b": 24, "E.b": 12}),
    # A.2.b 10 + B.b 12.5 + B.c 7.5 + C.b 7.5 + E.b 12.5 = 50 -> 50
    ("50.00", "C", {"A.2.b": 40, "B.b": 40, "B.c": 24, "C.b": 28, "E.b": 12}),
    # A.1.b: 5 x 20/32 = 3.125 ; A.2.b 10 ; A.2.c 5.7 ; B.b 12.5 ; C.b 6.160714... ; E.b 12.5
    # 100 - 49.985714... = 50.014285... -> 50.01
    ("50.01", "CC", {"A.1.b": 20, "A.2.b": 40, "A.2.c": 19, "B.b": 40, "C.b": 23,
                     "E.b": 12}),
    # A.1.b 5 + A.2.a (4, 4) 4 + A.2.b 10 + A.2.c 6 + B.a (5, 4) 5 + B.b 12.5 + B.c 7.5
    # + C.b 7.5 + E.b 12.5 = 70 -> 30
    ("30.00", "D", {"A.1.b": 32, "A.2.a": 16, "A.2.b": 40, "A.2.c": 20, "B.a": 16, "B.b": 40,
                    "B.c": 24, "C.b": 28, "E.b": 12}),
    # A.1.b 5 x 28/32 = 4.375 ; A.2.a 4 x 15/16 = 3.75 ; A.2.b 10 ; A.2.c 5.7 ; B.b 12.5 ;
    # B.c 7.5 ; C.b 6.160714... ; E.a (7.5, 3) 7.5 ; E.b 12.5 ;
    # 100 - 69.985714... = 30.014285... -> 30.01
    ("30.01", "C", {"A.1.b": 28, "A.2.a": 15, "A.2.b": 40, "A.2.c": 19, "B.b": 40, "B.c": 24,
                    "C.b": 23, "E.a": 12, "E.b": 12}),
]
EDGES_88_2021 = [
    # 4.c (12.5, 5): 12.5 x 16/20 = 10 -> 90
    ("90.00", "A", {"4.c": 16}),
    # 1.b (9, 11): 9 x 3/44 = 0.613636... ; 1.c (15, 8): 15 x 20/32 = 9.375 ;
    # 100 - 9.988636... = 90.011363... -> 90.01
    ("90.01", "AA", {"1.b": 3, "1.c": 20}),
    # 1.a (6, 6): 6 x 20/24 = 5 ; 1.c: 15 -> 80
    ("80.00", "BB", {"1.a": 20, "1.c": 32}),
    # 1.b: 9 x 29/44 = 5.931818... ; 1.c: 15 x 30/32 = 14.0625 ;
    # 100 - 19.994318... = 80.005681... -> 80.01
    ("80.01", "A", {"1.b": 29, "1.c": 30}),
    # 1.c 15 + 2.c (15, 10) 15 -> 70
    ("70.00", "B", {"1.c": 32, "2.c": 40}),
    # 1.b: 9 x 14/44 = 2.863636... ; 2.c: 15 x 39/40 = 14.625 ; 4.c: 12.5 ;
    # 100 - 29.988636... = 70.011363... -> 70.01
    ("70.01", "BB", {"1.b": 14, "2.c": 39, "4.c": 20}),
    # 1.c 15 ; 2.c 15 x 35/40 = 13.125 ; 4.c 12.5 x 19/20 = 11.875 -> 100 - 40 = 60
    ("60.00", "CC", {"1.c": 32, "2.c": 35, "4.c": 19}),
    # 1.b 9 x 27/44 = 5.522727... ; 2.b (9, 7) 9 x 24/28 = 7.714285... ; 2.c 15 x 38/40 = 14.25
    # ; 4.c 12.5 ; 100 - 39.987012... = 60.012987... -> 60.01
    ("60.01", "B", {"1.b": 27, "2.b": 24, "2.c": 38, "4.c": 20}),
    # 1.b 9 ; 1.c 15 ; 2.c 15 x 36/40 = 13.5 ; 4.c 12.5 -> 100 - 50 = 50
    ("50.00", "C", {"1.b": 44, "1.c": 32, "2.c": 36, "4.c": 20}),
    # 1.a 6 ; 1.b 9 x 38/44 = 7.772727... ; 1.c 15 ; 2.b 7.714285... ; 2.c 13.5 ;
    # 100 - 49.987012... = 50.012987... -> 50.01
    ("50.01", "CC", {"1.a": 24, "1.b": 38, "1.c": 32, "2.b": 24, "2.c": 36}),
    # 1.a 5 ; 1.b 9 ; 1.c 15 ; 2.a (6, 3) 6 ; 2.b 9 ; 2.c 13.5 ; 4.c 12.5 -> 100 - 70 = 30
    ("30.00", "D", {"1.a": 20, "1.b": 44, "1.c": 32, "2.a": 12, "2.b": 28, "2.c": 36,
                    "4.c": 20}),
    # 1.a 6 ; 1.b 7.772727... ; 1.c 15 ; 2.a 6 ; 2.b 7.714285... ; 2.c 15 ; 4.c 12.5 ;
    # 100 - 69.987012... = 30.012987... -> 30.01
    ("30.01", "C", {"1.a": 24, "1.b": 38, "1.c": 32, "2.a": 12, "2.b": 24, "2.c": 40,
                    "4.c": 20}),
]


@pytest.mark.parametrize(("total", "grade", "steps"), EDGES_12_2015)
def test_12_2015_answer_sets_on_every_band_edge(total: str, grade: str,
                                                steps: dict[str, int]) -> None:
    result = score(rubric(P12), losing(rubric(P12), steps))
    assert (str(result.total), result.grade.grade) == (total, grade)


@pytest.mark.parametrize(("total", "grade", "steps"), EDGES_88_2021)
def test_88_2021_answer_sets_on_every_band_edge(total: str, grade: str,
                                                steps: dict[str, int]) -> None:
    result = score(rubric(P88), losing(rubric(P88), steps))
    assert (str(result.total), result.grade.grade) == (total, grade)


# -- answer problems ----------------------------------------------------------------------------

def test_a_quality_answer_above_its_fulfilment_answer_is_named() -> None:
    definition = rubric(P12)
    problems = answer_problems(definition, {"A.1.a.2": "T", "A.1.b.1": "B"})
    assert [p.criterion for p in problems] == ["A.1.b.1"]
    assert problems[0].message == (
        "Jawaban kualitas A.1.b.1 (B) tidak boleh melebihi jawaban pemenuhan A.1.a.2 (T). "
        "A.1.b.1: Tujuan telah berorientasi hasil; A.1.a.2: Renstra telah memuat Tujuan.")
    implementation = answer_problems(definition, {"A.1.a.1": "T", "A.1.c.1": "A"})
    assert implementation[0].message.startswith(
        "Jawaban implementasi A.1.c.1 (A) tidak boleh melebihi jawaban pemenuhan A.1.a.1 (T).")
    problems88 = answer_problems(rubric(P88), {"3.a.1": "T", "3.b.1": "E", "3.c.1": "D"})
    assert [p.criterion for p in problems88] == ["3.c.1"]  # E does not exceed T: 3.b.1 is fine
    assert problems88[0].message.startswith(
        "Jawaban pemanfaatan 3.c.1 (D) tidak boleh melebihi jawaban pemenuhan 3.a.1 (T).")


def test_rules_hold_when_the_quality_does_not_exceed_or_an_answer_is_missing() -> None:
    definition = rubric(P12)
    assert answer_problems(definition, {"A.1.a.2": "Y", "A.1.b.1": "A"}) == []
    assert answer_problems(definition, {"A.1.a.2": "T", "A.1.b.1": "E"}) == []
    assert answer_problems(definition, {"A.1.b.1": "A"}) == []  # the bound not answered yet
    assert answer_problems(definition, {"A.1.a.2": "T", "A.1.b.1": None}) == []
    assert answer_problems(definition, best(definition)) == []
    assert answer_problems(definition, worst(definition)) == []


def test_an_unknown_criterion_or_value_is_named() -> None:
    definition = rubric(P12)
    problems = answer_problems(definition, {"Z.9": "Y", "A.1.a.1": "B", "A.1.b.1": "Y"})
    assert [(p.criterion, p.message) for p in problems] == [
        ("Z.9", "Kriteria Z.9 tidak ada dalam LKE AKIP PermenPANRB Nomor 12 Tahun 2015 versi 1."),
        ("A.1.a.1", "Jawaban 'B' untuk kriteria A.1.a.1 (Renstra telah disusun) tidak sah; "
                    "pilihan yang sah: Y, T."),
        ("A.1.b.1", "Jawaban 'Y' untuk kriteria A.1.b.1 (Tujuan telah berorientasi hasil) tidak "
                    "sah; pilihan yang sah: A, B, C, D, E."),
    ]


def test_a_custom_rule_message_is_appended() -> None:
    document = rubric(P12).to_dict()
    document["rules"][0]["message"] = "Periksa kembali dokumen Renstra."
    custom = rubric_from_dict(document)
    message = answer_problems(custom, {"A.1.a.2": "T", "A.1.b.1": "A"})[0].message
    assert message.endswith("Renstra telah memuat Tujuan. Periksa kembali dokumen Renstra.")


# -- the stored form ----------------------------------------------------------------------------

def test_the_stored_form_round_trips_and_is_canonical() -> None:
    for which in (P12, P88):
        definition = rubric(which)
        document = definition.to_dict()
        assert rubric_from_dict(document) == definition
        assert rubric_from_dict(yaml.safe_load(yaml.safe_dump(document))) == definition
    document = rubric(P12).to_dict()
    assert document["scales"]["AE"] == {"A": "1", "B": "0.75", "C": "0.5", "D": "0.25", "E": "0"}
    assert document["components"][1]["subcomponents"][1]["weight"] == "12.5"
    assert document["grades"][-1] == {"grade": "D", "above": None, "label": "Sangat Kurang"}
    assert canonical_decimal(D("12.50")) == "12.5"
    assert canonical_decimal(D("1E+1")) == "10"
    assert canonical_decimal(D("-0.00")) == "0"


def test_criterion_lookup() -> None:
    definition = rubric(P12)
    assert definition.criterion("A.1.a.1").text == "Renstra telah disusun"
    assert definition.subcomponent_of("A.1.a.1").code == "A.1.a"
    with pytest.raises(KeyError):
        definition.criterion("Z")


# -- parse errors: line and field, all at once -------------------------------------------------

def p12_text() -> str:
    return (RUBRICS_DIR / "permenpanrb-12-2015.v1.yaml").read_text(encoding="utf-8")


def line_of(text: str, fragment: str) -> int:
    return next(n for n, row in enumerate(text.splitlines(), 1) if fragment in row)


def test_a_weight_that_is_not_the_sum_names_its_line_and_field() -> None:
    text = p12_text().replace("    name: Perencanaan Kinerja\n    weight: 30",
                              "    name: Perencanaan Kinerja\n    weight: 31")
    with pytest.raises(RubricError) as caught:
        parse_rubric(text, source_name="lke.yaml")
    message = str(caught.value)
    line = line_of(text, "weight: 31")
    assert (f"lke.yaml:baris {line}: components.0.weight: must equal the sum of its "
            "sub-components' weights (30)") in message
    assert "components: the components' weights must sum to 100, not 101" in message


def test_every_problem_is_reported_at_once_with_its_line() -> None:
    text = (p12_text()
            .replace('{code: A.1.a.2, scale: YT,', '{code: A.1.a.2, scale: XY,')
            .replace('{code: A.1.a.3, scale: AE,', '{code: A.1.a.1, scale: AE,')
            .replace("regulation: >-", "regulasi: >-")
            .replace("{criterion: A.1.b.1, not_above: A.1.a.2}",
                     "{criterion: A.1.b.1, not_above: Z.1}")
            .replace("{grade: BB, above: 70,", "{grade: BB, above: 85,")
            .replace("weight: 12.5", "weight: abc", 1))
    with pytest.raises(RubricError) as caught:
        parse_rubric(text, source_name="lke.yaml")
    message = str(caught.value)
    expected = [
        (line_of(text, "scale: XY"), "components.0.subcomponents.0.criteria.1.scale: unknown "
                                     "scale XY"),
        (line_of(text, "{code: A.1.a.1, scale: AE"), "components.0.subcomponents.0.criteria.2."
                                                      "code: code A.1.a.1 is used twice"),
        (line_of(text, "regulasi:"), "regulasi: Unknown field."),
        (line_of(text, "code: permenpanrb"), "regulation: Missing data for required field."),
        (line_of(text, "not_above: Z.1"), "rules.0.not_above: no criterion Z.1"),
        (line_of(text, "above: 85"), "grades.2.above: bands go from high to low"),
        (line_of(text, "weight: abc"), "components.1.subcomponents.1.weight: Not a valid "
                                       "number."),
    ]
    for line, fragment in expected:
        assert f"lke.yaml:baris {line}: {fragment}" in message, (fragment, message)


def test_malformed_yaml_and_non_mappings_are_refused() -> None:
    with pytest.raises(RubricError, match="not valid YAML"):
        parse_rubric("code: [unclosed\ncomponents: {", source_name="x.yaml")
    with pytest.raises(RubricError, match="must be a mapping"):
        parse_rubric("- just\n- a list\n", source_name="x.yaml")


def test_grades_need_a_last_open_band_and_scales_values_between_0_and_1() -> None:
    document = rubric(P12).to_dict()
    document["grades"][-1]["above"] = "0"
    document["grades"][2]["above"] = None
    document["scales"]["AE"]["A"] = "1.5"
    document["components"][0]["subcomponents"][0]["criteria"][0]["code"] = "bad code!"
    with pytest.raises(RubricError) as caught:
        rubric_from_dict(document, source_name="stored")
    message = str(caught.value)
    assert "stored: grades.6.above: the last band must be null" in message
    assert "stored: grades.2.above: only the last (lowest) band has no bound" in message
    assert "stored: scales.AE.value.A.value: Must be greater than or equal to 0" in message
    assert "stored: components.0.subcomponents.0.criteria.0.code:" in message


def test_a_band_may_be_graded_directly() -> None:
    bands = (GradeBand("X", D(50), "atas"), GradeBand("Y", None, "bawah"))
    assert grade_for(bands, D("50.004")).grade == "Y"
    assert grade_for(bands, D("50.005")).grade == "X"
