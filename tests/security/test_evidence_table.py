"""docs/resilience-and-security.md is exactly what the evidence markers say: it cannot drift."""

from __future__ import annotations

import pytest

from tests import evidence


@pytest.mark.evidence(
    "security", "Compared the committed report table with the evidence markers of the suite.",
    "Every test in tests/resilience and tests/security carries a marker and the table matches.")
def test_committed_table_matches_the_markers() -> None:
    collected = evidence.collect()
    assert not collected.unmarked, (
        f"tests without @pytest.mark.evidence(area, tried, held): {collected.unmarked}")
    committed = evidence.DOC_PATH.read_text() if evidence.DOC_PATH.exists() else ""
    assert committed == evidence.render(collected.evidence), (
        f"{evidence.DOC_PATH.name} is stale: run `{evidence.REGENERATE}` and commit the result")
