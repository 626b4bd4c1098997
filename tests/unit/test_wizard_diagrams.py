"""The committed wizard diagrams match the machines, and every step is reachable and can finish."""

from __future__ import annotations

import pytest

from dialogs.diagram import diagram_path, edges, mermaid, wizard_specs
from dialogs.flow import Flow, WizardSpec
from dialogs.purchase import PURCHASE, S

# Every wizard in dialogs/ commits its diagram beside its module.
WITH_DIAGRAMS = sorted(wizard_specs(), key=lambda spec: spec.name)


def _successors(flow: type[Flow]) -> dict[str, set[str]]:
    following: dict[str, set[str]] = {state.value: set() for state in flow.states}
    for source, dest, _ in edges(flow):
        following[source].add(dest)
    return following


def _reachable(start: str, following: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for dest in following[todo.pop()] - seen:
            seen.add(dest)
            todo.append(dest)
    return seen


@pytest.mark.parametrize("spec", WITH_DIAGRAMS, ids=lambda spec: spec.name)
def test_the_committed_diagram_is_the_generated_one(spec: WizardSpec) -> None:
    path = diagram_path(spec)
    assert path.name == f"{spec.flow.__module__.rsplit('.', 1)[-1]}.mmd"
    assert path.read_text(encoding="utf-8") == mermaid(spec.flow), (
        f"{path} is out of date: run `python -m dialogs.diagram` and commit it"
    )


@pytest.mark.parametrize("spec", WITH_DIAGRAMS, ids=lambda spec: spec.name)
def test_every_step_is_reachable_and_can_reach_the_review(spec: WizardSpec) -> None:
    flow = spec.flow
    following = _successors(flow)
    states = set(following)
    # Transitions name only real states (a typo would make transitions build a new one).
    assert {dest for dests in following.values() for dest in dests} <= states
    assert _reachable(flow.initial, following) == states
    unfinished = {state for state in states if flow.review not in _reachable(state, following)}
    assert unfinished == set()


@pytest.mark.parametrize("spec", WITH_DIAGRAMS, ids=lambda spec: spec.name)
def test_every_edit_target_returns_to_the_review(spec: WizardSpec) -> None:
    flow = spec.flow
    returning = {
        source
        for source, dest, label in edges(flow)
        if dest == flow.review and "after editar" in label
    }
    assert set(flow.editable) <= returning | {flow.review}
    assert len(flow.editable) == len(set(flow.editable))


def test_the_purchase_diagram_reads_as_mermaid() -> None:
    assert PURCHASE in WITH_DIAGRAMS
    text = mermaid(PURCHASE.flow)
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> title" in lines
    assert "    vendor --> vendor_new : none" in lines
    assert "    item --> item : quitar n" in lines
    assert "    review --> billing : editar 9" in lines
    assert lines[-1] == "    review --> [*] : guardar"
    named = {part for line in lines[2:] for part in line.split(" : ")[0].split(" --> ")}
    assert {part.strip() for part in named} == {s.value for s in S} | {"[*]"}
