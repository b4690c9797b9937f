"""LKE rubrics (Lembar Kriteria Evaluasi): the versioned data file, and scoring answers against it.

A rubric file (YAML, one per version, in `shared/reporting/rubrics/`) holds the answer scales, the
grade bands, the components with their weighted sub-components and criteria, and the consistency
rules of the regulation's annex (a quality answer may not exceed the matching fulfilment answer).
It is validated by marshmallow like the SOP templates: every problem at once, each naming its line
and field. The stored form (`Rubric.definition`) is `to_dict()`, read back with `rubric_from_dict`.

Scoring follows the published method: a sub-component scores the mean of its answer values
(unanswered counts 0) times its weight; a component is the sum of its sub-components; the total is
the sum of the components. The arithmetic is exact (rationals built from the Decimal weights and
values: the mean of three answers is not a finite decimal) and each figure is rounded half-up to
2 places once, at the end; the total is rounded BEFORE grading, so 90.004 is 90.00 and earns A,
and 90.005 is 90.01 and earns AA.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

# The YAML line index and error flattening are the SOP template format's; one implementation.
from shared.data_files import flatten_messages, line_index, line_of

RUBRICS_DIR = Path(__file__).with_name("rubrics")
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"  # lke_answers.criterion is String(32)
ANSWER_PATTERN = r"^[A-Z0-9]{1,8}$"  # lke_answers.answer is String(8)
# The first word of a sub-component's name that says what its criteria judge, used in the
# consistency message ("Jawaban kualitas A.1.b.1 (B) tidak boleh melebihi jawaban pemenuhan ...").
ASPECTS = ("pemenuhan", "kualitas", "implementasi", "pemanfaatan")
_TEXT = fields.String(required=True, validate=validate.Length(min=1, max=4000))
_CODE = fields.String(required=True, validate=validate.Regexp(CODE_PATTERN))


class RubricError(ValueError):
    """A rubric file is malformed or inconsistent; the message names each line and field."""


@dataclass(frozen=True)
class GradeBand:
    grade: str
    above: Decimal | None  # a total strictly above this earns the grade; None: the lowest band
    label: str


@dataclass(frozen=True)
class Criterion:
    code: str
    text: str
    scale: str
    guidance: str | None = None


@dataclass(frozen=True)
class SubComponent:
    code: str
    group: str | None
    name: str
    weight: Decimal
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True)
class Component:
    code: str
    name: str
    weight: Decimal
    subcomponents: tuple[SubComponent, ...]


@dataclass(frozen=True)
class ConsistencyRule:
    criterion: str
    not_above: str
    message: str | None = None


@dataclass(frozen=True)
class RubricDefinition:
    code: str
    version: int
    name: str
    regulation: str
    source: str
    scales: dict[str, dict[str, Decimal]]
    grades: tuple[GradeBand, ...]
    components: tuple[Component, ...]
    rules: tuple[ConsistencyRule, ...]

    def criteria(self) -> list[Criterion]:
        return [c for comp in self.components for sub in comp.subcomponents for c in sub.criteria]

    def criterion(self, code: str) -> Criterion:
        for criterion in self.criteria():
            if criterion.code == code:
                return criterion
        raise KeyError(code)

    def subcomponent_of(self, code: str) -> SubComponent:
        """The sub-component a criterion belongs to."""
        for comp in self.components:
            for sub in comp.subcomponents:
                if any(c.code == code for c in sub.criteria):
                    return sub
        raise KeyError(code)

    def grade_for(self, total: Decimal) -> GradeBand:
        return grade_for(self.grades, total)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form stored as `Rubric.definition` (Decimals as canonical strings, so the
        same rubric always gives the same document)."""
        return {
            "code": self.code,
            "version": self.version,
            "name": self.name,
            "regulation": self.regulation,
            "source": self.source,
            "scales": {scale: {answer: canonical_decimal(value)
                               for answer, value in values.items()}
                       for scale, values in self.scales.items()},
            "grades": [{"grade": g.grade,
                        "above": None if g.above is None else canonical_decimal(g.above),
                        "label": g.label} for g in self.grades],
            "components": [
                {"code": comp.code, "name": comp.name, "weight": canonical_decimal(comp.weight),
                 "subcomponents": [
                     {"code": sub.code, **({"group": sub.group} if sub.group else {}),
                      "name": sub.name, "weight": canonical_decimal(sub.weight),
                      "criteria": [
                          {"code": c.code, "text": c.text, "scale": c.scale,
                           **({"guidance": c.guidance} if c.guidance else {})}
                          for c in sub.criteria]}
                     for sub in comp.subcomponents]}
                for comp in self.components],
            "rules": [{"criterion": r.criterion, "not_above": r.not_above,
                       **({"message": r.message} if r.message else {})} for r in self.rules],
        }


@dataclass(frozen=True)
class SubScore:
    code: str
    group: str | None
    name: str
    weight: Decimal
    score: Decimal  # rounded half-up to 2 places
    answered: int
    criteria: int


@dataclass(frozen=True)
class ComponentScore:
    code: str
    name: str
    weight: Decimal
    score: Decimal  # the exact sum of its sub-components, rounded half-up to 2 places
    parts: tuple[SubScore, ...]


@dataclass(frozen=True)
class Score:
    total: Decimal  # the exact sum, rounded half-up to 2 places (then graded)
    grade: GradeBand
    components: tuple[ComponentScore, ...]
    answered: int
    criteria: int

    @property
    def complete(self) -> bool:
        return self.answered == self.criteria


@dataclass(frozen=True)
class AnswerProblem:
    criterion: str
    message: str


# -- the file format --------------------------------------------------------------------------

class _Strict(Schema):
    class Meta:
        ordered = True


def _weight(**kwargs: Any) -> fields.Decimal:
    return fields.Decimal(required=True, allow_nan=False,
                          validate=validate.Range(min=0, max=100, min_inclusive=False), **kwargs)


class CriterionSchema(_Strict):
    code = _CODE
    text = _TEXT
    scale = fields.String(required=True, validate=validate.Length(min=1, max=16))
    guidance = fields.String(allow_none=True, load_default=None,
                             validate=validate.Length(max=4000))


class SubComponentSchema(_Strict):
    code = _CODE
    group = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=255))
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    weight = _weight()
    criteria = fields.List(fields.Nested(CriterionSchema), required=True,
                           validate=validate.Length(min=1))


class ComponentSchema(_Strict):
    code = _CODE
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    weight = _weight()
    subcomponents = fields.List(fields.Nested(SubComponentSchema), required=True,
                                validate=validate.Length(min=1))


class GradeSchema(_Strict):
    grade = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{1,4}$"))
    above = fields.Decimal(required=True, allow_none=True, allow_nan=False,
                           validate=validate.Range(min=0, max=100))
    label = fields.String(required=True, validate=validate.Length(min=1, max=64))


class RuleSchema(_Strict):
    criterion = _CODE
    not_above = _CODE
    message = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=1000))


class RubricSchema(_Strict):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9-]{2,63}$"))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    regulation = _TEXT
    source = _TEXT
    scales = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[A-Z][A-Z0-9_]{0,15}$")),
        values=fields.Dict(keys=fields.String(validate=validate.Regexp(ANSWER_PATTERN)),
                           values=fields.Decimal(allow_nan=False,
                                                 validate=validate.Range(min=0, max=1)),
                           validate=validate.Length(min=2)),
        required=True, validate=validate.Length(min=1))
    grades = fields.List(fields.Nested(GradeSchema), required=True,
                         validate=validate.Length(min=1))
    components = fields.List(fields.Nested(ComponentSchema), required=True,
                             validate=validate.Length(min=1))
    rules = fields.List(fields.Nested(RuleSchema), load_default=list)

    @validates_schema(skip_on_field_errors=False)
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        # Runs even when some fields failed (those are missing from `data`), so every problem is
        # reported at once; the errors are keyed by the path of the field they concern.
        errors: dict[str, Any] = {}
        _check_weights(data, errors)
        _check_codes_and_scales(data, errors)
        _check_grades(data, errors)
        _check_rules(data, errors)
        if errors:
            raise ValidationError(errors)


def _put(errors: dict[Any, Any], path: Sequence[str | int], message: str) -> None:
    # A path holding both its own messages and nested ones keeps its own under "_schema" (the
    # key marshmallow uses for a node's messages; flatten_messages reads it as the node's path).
    node: dict[Any, Any] = errors
    for key in path[:-1]:
        if isinstance(node.get(key), list):
            node[key] = {"_schema": node[key]}
        node = node.setdefault(key, {})
    leaf = node.setdefault(path[-1], [])
    (leaf.setdefault("_schema", []) if isinstance(leaf, dict) else leaf).append(message)


def _items(data: Mapping[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    return [(i, item) for i, item in enumerate(data.get(key) or []) if isinstance(item, dict)]


def _check_weights(data: dict[str, Any], errors: dict[str, Any]) -> None:
    components = _items(data, "components")
    for i, comp in components:
        subs = _items(comp, "subcomponents")
        weights: list[Decimal] = [s["weight"] for _, s in subs if s.get("weight") is not None]
        if "weight" in comp and subs and len(weights) == len(subs):
            total = sum(weights, Decimal(0))
            if total != comp["weight"]:
                _put(errors, ("components", i, "weight"),
                     "must equal the sum of its sub-components' weights "
                     f"({canonical_decimal(total)})")
    weights = [c["weight"] for _, c in components if c.get("weight") is not None]
    if components and len(weights) == len(components):
        total = sum(weights, Decimal(0))
        if total != HUNDRED:
            _put(errors, ("components",), f"the components' weights must sum to 100, not "
                                          f"{canonical_decimal(total)}")


def _check_codes_and_scales(data: dict[str, Any], errors: dict[str, Any]) -> None:
    seen: set[str] = set()
    scales = data.get("scales")

    def unique(code: Any, path: tuple[str | int, ...]) -> None:
        if code is None:
            return
        if code in seen:
            _put(errors, path, f"code {code} is used twice in the rubric")
        seen.add(code)

    for i, comp in _items(data, "components"):
        unique(comp.get("code"), ("components", i, "code"))
        for j, sub in _items(comp, "subcomponents"):
            unique(sub.get("code"), ("components", i, "subcomponents", j, "code"))
            for k, crit in _items(sub, "criteria"):
                path = ("components", i, "subcomponents", j, "criteria", k)
                unique(crit.get("code"), (*path, "code"))
                if scales is not None and "scale" in crit and crit["scale"] not in scales:
                    _put(errors, (*path, "scale"), f"unknown scale {crit['scale']}; the scales "
                                                   f"are {', '.join(scales)}")


def _check_grades(data: dict[str, Any], errors: dict[str, Any]) -> None:
    grades = _items(data, "grades")
    names = [g.get("grade") for _, g in grades]
    if len(names) != len(set(names)):
        _put(errors, ("grades",), "grade names must be unique")
    previous: Decimal | None = None
    for i, band in grades:
        if "above" not in band:
            continue
        above = band["above"]
        last = i == len(data.get("grades") or []) - 1
        if above is None and not last:
            _put(errors, ("grades", i, "above"), "only the last (lowest) band has no bound")
        elif above is not None and last:
            _put(errors, ("grades", i, "above"), "the last band must be null: it catches every "
                                                 "total not above the others")
        elif above is not None and previous is not None and above >= previous:
            _put(errors, ("grades", i, "above"), "bands go from high to low: each bound must be "
                                                 "below the previous one")
        if above is not None:
            previous = above


def _check_rules(data: dict[str, Any], errors: dict[str, Any]) -> None:
    codes = {crit.get("code") for _, comp in _items(data, "components")
             for _, sub in _items(comp, "subcomponents") for _, crit in _items(sub, "criteria")}
    for i, rule in _items(data, "rules"):
        for key in ("criterion", "not_above"):
            if key in rule and rule[key] not in codes:
                _put(errors, ("rules", i, key), f"no criterion {rule[key]} in this rubric")
        if rule.get("criterion") is not None and rule.get("criterion") == rule.get("not_above"):
            _put(errors, ("rules", i, "not_above"), "a criterion cannot be bounded by itself")


def parse_rubric(text: str, *, source_name: str) -> RubricDefinition:
    """Validate a rubric file; RubricError names the line and field of each problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RubricError(f"{source_name}: not valid YAML: {exc}") from exc
    return _build(raw, source_name=source_name, lines=line_index(node))


def rubric_from_dict(data: dict[str, Any], *, source_name: str = "rubric") -> RubricDefinition:
    """Validate a stored rubric document (`Rubric.definition`, i.e. `to_dict()`)."""
    return _build(data, source_name=source_name, lines=None)


def load_bundled_rubric(code: str, version: int) -> RubricDefinition:
    path = RUBRICS_DIR / f"{code}.v{version}.yaml"
    return parse_rubric(path.read_text(encoding="utf-8"), source_name=path.name)


def bundled_rubrics() -> list[RubricDefinition]:
    """Every rubric file shipped with the platform, in file name order."""
    return [parse_rubric(p.read_text(encoding="utf-8"), source_name=p.name)
            for p in sorted(RUBRICS_DIR.glob("*.yaml"))]


def _build(raw: Any, *, source_name: str,
           lines: dict[tuple[str, ...], int] | None) -> RubricDefinition:
    if not isinstance(raw, dict):
        raise RubricError(f"{source_name}: the rubric must be a mapping of fields")
    try:
        data = RubricSchema().load(raw)
    except ValidationError as exc:
        problems = []
        for path, message in flatten_messages(exc.messages):
            where = f"{source_name}:{line_of(lines, path)}" if lines is not None else source_name
            problems.append(f"{where}: {'.'.join(path) or '(root)'}: {message}")
        raise RubricError("\n".join(problems)) from exc
    return RubricDefinition(
        code=data["code"], version=data["version"], name=data["name"],
        regulation=data["regulation"], source=data["source"],
        scales={scale: dict(values) for scale, values in data["scales"].items()},
        grades=tuple(GradeBand(**g) for g in data["grades"]),
        components=tuple(
            Component(code=comp["code"], name=comp["name"], weight=comp["weight"],
                      subcomponents=tuple(
                          SubComponent(code=sub["code"], group=sub["group"] or None,
                                       name=sub["name"], weight=sub["weight"],
                                       criteria=tuple(Criterion(**c) for c in sub["criteria"]))
                          for sub in comp["subcomponents"]))
            for comp in data["components"]),
        rules=tuple(ConsistencyRule(**r) for r in data["rules"]),
    )



def canonical_decimal(value: Decimal) -> str:
    """A Decimal as a canonical string: 12.50 -> "12.5", 10 -> "10"."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


# -- scoring ----------------------------------------------------------------------------------

def round_half_up(value: Decimal) -> Decimal:
    """`value` rounded half-up to 2 places (87.125 -> 87.13)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _round_exact(value: Fraction) -> Decimal:
    """An exact non-negative rational rounded half-up to 2 places, with no intermediate error."""
    hundredths = (value * 100 + Fraction(1, 2)).__floor__()
    return (Decimal(hundredths) / 100).quantize(CENT)


def grade_for(grades: Sequence[GradeBand], total: Decimal) -> GradeBand:
    """The first band (high to low) whose bound the total, rounded to 2 places, is strictly
    above; the last band has no bound and catches the rest."""
    rounded = round_half_up(total)
    for band in grades:
        if band.above is None or rounded > band.above:
            return band
    return grades[-1]


def _value(definition: RubricDefinition, criterion: Criterion,
           answer: str | None) -> Decimal | None:
    if answer is None:
        return None
    return definition.scales[criterion.scale].get(answer)


def score(definition: RubricDefinition, answers: Mapping[str, str | None]) -> Score:
    """Score the answers (criterion code -> answer, None when not answered yet). An answer that
    is not in its criterion's scale counts as unanswered: `answer_problems` reports it."""
    total = Fraction(0)
    answered_all = 0
    components = []
    for comp in definition.components:
        comp_total = Fraction(0)
        parts = []
        for sub in comp.subcomponents:
            values = [_value(definition, c, answers.get(c.code)) for c in sub.criteria]
            given = [v for v in values if v is not None]
            # sum x weight / n: multiply before dividing, exact as a rational
            exact = Fraction(sum(given, Decimal(0))) * Fraction(sub.weight) / len(values)
            comp_total += exact
            answered_all += len(given)
            parts.append(SubScore(code=sub.code, group=sub.group, name=sub.name,
                                  weight=sub.weight, score=_round_exact(exact),
                                  answered=len(given), criteria=len(values)))
        total += comp_total
        components.append(ComponentScore(code=comp.code, name=comp.name, weight=comp.weight,
                                         score=_round_exact(comp_total), parts=tuple(parts)))
    rounded = _round_exact(total)
    return Score(total=rounded, grade=grade_for(definition.grades, rounded),
                 components=tuple(components), answered=answered_all,
                 criteria=len(definition.criteria()))


def unanswered(definition: RubricDefinition, answers: Mapping[str, str | None]) -> list[str]:
    """Codes of the criteria without a valid answer, in rubric order."""
    return [c.code for c in definition.criteria()
            if _value(definition, c, answers.get(c.code)) is None]


def answer_problems(definition: RubricDefinition,
                    answers: Mapping[str, str | None]) -> list[AnswerProblem]:
    """What is wrong with the answers, in Indonesian: a criterion the rubric does not have, a
    value outside the criterion's scale, a consistency rule broken. Unanswered criteria are not
    problems here (a draft may be incomplete): see `unanswered`."""
    known = {c.code: c for c in definition.criteria()}
    problems = []
    for code, answer in answers.items():
        criterion = known.get(code)
        if criterion is None:
            problems.append(AnswerProblem(code, f"Kriteria {code} tidak ada dalam {definition.name}"
                                                f" versi {definition.version}."))
        elif answer is not None and _value(definition, criterion, answer) is None:
            choices = ", ".join(definition.scales[criterion.scale])
            problems.append(AnswerProblem(code, f"Jawaban '{answer}' untuk kriteria {code} "
                                                f"({_short(criterion.text)}) tidak sah; pilihan "
                                                f"yang sah: {choices}."))
    for rule in definition.rules:
        criterion, bound = known[rule.criterion], known[rule.not_above]
        answer, bound_answer = answers.get(rule.criterion), answers.get(rule.not_above)
        value = _value(definition, criterion, answer)
        bound_value = _value(definition, bound, bound_answer)
        if value is None or bound_value is None or value <= bound_value:
            continue
        message = (f"Jawaban {_aspect(definition, criterion.code)} {criterion.code} ({answer}) "
                   f"tidak boleh melebihi jawaban {_aspect(definition, bound.code)} {bound.code} "
                   f"({bound_answer}). {criterion.code}: {_short(criterion.text)}; "
                   f"{bound.code}: {_short(bound.text)}.")
        if rule.message:
            message = f"{message} {rule.message}"
        problems.append(AnswerProblem(criterion.code, message))
    return problems


def _aspect(definition: RubricDefinition, code: str) -> str:
    """What a criterion's sub-component judges ("pemenuhan", "kualitas", ...), from the first
    word of its name or of its group; "kriteria" when neither says."""
    sub = definition.subcomponent_of(code)
    for label in (sub.name, sub.group or ""):
        words = label.split()
        first = words[0].strip(":,.-").lower() if words else ""
        if first in ASPECTS:
            return first
    return "kriteria"


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
