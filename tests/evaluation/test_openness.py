"""CLIP openness: Acc-C / Acc-E / Acc-S on hand-made scores with known answers, seeded expansion orders, REPE
(retrieval, filtering, mixing) on a table model whose features are chosen by hand, the feature cache, the
zero-shot head against transformers' pipeline, and an end-to-end run on the real emoji set (skipped without it)."""

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import golden_results_keys
from PIL import Image
from torch import nn

from lanco_hf.data.cache import DataNotFoundError
from lanco_hf.data.clip_tokenizer import train_clip_tokenizer
from lanco_hf.evaluation.openness import OpennessEvaluator, expansion_orders, openness_scores
from lanco_hf.evaluation.openness_report import openness_markdown, plot_openness_curves
from lanco_hf.evaluation.repe import filter_captions, repe_class_features, retrieve_captions
from lanco_hf.evaluation.zero_shot import CLIPFeatureEncoder, ZeroShotClassifierHead, image_key, prompt_class_features

# ---------------------------------------------------------------- the protocol on hand-made scores
# Classes 0..5; vocabularies A = {0, 1}, B = {2, 3}, C = {4, 5}; seven images (label, scores over the classes).
VOCABULARIES = {"A": [0, 1], "B": [2, 3], "C": [4, 5]}
IMAGES = [
    (0, [0.9, 0.1, 0.95, 0, 0, 0]),  # right within A, loses to class 2 once B is in
    (1, [0.2, 0.8, 0, 0, 0, 0.85]),  # right within A, loses to class 5 once C is in
    (2, [0, 0, 0.9, 0.3, 0, 0]),
    (3, [0, 0, 0, 0.7, 0, 0]),
    (4, [0.95, 0, 0, 0, 0.9, 0]),  # right within C, loses to class 0 once A is in
    (5, [0, 0, 0, 0, 0, 0.8]),
    (0, [0.4, 0.6, 0, 0, 0, 0]),  # wrong within A already
]
# Worked out by hand: for each union of vocabularies, (accuracy over its images, {target: mean per-class accuracy}).
F = Fraction
BY_UNION = {
    "A": (F(2, 3), {"A": F(3, 4)}),
    "B": (F(1), {"B": F(1)}),
    "C": (F(1), {"C": F(1)}),
    "AB": (F(3, 5), {"A": F(1, 2), "B": F(1)}),
    "AC": (F(2, 5), {"A": F(1, 4), "C": F(1, 2)}),
    "BC": (F(1), {"B": F(1), "C": F(1)}),
    "ABC": (F(3, 7), {"A": F(0), "B": F(1), "C": F(1, 2)}),
}


def hand_made_scores():
    return torch.tensor([s for _, s in IMAGES]), torch.tensor([label for label, _ in IMAGES])


def expected_scores(target: str, orders: list[list[str]]) -> tuple[float, float, float]:
    """Acc-C, Acc-E, Acc-S of ``target`` from the hand-made table, for the given expansion orders."""
    acc_c = BY_UNION[target][0]
    acc_e, acc_s = [], []
    for order in orders:
        unions = ["".join(sorted(target + "".join(order[:j]))) for j in range(len(order) + 1)]
        acc_e.append(np.mean([float(BY_UNION[u][0]) for u in unions]))
        acc_s.append(np.mean([float(BY_UNION[u][1][target]) for u in unions[1:]]))
    return float(acc_c), float(np.mean(acc_e)), float(np.mean(acc_s))


@pytest.mark.parametrize("trials, seed", [(1, 42), (3, 42), (4, 7)])
def test_acc_c_e_s_equal_the_hand_worked_values(trials, seed):
    scores, labels = hand_made_scores()
    result = openness_scores(scores, labels, VOCABULARIES, trials=trials, seed=seed)
    for target, scored in result.vocabularies.items():
        acc_c, acc_e, acc_s = expected_scores(target, scored.orders)
        assert (scored.acc_c, scored.acc_e, scored.acc_s) == pytest.approx((acc_c, acc_e, acc_s), abs=1e-12)
    assert result.acc_c == pytest.approx((2 / 3 + 1 + 1) / 3)
    assert result.acc_e == pytest.approx(np.mean([v.acc_e for v in result.vocabularies.values()]))


def test_a_fixed_order_gives_the_paper_formulas():
    """With the order B then C for target A: Acc-E = mean(Acc_0, Acc_1, Acc_2) and Acc-S = mean(S_1, S_2)."""
    scores, labels = hand_made_scores()
    result = openness_scores(scores, labels, VOCABULARIES, trials=5, seed=0)
    a = result.vocabularies["A"]
    for order, accuracy, stability in zip(a.orders, a.accuracy_curves, a.stability_curves):
        if order == ["B", "C"]:
            assert accuracy == pytest.approx([2 / 3, 3 / 5, 3 / 7])
            assert stability == pytest.approx([3 / 4, 1 / 2, 0.0])
        else:
            assert accuracy == pytest.approx([2 / 3, 2 / 5, 3 / 7])
            assert stability == pytest.approx([3 / 4, 1 / 4, 0.0])
    assert {tuple(o) for o in a.orders} == {("B", "C"), ("C", "B")}  # seed 0 draws both orders in 5 trials
    # curves averaged over targets and trials start at the mean Acc-C
    assert result.accuracy_curve()[0] == pytest.approx(result.acc_c)


def test_expansion_orders_are_seeded_and_reproducible():
    names = [f"V{i}" for i in range(8)]
    first = expansion_orders(names, trials=3, seed=42)
    assert first == expansion_orders(names, trials=3, seed=42)
    assert first != expansion_orders(names, trials=3, seed=43)
    rng = np.random.RandomState(42)  # the official code's draws: target by target, trial by trial
    for target in names:
        others = [n for n in names if n != target]
        assert first[target] == [rng.permutation(others).tolist() for _ in range(3)]
        assert all(sorted(order) == others for order in first[target])
    scores, labels = hand_made_scores()
    a = openness_scores(scores, labels, VOCABULARIES, trials=3, seed=5)
    b = openness_scores(scores, labels, VOCABULARIES, trials=3, seed=5)
    assert a.to_dict() == b.to_dict()
    assert [v.orders for v in a.vocabularies.values()] == list(expansion_orders(list(VOCABULARIES), 3, 5).values())


@pytest.mark.parametrize(
    "vocabularies, match",
    [
        ({"A": [0, 1], "B": [1, 2, 3], "C": [4, 5]}, "disjoint"),
        ({"A": [0, 1], "B": [2, 3], "C": [4]}, "in no vocabulary"),
        ({"A": [0, 1, 2, 3, 4, 5]}, "allowed: >= 2"),
        ({"A": [0, 1], "B": [2, 3], "C": [4, 5, 6]}, r"allowed: 0\.\.5"),
        ({"A": [0, 1], "B": [2, 3], "C": [4, 5], "D": []}, "is empty"),
    ],
)
def test_bad_vocabularies_are_rejected(vocabularies, match):
    scores, labels = hand_made_scores()
    with pytest.raises(ValueError, match=match):
        openness_scores(scores, labels, vocabularies)


def test_bad_trials_and_unlabelled_vocabulary_are_rejected():
    scores, labels = hand_made_scores()
    with pytest.raises(ValueError, match="trials=0"):
        openness_scores(scores, labels, VOCABULARIES, trials=0)
    keep = labels != 2
    keep &= labels != 3
    with pytest.raises(ValueError, match=r"vocabularies\['B'\] has no labelled image"):
        openness_scores(scores[keep], labels[keep], VOCABULARIES)


def test_report_and_plots(tmp_path):
    scores, labels = hand_made_scores()
    results = {
        "plain": openness_scores(scores, labels, VOCABULARIES),
        "other": openness_scores(-scores, labels, VOCABULARIES),
    }
    table = openness_markdown(results)
    assert f"| plain | {100 * (2 / 3 + 2) / 3:.2f} |" in table  # Acc-C = (2/3 + 1 + 1) / 3
    assert table.count("\n| A |") == 1
    paths = plot_openness_curves(results, tmp_path)
    assert [p.name for p in paths] == ["openness_extensibility.png", "openness_stability.png"]
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size[0] > 300


# ---------------------------------------------------------------- REPE with hand-chosen features
class TableModel(nn.Module):
    """A CLIP-like model whose text features are looked up in a table and whose images are their own features."""

    def __init__(self, text_features: dict[str, list[float]]):
        super().__init__()
        self.texts = list(text_features)
        self.table = nn.Parameter(torch.tensor(list(text_features.values())))

    def get_text_features(self, input_ids, attention_mask=None):
        return self.table[input_ids[:, 0]]

    def get_image_features(self, pixel_values):
        return pixel_values


class TableProcessor:
    def __init__(self, texts):
        self.index = {text: i for i, text in enumerate(texts)}

    def __call__(self, text=None, images=None, **kwargs):
        if text is not None:
            return {"input_ids": torch.tensor([[self.index[t]] for t in text])}
        return {"pixel_values": torch.stack([torch.as_tensor(image, dtype=torch.float) for image in images])}


def unit(*values):
    v = torch.tensor(values, dtype=torch.float)
    return (v / v.norm()).tolist()


CLASSES = ["cat", "sea_lion", "bird"]
TEXT_FEATURES = {
    # prompts (template "a photo of a {}.") and queries (query template "a photo of a {}")
    "a photo of a cat.": [1.0, 0.2, 0.0, 0.0],
    "a photo of a sea lion.": [0.1, 1.0, 0.2, 0.0],
    "a photo of a bird.": [0.0, 0.1, 1.0, 0.3],
    "a photo of a cat": [1.0, 0.0, 0.0, 0.0],
    "a photo of a sea lion": [0.0, 1.0, 0.0, 0.0],
    "a photo of a bird": [0.0, 0.0, 1.0, 0.0],
    # the corpus: its rank for the cat query is the order of the first coordinate
    "a kitten on a sofa": [0.99, 0.0, 0.0, 0.1],  # nearest to "cat" but never says it: filtered out
    "my Cat sleeps": [0.9, 0.0, 0.3, 0.0],
    "a cat and a lion": [0.8, 0.6, 0.0, 0.0],  # mentions both cat and (sea) lion
    "CATS everywhere": [0.5, 0.0, 0.0, 0.8],
    "the sea at noon": [0.0, 0.7, 0.0, 0.7],
    "an empty street": [0.0, 0.0, 0.0, 1.0],
}
CORPUS = [t for t in TEXT_FEATURES if not t.startswith("a photo of")]


def table_encoder():
    return CLIPFeatureEncoder(TableModel(TEXT_FEATURES), TableProcessor(TEXT_FEATURES), batch_size=2)


def normalized_mean(texts):
    return torch.stack([torch.tensor(unit(*TEXT_FEATURES[t])) for t in texts]).mean(0)


def test_filter_keeps_only_captions_naming_a_token_of_the_class():
    captions = ["a kitten", "my Cat sleeps", "category theory", "a dog", "sea shells", "LIONS"]
    assert filter_captions(captions, "cat") == ["my Cat sleeps", "category theory"]  # substring, as in the paper
    assert filter_captions(captions, "sea_lion") == ["sea shells", "LIONS"]  # tokens split on '_' and ' '
    assert filter_captions(captions, "bird") == []


def test_retrieval_ranks_filters_truncates_and_falls_back():
    encoder = table_encoder()
    retrieval = retrieve_captions(encoder, CORPUS, CLASSES, query_template="a photo of a {}", num_retrieved=4, k=2)
    # cat: the 4 nearest are kitten, my Cat, cat and a lion, CATS; the kitten is filtered out, k keeps the next two
    assert retrieval.captions[0] == ["my Cat sleeps", "a cat and a lion"]
    # sea lion: "the sea at noon" (cosine 0.71) then "a cat and a lion" (0.6), both naming a token of "sea_lion"
    assert retrieval.captions[1] == ["the sea at noon", "a cat and a lion"]
    # bird: nothing names it, so the query prompt stands in
    assert retrieval.captions[2] == ["a photo of a bird"] and retrieval.fallbacks == ["bird"]
    for i, captions in enumerate(retrieval.captions):
        torch.testing.assert_close(retrieval.retrieved_means[i], normalized_mean(captions))
    # retrieving only the nearest caption keeps nothing for cat (the kitten is dropped): fallback again
    assert retrieve_captions(encoder, CORPUS, ["cat"], num_retrieved=1).captions == [["a photo of a cat"]]
    # a datasets.Dataset corpus is read through its caption column
    from datasets import Dataset

    corpus = Dataset.from_dict({"text": CORPUS, "id": list(range(len(CORPUS)))})
    again = retrieve_captions(encoder, corpus, CLASSES, caption_column="text", num_retrieved=4, k=2)
    assert again.captions == retrieval.captions


def test_retrieval_can_search_a_given_index():
    encoder = table_encoder()
    # an index (e.g. image features) under which "CATS everywhere" is the nearest row to the cat query
    index = torch.eye(4)[[3, 3, 3, 0, 3, 3]]
    retrieval = retrieve_captions(encoder, CORPUS, ["cat"], num_retrieved=1, k=5, index=index)
    assert retrieval.captions == [["CATS everywhere"]]
    with pytest.raises(ValueError, match=r"expected \(6, dim\)"):
        retrieve_captions(encoder, CORPUS, ["cat"], index=torch.eye(4))


def test_repe_lambda_zero_is_the_prompts_and_one_is_the_retrieved_mean():
    encoder = table_encoder()
    templates = ["a photo of a {}."]
    retrieval = retrieve_captions(encoder, CORPUS, CLASSES, num_retrieved=6, k=100)
    plain = prompt_class_features(encoder, CLASSES, templates)
    torch.testing.assert_close(repe_class_features(encoder, CLASSES, templates, retrieval, lam=0.0), plain)
    expected_means = torch.stack(
        [
            normalized_mean(["my Cat sleeps", "a cat and a lion", "CATS everywhere"]),
            normalized_mean(["a cat and a lion", "the sea at noon"]),
            normalized_mean(["a photo of a bird"]),
        ]
    )
    torch.testing.assert_close(retrieval.retrieved_means, expected_means)
    only_retrieved = repe_class_features(encoder, CLASSES, templates, retrieval, lam=1.0)
    torch.testing.assert_close(only_retrieved, nn.functional.normalize(expected_means, dim=-1))
    # the paper's lambda: per template (1 - lam) t + lam r, renormalised
    prompts = torch.stack([torch.tensor(unit(*TEXT_FEATURES[f"a photo of a {c.replace('_', ' ')}."])) for c in CLASSES])
    mixed = repe_class_features(encoder, CLASSES, templates, retrieval, lam=0.25)
    torch.testing.assert_close(mixed, nn.functional.normalize(0.75 * prompts + 0.25 * expected_means, dim=-1))
    with pytest.raises(ValueError, match=r"lam=1.5 is out of range; allowed: \[0, 1\]"):
        repe_class_features(encoder, CLASSES, templates, retrieval, lam=1.5)
    with pytest.raises(ValueError, match="k=0"):
        retrieve_captions(encoder, CORPUS, CLASSES, k=0)


def test_template_ensemble_averages_normalised_features_then_renormalises():
    encoder = table_encoder()
    templates = ["a photo of a {}.", "a photo of a {}"]
    features = prompt_class_features(encoder, ["cat"], templates)
    expected = (torch.tensor(unit(1.0, 0.2, 0.0, 0.0)) + torch.tensor([1.0, 0, 0, 0])) / 2
    torch.testing.assert_close(features[0], expected / expected.norm())


# ---------------------------------------------------------------- a real (tiny, untrained) CLIPModel
LABELS = ["red square", "blue circle", "green tree", "yellow sun"]


def tiny_clip():
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

    texts = [f"a {label} emoji" for label in LABELS] + [f"{label}" for label in LABELS] + ["a photo of a thing"]
    tokenizer = train_clip_tokenizer(texts * 5, vocab_size=300, model_max_length=16)
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16})
    config = CLIPConfig(
        projection_dim=8,
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 16,
            "pad_token_id": 0,
            "bos_token_id": 2,
            "eos_token_id": 3,
        },
        vision_config={
            "image_size": 16,
            "patch_size": 8,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        },
    )
    return CLIPModel(config).eval(), CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)


def random_images(n, seed=0):
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)) for _ in range(n)]


def test_cached_features_equal_direct_ones_and_each_input_is_encoded_once():
    model, processor = tiny_clip()
    images = random_images(10)
    labels = [LABELS[i % 4] for i in range(10)]
    vocabularies = {"shapes": ["red square", "blue circle"], "nature": ["green tree", "yellow sun"]}
    templates = ["a {} emoji", "{}"]
    evaluator = OpennessEvaluator(
        model, processor, images + images[:3], labels + labels[:3], vocabularies, templates=templates, batch_size=4
    )
    assert evaluator.encoder.num_encoded_images == 10  # the three repeated images hit the cache
    with torch.no_grad():
        direct = model.get_image_features(pixel_values=processor(images=images, return_tensors="pt")["pixel_values"])
    torch.testing.assert_close(evaluator.image_features[:10], nn.functional.normalize(direct.pooler_output, dim=-1))

    first = evaluator.evaluate()
    assert evaluator.encoder.num_encoded_texts == len(LABELS) * len(templates)
    again = evaluator.evaluate()
    retrieval = evaluator.retrieve(["a red square emoji", "a green tree", "yellow"], num_retrieved=3, k=2)
    evaluator.evaluate(evaluator.repe_features(retrieval))
    # prompts are not encoded again: only the two new captions and the four REPE queries are
    assert evaluator.encoder.num_encoded_texts == len(LABELS) * len(templates) + 2 + len(LABELS)
    assert again.to_dict() == first.to_dict()

    # a cold cache with another batch size gives the same features and the same scores
    cold = OpennessEvaluator(
        model, processor, images + images[:3], labels + labels[:3], vocabularies, templates=templates, batch_size=1
    )
    torch.testing.assert_close(cold.image_features, evaluator.image_features)
    torch.testing.assert_close(cold.class_features(), evaluator.class_features())
    assert cold.evaluate().to_dict() == first.to_dict()


def test_evaluator_rejects_labels_outside_the_vocabularies():
    model, processor = tiny_clip()
    with pytest.raises(ValueError, match="are in no vocabulary"):
        OpennessEvaluator(
            model, processor, random_images(2), ["red square", "purple"], {"a": ["red square"], "b": ["green tree"]}
        )


def test_zero_shot_head_matches_the_transformers_pipeline(tmp_path):
    from transformers import pipeline

    model, processor = tiny_clip()
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    classifier = pipeline("zero-shot-image-classification", model=str(tmp_path))
    image = random_images(1, seed=3)[0]
    scores = {
        r["label"]: r["score"] for r in classifier(image, candidate_labels=LABELS, hypothesis_template="a {} emoji")
    }

    encoder = CLIPFeatureEncoder(model, processor)
    head = ZeroShotClassifierHead.from_prompts(encoder, LABELS, ["a {} emoji"])
    probabilities = head(encoder.encode_images([image])).softmax(-1)[0]
    assert [scores[label] for label in LABELS] == pytest.approx(probabilities.tolist(), abs=1e-5)
    assert head.predict(encoder.encode_images([image])) == [max(scores, key=scores.get)]


# ---------------------------------------------------------------- the real emoji set, end to end
def _emoji_tarball():
    from lanco_hf.data.emoji import find_cldr_root, find_emoji_tarball

    try:
        find_cldr_root(fetch=False)
        return find_emoji_tarball(Path.home() / ".cache" / "lanco_hf" / "emoji", fetch=False)
    except DataNotFoundError:
        return None


EMOJI_TARBALL = _emoji_tarball()
needs_emoji = pytest.mark.skipif(
    EMOJI_TARBALL is None,
    reason=(
        "npm pack emoji-datasource-google@16.0.0 --pack-destination ~/.cache/lanco_hf/emoji; "
        "apt-get install unicode-cldr-core"
    ),
)


@needs_emoji
@pytest.mark.slow
def test_tiny_clip_trained_on_emoji_then_evaluated_end_to_end(tmp_path, monkeypatch):
    from transformers import AutoModel, AutoProcessor, pipeline

    from lanco_hf.cli import main
    from lanco_hf.data.emoji import emoji_dataset
    from lanco_hf.hub.push import render_card

    monkeypatch.setenv("LANCO_HF_EMOJI_PATH", str(EMOJI_TARBALL))
    model_dir = tmp_path / "clip"
    main(
        [
            "train",
            str(Path(__file__).parents[2] / "configs" / "clip_emoji.yaml"),
            f"output_dir={model_dir}",
            "model_config.projection_dim=16",
            "model_config.text_config.hidden_size=16",
            "model_config.text_config.intermediate_size=32",
            "model_config.text_config.num_hidden_layers=1",
            "model_config.vision_config.hidden_size=16",
            "model_config.vision_config.intermediate_size=32",
            "model_config.vision_config.num_hidden_layers=1",
            "image_size=16",
            "max_steps=3",
            "per_device_train_batch_size=16",
            "tokenizer_vocab_size=400",
            "disable_tqdm=true",
        ]
    )
    trained = json.loads((model_dir / "results.json").read_text())
    assert list(trained) == golden_results_keys("contrastive_clip")
    assert trained["train_steps"] == 3 and trained["zero_shot"]["classes"] == 98
    # `lanco-hf push` re-renders the card under the repo id, with the zero-shot accuracy as model-index
    card = render_card(model_dir, "someone/emoji-clip")
    accuracy = f"{100 * trained['zero_shot']['test_accuracy']:.1f}%"
    assert "# someone/emoji-clip" in card and f"accuracy **{accuracy}**" in card
    assert "pipeline_tag: zero-shot-image-classification" in card and "Delving into the Openness of CLIP" in card

    output = tmp_path / "openness"
    main(
        [
            "evaluate",
            "openness",
            "--model",
            str(model_dir),
            "--trials",
            "2",
            "--k",
            "5",
            "--num-retrieved",
            "50",
            "--repe-index",
            "text",
            "image",
            "--output-dir",
            str(output),
        ]
    )
    summary = json.loads((output / "openness.json").read_text())
    results = summary["results"]
    assert list(results) == ["prompts", "REPE (text index)", "REPE (image index)"]
    assert summary["vocabularies"] == {
        "Activities": 5,
        "Animals & Nature": 8,
        "Flags": 3,
        "Food & Drink": 7,
        "Objects": 18,
        "People & Body": 16,
        "Smileys & Emotion": 16,
        "Symbols": 14,
        "Travel & Places": 11,
    }
    # each distinct picture of the test split and of the training split (the image index) is encoded once
    dataset = emoji_dataset()
    pictures = {image_key(image) for split in ("train", "test") for image in dataset[split]["image"]}
    assert summary["encoded"]["images"] == len(pictures)
    for result in results.values():
        assert len(result["accuracy_curve"]) == 9 and result["accuracy_curve"][0] == pytest.approx(result["acc_c"])
        assert all(len(v["orders"]) == 2 for v in result["vocabularies"].values())
    # the last expansion step holds all 98 classes: its accuracy is the training job's zero-shot test accuracy
    assert results["prompts"]["accuracy_curve"][-1] == pytest.approx(trained["zero_shot"]["test_accuracy"])
    # the JSON's Acc-C of the prompts on Flags equals a recomputation with the pipeline-equivalent head
    test = dataset["test"]
    model, processor = AutoModel.from_pretrained(model_dir), AutoProcessor.from_pretrained(model_dir)
    encoder = CLIPFeatureEncoder(model, processor)
    flags = [c for c, v in zip(test["subcategory"], test["category"]) if v == "Flags"]
    images = [im for im, v in zip(test["image"], test["category"]) if v == "Flags"]
    head = ZeroShotClassifierHead.from_prompts(
        encoder, ["country flag", "flag", "subdivision flag"], summary["templates"]
    )
    accuracy = np.mean([p == c for p, c in zip(head.predict(encoder.encode_images(images)), flags)])
    assert results["prompts"]["vocabularies"]["Flags"]["acc_c"] == pytest.approx(accuracy)
    assert (output / "openness_extensibility.png").is_file() and "| prompts |" in (output / "openness.md").read_text()
    classifier = pipeline("zero-shot-image-classification", model=str(model_dir))
    assert len(classifier(images[0], candidate_labels=["flag", "face smiling"], hypothesis_template="a {} emoji")) == 2
