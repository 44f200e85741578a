"""The docs say what the code does: the lifecycle diagram is the table, drawn."""

from pathlib import Path

from gateway.domain import lifecycle

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_architecture_diagram_is_generated_from_the_lifecycle_table() -> None:
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    block = text.split("```mermaid\n", 1)[1].split("```", 1)[0].strip()
    assert block == lifecycle.mermaid().strip(), (
        "docs/architecture.md is out of date: paste `python -m gateway.domain.lifecycle` into its mermaid block"
    )


def test_every_state_is_reachable_from_capture_and_every_non_final_state_has_a_way_out() -> None:
    reachable: set = set()
    frontier = [lifecycle.NEW]
    while frontier:
        state = frontier.pop()
        for event in lifecycle.events_from(state):
            target = lifecycle.next_state(state, event)
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(lifecycle.State)
    for state in set(lifecycle.State) - lifecycle.FINAL_STATES:
        assert lifecycle.events_from(state), f"{state} has no way out"
    for state in lifecycle.FINAL_STATES:
        assert not lifecycle.events_from(state), f"final state {state} has a way out"
