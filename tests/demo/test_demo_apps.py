"""The demo apps through their Python functions: each task's output equals what the transformers pipeline gives
for the same input, the translation heat-maps are the cross-attention with the top-k pattern marked, the label
graph shown is the model's, bad input names the field; the page of each app builds with its components."""

import numpy as np
import pytest
import torch
from helpers import save_tiny_clip, save_tiny_label_graph_classifier
from PIL import Image
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

from lanco_hf.demo import TextClassificationDemo, TranslationDemo, ZeroShotImageDemo, load_demo

pytest.importorskip("gradio")

SENTENCES = ["And Ruth said, Intreat me not to leave thee.", "Jonah rose up to flee unto Tarshish."]
LABELS = ["game::arcade", "use::gameplaying", "field::biology", "interface::x11"]
WORDS = "a game of ancient warfare for biology sequence tools server network the and".split()
COLOURS = ["red square", "blue circle", "green tree"]


def elem_ids(page) -> set[str]:
    return {block.elem_id for block in page.blocks.values() if getattr(block, "elem_id", None)}


@pytest.mark.slow
def test_translation_app_equals_the_pipeline_and_shows_the_top_k_cross_attention(tiny_translation_run):
    run_dir, _ = tiny_translation_run
    app = load_demo(run_dir)  # the app of the card's pipeline_tag
    assert isinstance(app, TranslationDemo) and app.cross_topk == 4
    translator = pipeline("translation", model=str(run_dir), trust_remote_code=True)
    assert [app.translate(s) for s in SENTENCES] == [r["translation_text"] for r in translator(SENTENCES)]

    translation, weights, source, target = app.translate_with_attention(SENTENCES[0])
    config = app.model.config
    tokenizer = AutoTokenizer.from_pretrained(run_dir)
    assert len(source) == len(tokenizer(SENTENCES[0]).input_ids) and len(target) >= 1
    assert weights.shape == (config.decoder_layers, config.decoder_attention_heads, len(target), len(source))
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)  # each output token's attention is a distribution
    kept = (weights > 0).sum(-1)
    assert (kept == min(4, len(source))).all()  # explicit sparse: k source tokens per output token and head

    _, figure = app.translate_and_plot(SENTENCES[0])
    panels = [axis for axis in figure.axes if axis.get_title().startswith("layer")]
    assert len(panels) == config.decoder_layers * config.decoder_attention_heads
    for index, axis in enumerate(panels):
        layer, head = divmod(index, config.decoder_attention_heads)
        assert axis.get_title() == f"layer {layer + 1}, head {head + 1} (top-4)"
        np.testing.assert_allclose(axis.images[0].get_array(), weights[layer, head], atol=1e-6)
        marked = {(int(x), int(y)) for x, y in axis.collections[0].get_offsets()}
        assert marked == {(int(c), int(r)) for r, c in zip(*np.nonzero(weights[layer, head] > 0))}

    assert {"source", "translation", "submit", "attention"} <= elem_ids(app.blocks())
    with pytest.raises(ValueError, match="text: enter a sentence"):
        app.translate("   ")


def test_text_classification_app_equals_the_pipeline_and_shows_the_learned_label_graph(tmp_path):
    save_tiny_label_graph_classifier(tmp_path, LABELS, WORDS)
    app = load_demo(tmp_path)
    assert isinstance(app, TextClassificationDemo)
    classifier = pipeline("text-classification", model=str(tmp_path), top_k=None, device="cpu")
    for text in ("a game of ancient warfare", "biology sequence tools for the network server"):
        scores = app.classify(text)
        assert scores == {entry["label"]: entry["score"] for entry in classifier([text])[0]}
        assert sorted(scores) == sorted(LABELS)
        threshold = app.model.config.threshold
        assert app.predicted(scores) == [label for label, score in scores.items() if score >= threshold]

    model = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        np.testing.assert_allclose(app.label_graph(), model.graph().numpy())
    assert not np.allclose(app.label_graph(), np.eye(len(LABELS)))  # the saved, non-identity G

    page = app.blocks()
    assert {"text", "submit", "scores", "predicted", "label-graph"} <= elem_ids(page)
    (plot,) = [block for block in page.blocks.values() if getattr(block, "elem_id", None) == "label-graph"]
    assert plot.value is not None  # the graph's figure is on the page before any input
    with pytest.raises(ValueError, match="text: enter a text"):
        app.classify("")


def test_zero_shot_image_app_equals_the_pipeline_for_any_candidate_labels(tmp_path):
    save_tiny_clip(tmp_path, COLOURS)
    app = load_demo(tmp_path)
    assert isinstance(app, ZeroShotImageDemo) and app.template == "This is a photo of {}."
    classifier = pipeline("zero-shot-image-classification", model=str(tmp_path), device="cpu")
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (20, 20, 3), dtype=np.uint8))
    for labels, template in ((COLOURS, None), (["tree", "sun"], "a photo of {}.")):
        scores = app.classify(image, " , ".join(labels) + ",", template)
        expected = classifier(image, candidate_labels=labels, hypothesis_template=template or app.template)
        assert scores == pytest.approx({entry["label"]: entry["score"] for entry in expected})
        assert sum(scores.values()) == pytest.approx(1.0)

    assert {"image", "labels", "template", "submit", "scores"} <= elem_ids(app.blocks())
    with pytest.raises(ValueError, match="candidate labels: give at least one"):
        app.classify(image, " , ")
    with pytest.raises(ValueError, match="template: .* has no {}"):
        app.classify(image, "tree", "a photo")
    with pytest.raises(ValueError, match="image: upload"):
        app.classify(None, "tree")


def test_the_app_comes_from_the_card_or_task_and_bad_choices_name_the_field(tmp_path):
    save_tiny_clip(tmp_path, COLOURS)
    (tmp_path / "README.md").unlink()
    with pytest.raises(ValueError, match="task: the model card of .* has no pipeline_tag; the demo has apps for"):
        load_demo(tmp_path)
    assert isinstance(load_demo(tmp_path, task="zero-shot-image-classification"), ZeroShotImageDemo)
    with pytest.raises(ValueError, match="task='summarization' is not supported; allowed values: 'translation'"):
        load_demo(tmp_path, task="summarization")
    with pytest.raises(ValueError, match="model: .* is not a folder"):
        load_demo(tmp_path / "config.json")
