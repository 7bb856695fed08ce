"""Golden model cards: every task's card rendered from a fixed run folder (``config.json`` + ``results.json`` under
``tests/fixtures/cards/<case>/``) equals, byte for byte, the ``README.md`` the code rendered before the card path
was unified (committed next to them). A change of a card's text shows up here as a diff."""

from pathlib import Path

import pytest

from lanco_hf.hub.push import render_card

CASES = sorted(path for path in (Path(__file__).parents[1] / "fixtures" / "cards").iterdir() if path.is_dir())


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_card_equals_the_golden_card(case):
    assert render_card(case, f"lanco/{case.name}") == (case / "README.md").read_text(encoding="utf-8")


def test_every_task_has_a_golden_card():
    import json

    tasks = {json.loads((case / "results.json").read_text())["task"] for case in CASES}
    assert tasks == {
        "translation",
        "multilabel_classification",
        "image_classification",
        "image_text_retrieval",
        "node_classification",
        "contrastive_image_text",
    }
