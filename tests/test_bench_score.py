"""The benchmark keeps score (bench/score.py): each section's latest run beside the one before it, quick runs
apart from full ones, the hand-written part of docs/benchmarks.md kept, targets judged against their reference."""

from __future__ import annotations

from pathlib import Path

from bench import score
from bench.common import Figure

ROOT = Path(__file__).resolve().parents[1]


def _row(section: str, name: str, value: float, reference_value: float | None = None, *, higher: bool = True,
         target: str = "", met: bool | None = None, reference: str = "ref") -> dict:
    return Figure(section, name, value, "msg/s", reference if reference_value is not None else "", reference_value,
                  target, met, higher).as_dict()


def _run(date: str, figures: list[dict], *, quick: bool = False, sections: list[str] | None = None) -> dict:
    run = {"date": date, "machine": "test machine", "quick": quick, "seconds": 10.0,
           "section_seconds": {}, "figures": figures}
    if sections is not None:
        run["sections"] = sections
    return run


def _table_row(document: str, name: str) -> list[str]:
    line = next(line for line in document.splitlines() if line.startswith(f"| {name} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_a_section_is_shown_beside_the_run_before_it_and_a_partial_run_leaves_the_others_as_they_were() -> None:
    first = _run("2026-11-01 10:00 UTC", [
        _row("1. throughput", "gateway against floor", 40, 50, target=">= 0.8 x floor", met=True),
        _row("2. latency", "p50", 10, 100, higher=False),
    ])
    second = _run("2026-11-02 10:00 UTC", [
        _row("1. throughput", "gateway against floor", 30, 50, target=">= 0.8 x floor", met=False),
    ], sections=["1"])
    shown = score.shown([first, second], quick=False)
    assert [(n, run["date"], before and before["date"]) for n, run, before in shown] == [
        ("1", "2026-11-02 10:00 UTC", "2026-11-01 10:00 UTC"),
        ("2", "2026-11-01 10:00 UTC", None),
    ]
    document = score.document([first, second], "kept\n")
    cells = _table_row(document, "gateway against floor")
    assert cells[7] == "40.0 msg/s, ratio 0.80"  # previous: value and ratio of the run before
    assert cells[8] == "ratio -25% (worse); no longer met"
    assert "Run 2026-11-01 10:00 UTC; no earlier run of this section kept." in document
    target = next(line for line in document.splitlines() if "| >= 0.8 x floor | 1. throughput: gateway" in line)
    assert "| 40.0 msg/s, ratio 0.80 (2026-11-01) | ratio -25% (worse); no longer met | 2026-11-02 10:00 UTC |" in target


def test_a_failed_section_is_shown_but_the_next_run_is_compared_with_the_last_one_that_measured_it() -> None:
    good = _run("2026-11-01 10:00 UTC", [_row("1. throughput", "floor", 60)])
    broken = _run("2026-11-02 10:00 UTC", [_row("1. (failed)", "RuntimeError('sshd')", 0)])
    again = _run("2026-11-03 10:00 UTC", [_row("1. throughput", "floor", 66)])
    assert [(run["date"], before["date"]) for _, run, before in score.shown([good, broken], quick=False)] == [
        ("2026-11-02 10:00 UTC", "2026-11-01 10:00 UTC")]
    assert "| RuntimeError('sshd') |" in score.document([good, broken], "")
    assert [(run["date"], before["date"]) for _, run, before in score.shown([good, broken, again], quick=False)] == [
        ("2026-11-03 10:00 UTC", "2026-11-01 10:00 UTC")]
    assert _table_row(score.document([good, broken, again], ""), "floor")[8] == "value +10% (better)"


def test_quick_runs_are_compared_only_with_quick_runs() -> None:
    full = _run("2026-11-01 10:00 UTC", [_row("1. throughput", "floor", 60)])
    quick = _run("2026-11-02 10:00 UTC", [_row("1. throughput", "floor", 20)], quick=True)
    assert [(run["date"], before) for _, run, before in score.shown([full, quick], quick=True)] == [
        ("2026-11-02 10:00 UTC", None)]
    assert [(run["date"], before) for _, run, before in score.shown([full, quick], quick=False)] == [
        ("2026-11-01 10:00 UTC", None)]


def test_the_change_follows_the_rows_direction_and_compares_values_when_the_reference_changed() -> None:
    slower = _row("1. s", "ms per message", 12, 10, higher=False)
    faster = _row("1. s", "ms per message", 8, 10, higher=False)
    assert score.change(slower, faster) == "ratio +50% (worse)"
    assert score.change(faster, slower) == "ratio -33% (better)"
    assert score.change(faster, faster) == "ratio same"
    before = _row("6. l", "two instances", 60, 100, reference="SQLite")
    now = _row("6. l", "two instances", 90, 70, reference="one PostgreSQL instance")
    assert score.change(now, before) == "value +50% (better)"
    assert score.change(now, None) == ""


def test_a_target_row_is_judged_against_its_reference_either_way() -> None:
    two = Figure.scored("6. l", "two instances", 80, "msg/s", "one instance", 50, 1.6, issue=16)
    assert (two.target, two.met, two.issue) == (">= 1.6 x one instance", True, 16)
    assert not Figure.scored("6. l", "two instances", 79, "msg/s", "one instance", 50, 1.6).met
    halved = Figure.scored("1. t", "floor", 9, "ms", "signxml", 20, 0.5, higher=False)
    assert (halved.target, halved.met) == ("<= 0.5 x signxml", True)
    assert not Figure.scored("1. t", "floor", 11, "ms", "signxml", 20, 0.5, higher=False).met


def test_the_targets_come_first_issue_16_on_top() -> None:
    run = _run("2026-11-01 10:00 UTC", [
        _row("2. latency", "p50", 10, 100, higher=False, target="< 100 ms", met=True),
        Figure.scored("1. throughput", "workers=2 against shell", 60, "msg/s", "shell", 30, 5, issue=16).as_dict(),
        _row("1. throughput", "floor", 60),
    ])
    targets = score.targets_table(score.shown([run], quick=False)).splitlines()[2:]
    assert [line.split("|")[1:3] for line in targets] == [[" 16 ", " >= 5 x shell "], ["  ", " < 100 ms "]]


def test_the_hand_written_part_after_the_marker_is_kept_as_it_is() -> None:
    kept = "## What the figures show\n\nRead by hand: **kept**, with a | pipe and a marker-like <!-- note -->.\n"
    run = _run("2026-11-01 10:00 UTC", [_row("1. throughput", "floor", 60)])
    document = score.document([run], kept)
    assert document.endswith(kept)
    assert score.kept_part(document) == kept
    rewritten = score.document([run, _run("2026-11-02 10:00 UTC", [_row("1. throughput", "floor", 70)])],
                               score.kept_part(document))
    assert score.kept_part(rewritten) == kept
    assert "60.0 msg/s" in _table_row(rewritten, "floor")[7]


def test_the_committed_document_has_its_marker_and_its_hand_written_part() -> None:
    document = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert document.count(score.MARKER) == 1
    assert score.kept_part(document).startswith("## What the figures show")
    history = score.load_history(ROOT / "bench" / "results" / "history.jsonl")
    assert history and not any(run.get("quick") for run in history), "only full runs are kept"
    assert document == score.document(history, score.kept_part(document)), (
        "docs/benchmarks.md is not what the kept runs give: run `bench/run --render`")


def test_a_run_of_other_sizes_is_compared_with_a_warning() -> None:
    before = {**_run("2026-11-01 10:00 UTC", [_row("1. throughput", "floor", 60)]), "sizes": {"messages": 1000}}
    now = {**_run("2026-11-02 10:00 UTC", [_row("1. throughput", "floor", 66)]), "sizes": {"messages": 200}}
    document = score.document([before, now], "")
    assert "previous run 2026-11-01 10:00 UTC with other sizes (messages 1000 -> 200): compare with care." in document
    same = {**now, "sizes": {"messages": 1000}}
    assert "previous run 2026-11-01 10:00 UTC." in score.document([before, same], "")
