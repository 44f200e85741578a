"""The benchmark keeps score: every run is kept (bench/results/history.jsonl, one run a line) and
docs/benchmarks.md shows each section's latest run beside the run before it, row by row, so that a change shows
its effect; the targets come first, as one list.

What is compared with what: a run with the sizes of a full run is compared only with such runs, a `--quick` one
only with quick ones (their sizes say nothing of the figures). A section is shown from the latest run that
measured it (`--only 1 3` leaves the other sections as their last run had them, dated), and compared with the
run that measured it before that. Everything after MARKER in the document is written by hand and kept as it is.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

MARKER = "<!-- bench/run writes everything above this line and keeps everything below it as it is -->"
_LEGACY_HEADING = "## What the figures show"  # where the hand-written part began before the marker existed


# --- kept runs ---------------------------------------------------------------------------------------------

def load_history(path: Path) -> list[dict]:
    """The runs kept in `path` (JSON lines), oldest first; none if there is no file yet."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def append_history(path: Path, run: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(run, ensure_ascii=False, separators=(",", ":")) + "\n")


def section_number(figure: dict) -> str:
    """"1" for "1. throughput on local drops" (a failed section's row is "1. (failed)")."""
    return figure["section"].split(".", 1)[0].strip()


def sections_of(run: dict) -> list[str]:
    """The sections a run measured (older runs did not list them: the sections of their rows)."""
    if "sections" in run:
        return [str(s) for s in run["sections"]]
    return sorted({section_number(f) for f in run["figures"]}, key=_order)


def _order(number: str) -> tuple[int, str]:
    return (int(number), "") if number.isdigit() else (10**6, number)


def shown(history: list[dict], quick: bool) -> list[tuple[str, dict, dict | None]]:
    """Per section, in order: (number, the latest run that measured it, the run that measured it before)."""
    runs = [run for run in history if bool(run.get("quick")) == quick]
    numbers = sorted({n for run in runs for n in sections_of(run)}, key=_order)
    out = []
    for number in numbers:
        measured = [run for run in runs if number in sections_of(run)]
        # A failed section is shown (its failure is news) but is no run to compare the next one with.
        earlier = [run for run in measured[:-1] if not failed(run, number)]
        out.append((number, measured[-1], earlier[-1] if earlier else None))
    return out


def failed(run: dict, number: str) -> bool:
    return any(section_number(f) == number and "(failed)" in f["section"] for f in run["figures"])


# --- the document ------------------------------------------------------------------------------------------

def number(value: float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(figure: dict) -> str:
    return f"{figure['ratio']:.2f}" if figure.get("ratio") is not None else ""


def _met(figure: dict) -> str:
    return "" if figure.get("met") is None else ("yes" if figure["met"] else "**no**")


def _previous(figure: dict | None) -> str:
    if figure is None:
        return ""
    text = f"{number(figure['value'])} {figure['unit']}".strip()
    return text + (f", ratio {_ratio(figure)}" if figure.get("ratio") is not None else "")


def change(now: dict, before: dict | None) -> str:
    """How a row moved since the run before: the ratio's change where the row has one (ratios are what one run
    can claim) unless its reference changed, else the value's; "better" or "worse" by the row's direction; a
    target newly met or missed."""
    if before is None:
        return ""
    same_reference = now.get("reference") == before.get("reference")
    key = "ratio" if same_reference and now.get("ratio") is not None and before.get("ratio") is not None else "value"
    new, old = now.get(key), before.get(key)
    words = []
    if isinstance(new, (int, float)) and isinstance(old, (int, float)) and old and math.isfinite(new):
        percent = (new / old - 1) * 100
        if abs(percent) < 0.5:
            words.append(f"{key} same")
        else:
            better = (percent > 0) == bool(now.get("higher", True))
            words.append(f"{key} {percent:+.0f}% ({'better' if better else 'worse'})")
    if now.get("met") is not None and before.get("met") is not None and now["met"] != before["met"]:
        words.append("now met" if now["met"] else "no longer met")
    return "; ".join(words)


def _key(figure: dict) -> tuple[str, str]:
    return figure["section"], figure["name"]


def targets_table(sections: list[tuple[str, dict, dict | None]]) -> str:
    """Every row with a target, the issue that set it first: the score."""
    lines = ["| issue | target | figure | value | reference | ratio | met | previous | change | run |",
             "|---|---|---|---:|---|---:|---|---|---|---|"]
    rows = []
    for number_, run, before in sections:
        previous = {_key(f): f for f in before["figures"]} if before else {}
        for f in run["figures"]:
            if section_number(f) == number_ and f.get("target"):
                was = previous.get(_key(f))
                rows.append((f, was, run, f"{_previous(was)} ({before['date'][:10]})" if was and before else ""))
    rows.sort(key=lambda r: (r[0].get("issue") is None, -(r[0].get("issue") or 0)))
    for f, before, run, said_before in rows:
        issue = str(f["issue"]) if f.get("issue") is not None else ""
        reference = f"{f['reference']} {number(f['reference_value'])}".strip()
        lines.append(f"| {issue} | {f['target']} | {f['section']}: {f['name']} | {number(f['value'])} {f['unit']} | "
                     f"{reference} | {_ratio(f)} | {_met(f)} | {said_before} | {change(f, before)} | "
                     f"{run['date']} |")
    return "\n".join(lines)


def section_table(number_: str, run: dict, before: dict | None) -> str:
    figures = [f for f in run["figures"] if section_number(f) == number_]
    previous = {_key(f): f for f in before["figures"]} if before else {}
    title = figures[0]["section"] if figures else f"{number_}."
    seconds = run.get("section_seconds", {}).get(number_)
    said = f"Run {run['date']}" + (f" ({seconds:.0f} s)" if seconds is not None else "")
    said += f"; previous run {before['date']}" if before else "; no earlier run of this section kept."
    if before and before.get("sizes") and run.get("sizes") and before["sizes"] != run["sizes"]:
        changed = ", ".join(f"{k} {before['sizes'].get(k)} -> {v}" for k, v in run["sizes"].items()
                            if before["sizes"].get(k) != v)
        said += f" with other sizes ({changed}): compare with care."
    elif before:
        said += "."
    lines = [f"### {title}", "", said, "",
             "| figure | value | reference | ref. value | ratio | target | met | previous | change | note |",
             "|---|---:|---|---:|---:|---|---|---|---|---|"]
    for f in figures:
        was = previous.get(_key(f))
        lines.append(f"| {f['name']} | {number(f['value'])} {f['unit']} | {f['reference']} | "
                     f"{number(f['reference_value'])} | {_ratio(f)} | {f['target']} | {_met(f)} | "
                     f"{_previous(was)} | {change(f, was)} | {f['note']} |")
    return "\n".join(lines)


def render(history: list[dict], quick: bool = False) -> str:
    """The targets, then each section's table (latest run beside the one before)."""
    sections = shown(history, quick)
    parts = ["## Targets", "", targets_table(sections), "", "## Sections"]
    parts += ["\n" + section_table(*s) for s in sections]
    return "\n".join(parts)


def kept_part(document: str) -> str:
    """What follows MARKER in an existing document (before the marker existed: from the findings heading)."""
    if MARKER in document:
        return document.split(MARKER, 1)[1].lstrip("\n")
    if _LEGACY_HEADING in document:
        return document[document.index(_LEGACY_HEADING):]
    return ""


def document(history: list[dict], kept: str) -> str:
    """The whole document: the latest run's kind (full or quick) compared with its own kind, then `kept`."""
    latest = history[-1]
    quick = bool(latest.get("quick"))
    note = " (--quick: sizes too small for figures)" if quick else ""
    return f"""# Benchmarks

Written by `bench/run` (README, "Benchmarks") down to the marker line; what follows it is written by hand and
kept by every run.

Latest run: {latest['date']}, {latest['seconds']:.0f} s{note}, sections {', '.join(sections_of(latest))}.
Machine: {latest['machine']}.

Every ratio is value / reference, both measured in the same run (medians where a figure repeats; the machine is
shared, so absolute times say little and only ratios are claimed). Each section is shown from the latest run
that measured it, beside the run before it ("previous": its value and ratio; "change": how the ratio moved, or
the value where there is no ratio). Every run of full size is kept in `bench/results/history.jsonl`; `--quick`
runs are not kept there (their sizes say nothing of the figures). "floor": `check_message` on the same bytes in
one loop in one process (parse, signature, XSD, rules; no I/O, no ledger). "shell pipeline": `xmllint --schema`
+ `xmlsec1 --verify` with the pinned certificate, as a city's IT team would script it, per file. Throughput and
latency are from dropping a file (rename into a city's outbox) to the delivery in the receiver's inbox and the
ACK in the sender's, through a real `ltcgw run` on local drops with a SQLite ledger.

{render(history, quick)}

{MARKER}

{kept}"""
