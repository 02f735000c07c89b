"""Template mining: masking, counts, severity and novelty ranking."""

from __future__ import annotations

from watchkeeper.evidence.log_templates import mine


def test_variable_parts_are_masked_into_one_template() -> None:
    lines = [
        f"2026-11-22T01:00:{i:02d}Z ERROR upstream timed out after {i}ms from 10.0.0.{i} for /api/v1/items/{i}"
        for i in range(50)
    ]
    templates = mine(lines)
    assert len(templates) == 1
    t = templates[0]
    assert t.count == 50 and t.severity == 2
    assert "<TIME>" in t.template and "<IP>" in t.template and "<NUM>" in t.template
    assert t.first_line == 1 and t.last_line == 50


def test_severity_then_novelty_then_count() -> None:
    baseline = [f"INFO GET /items/{i} 200" for i in range(100)] + ["WARN slow query took 900ms"] * 3
    recent = [f"INFO GET /items/{i} 200" for i in range(300)] + ["WARN slow query took 950ms"] * 5
    recent += ["ERROR KeyError: 'currency' in charge_handler"] * 4
    templates = mine(recent, baseline)
    assert [t.severity for t in templates] == [2, 1, 0]
    new = templates[0]
    assert new.novel is True and new.baseline_count == 0 and new.count == 4
    assert templates[2].novel is False and templates[2].baseline_count == 100


def test_thousands_of_lines_become_a_few_rows() -> None:
    kinds = ["INFO request {} served in {}ms", "WARN retrying job {} attempt {}", "ERROR db connection {} refused {}"]
    lines = [kinds[i % 3].format(i, i * 7) for i in range(3000)]
    assert len(mine(lines)) == 3
