"""The SOP template file format (YAML), validated by marshmallow.

A template holds the SOP header (number, dates, approver, legal basis, qualifications, related SOP,
equipment, warning, records), the document types a cycle may ask of a Bidang, the deadline policy,
and the steps: number, activity, acting roles, required inputs, output, duration with its unit, the
guard that proves the output exists, and the breach policy. Errors name the line and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from shared.calendar import DurationUnit
from shared.data_files import flatten_messages, line_index, line_of
from shared.identity.roles import Role

TEMPLATES_DIR = Path(__file__).with_name("templates")
GUARD_KINDS = (
    "confirmation",  # a named role confirms (step 1)
    "document_uploaded",  # a document of the given type is uploaded (step 2: the SK)
    "document_list_and_guideline",  # the cycle's document list and the guideline exist (step 3)
    "notice_sent",  # every Bidang was informed (step 4)
    "all_packages_accepted",  # every Bidang's package accepted, or collection closed (step 5)
    "report_approved",  # the evaluation report approved by the kepala_dinas (step 6)
)
_ROLES = [r.value for r in Role]
_TEXT = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class TemplateError(ValueError):
    """A template file is malformed or inconsistent; the message names each line and field."""


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: DurationUnit


@dataclass(frozen=True)
class StepDefinition:
    number: int
    activity: str
    actors: tuple[Role, ...]
    inputs: tuple[str, ...]
    output: str
    duration: Duration
    guard: dict[str, Any]
    breach: dict[str, Any]


@dataclass(frozen=True)
class DocumentType:
    code: str
    label: str


@dataclass(frozen=True)
class SopTemplateDefinition:
    code: str
    version: int
    name: str
    header: dict[str, Any]
    document_types: tuple[DocumentType, ...]
    deadlines: dict[str, Any]
    steps: tuple[StepDefinition, ...]
    raw: dict[str, Any]

    def step(self, number: int) -> StepDefinition:
        return self.steps[number - 1]

    def document_label(self, code: str) -> str:
        return next((d.label for d in self.document_types if d.code == code), code)


class _Strict(Schema):
    class Meta:
        ordered = True


class ApproverSchema(_Strict):
    title = _TEXT
    name = _TEXT
    nip = fields.String(load_default="")


class HeaderSchema(_Strict):
    issuer = _TEXT
    number = _TEXT
    created_on = fields.Date(required=True)
    revised_on = fields.Date(allow_none=True, load_default=None)
    effective_on = fields.Date(required=True)
    approved_by = fields.Nested(ApproverSchema, required=True)
    legal_basis = fields.List(_TEXT, required=True, validate=validate.Length(min=1))
    qualifications = fields.List(_TEXT, required=True)
    related_sop = fields.List(_TEXT, load_default=list)
    equipment = fields.List(_TEXT, required=True)
    warning = _TEXT
    records = fields.List(_TEXT, required=True)


class DurationSchema(_Strict):
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=365))
    unit = fields.String(required=True, validate=validate.OneOf([u.value for u in DurationUnit]))

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Duration:
        return Duration(amount=data["amount"], unit=DurationUnit(data["unit"]))


class GuardSchema(_Strict):
    kind = fields.String(required=True, validate=validate.OneOf(GUARD_KINDS))
    by = fields.String(validate=validate.OneOf(_ROLES))
    document = fields.String(validate=validate.Regexp(r"^[A-Z][A-Z0-9_]{1,63}$"))

    @validates_schema
    def _needs(self, data: dict[str, Any], **_: Any) -> None:
        if data["kind"] == "confirmation" and "by" not in data:
            raise ValidationError("a confirmation guard names the role that confirms", "by")
        if data["kind"] == "document_uploaded" and "document" not in data:
            raise ValidationError("a document guard names the document type", "document")


class BreachSchema(_Strict):
    escalate_to = fields.List(fields.String(validate=validate.OneOf(_ROLES)), required=True,
                              validate=validate.Length(min=1))
    second_escalation_to = fields.List(fields.String(validate=validate.OneOf(_ROLES)),
                                       load_default=list)


class StepSchema(_Strict):
    number = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=50))
    activity = _TEXT
    actors = fields.List(fields.String(validate=validate.OneOf(_ROLES)), required=True,
                         validate=validate.Length(min=1))
    inputs = fields.List(_TEXT, required=True)
    output = _TEXT
    duration = fields.Nested(DurationSchema, required=True)
    guard = fields.Nested(GuardSchema, required=True)
    breach = fields.Nested(BreachSchema, required=True)


class DocumentTypeSchema(_Strict):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z][A-Z0-9_]{1,63}$"))
    label = _TEXT


class DeadlinesSchema(_Strict):
    due_soon_at = fields.Decimal(required=True, as_string=True,
                                 validate=validate.Range(min=0, max=1, min_inclusive=False,
                                                         max_inclusive=False))
    second_escalation_after = fields.Nested(DurationSchema, required=True)
    refuse_submissions_after_deadline = fields.Boolean(required=True)


class TemplateSchema(_Strict):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9-]{2,63}$"))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    name = _TEXT
    header = fields.Nested(HeaderSchema, required=True)
    document_types = fields.List(fields.Nested(DocumentTypeSchema), required=True,
                                 validate=validate.Length(min=1))
    deadlines = fields.Nested(DeadlinesSchema, required=True)
    steps = fields.List(fields.Nested(StepSchema), required=True, validate=validate.Length(min=1))

    @validates_schema(skip_on_field_errors=False)
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        # Runs even when some fields failed, so every problem is reported at once.
        numbers = [s.get("number") for s in data.get("steps", []) if isinstance(s, dict)]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValidationError("steps must be numbered 1, 2, 3, ... in order", "steps")
        codes = [d.get("code") for d in data.get("document_types", []) if isinstance(d, dict)]
        if len(codes) != len(set(codes)):
            raise ValidationError("document type codes must be unique", "document_types")


def parse_template(text: str, *, source: str = "template") -> SopTemplateDefinition:
    """Validate a template file; TemplateError names the line and field of each problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{source}: not valid YAML: {exc}") from exc
    return _build(raw, source=source, lines=line_index(node))


def template_from_document(document: Any, *, source: str) -> SopTemplateDefinition:
    """Validate a stored template document (e.g. the JSON kept with a published version)."""
    return _build(document, source=source, lines={})


def _build(raw: Any, *, source: str, lines: dict[tuple[str, ...], int]) -> SopTemplateDefinition:
    if not isinstance(raw, dict):
        raise TemplateError(f"{source}: the template must be a mapping of fields")
    try:
        data = TemplateSchema().load(raw)
    except ValidationError as exc:
        problems = [f"{source}:{line_of(lines, path)}: {'.'.join(path) or '(root)'}: {msg}"
                    for path, msg in flatten_messages(exc.messages)]
        raise TemplateError("\n".join(problems)) from exc
    return SopTemplateDefinition(
        code=data["code"], version=data["version"], name=data["name"], header=data["header"],
        document_types=tuple(DocumentType(**d) for d in data["document_types"]),
        deadlines=data["deadlines"],
        steps=tuple(
            StepDefinition(number=s["number"], activity=s["activity"],
                           actors=tuple(Role(a) for a in s["actors"]), inputs=tuple(s["inputs"]),
                           output=s["output"], duration=s["duration"], guard=s["guard"],
                           breach=s["breach"])
            for s in data["steps"]
        ),
        raw=_jsonable(raw),
    )


def load_shipped_template(code: str, version: int) -> SopTemplateDefinition:
    path = TEMPLATES_DIR / f"{code}.v{version}.yaml"
    return parse_template(path.read_text(encoding="utf-8"), source=path.name)


def shipped_templates() -> list[SopTemplateDefinition]:
    return [parse_template(p.read_text(encoding="utf-8"), source=p.name)
            for p in sorted(TEMPLATES_DIR.glob("*.yaml"))]


def _jsonable(value: Any) -> Any:
    """The raw document with dates as ISO strings, for storing as JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
