"""The template definition a cycle runs on (published versions are immutable, so cached)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from shared.cycles.models import Cycle, SopTemplate
from shared.sop.template import SopTemplateDefinition, template_from_document

# Published template versions never change and are few: one parse per process is enough.
_parsed: dict[uuid.UUID, SopTemplateDefinition] = {}


def definition_of(template: SopTemplate) -> SopTemplateDefinition:
    found = _parsed.get(template.id)
    if found is None:
        found = _parsed[template.id] = template_from_document(
            template.definition, source=f"{template.code} v{template.version}")
    return found


def cycle_definition(session: Session, cycle: Cycle) -> SopTemplateDefinition:
    return definition_of(session.get_one(SopTemplate, cycle.template_id))
