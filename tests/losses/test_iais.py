"""IAIS ("Learning Relation Alignment for Calibrated Cross-modal Retrieval", Ren et al., ACL 2021): block-restricted
attention maps, singular / distributed alignment, the symmetric-KL loss on positive pairs, ISD and recall@K against
independent computations; the ViLT hooks, the Trainer glue (hard negatives, lambda(t) schedule, compute_metrics) on a
tiny ViLT; the Tux Paint data (skipped without the package) and the run configs."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import golden_results_keys
from sklearn.metrics import top_k_accuracy_score
from transformers import TrainingArguments, ViltConfig, ViltForImageAndTextRetrieval

from lanco_hf import IAISLoss, isd, recall_at_k
from lanco_hf.data.cache import DataNotFoundError
from lanco_hf.data.pairs import ImageTextGrid, ImageTextPairs, collate_pairs
from lanco_hf.data.tuxpaint import STAMPS_SUBDIR, find_stamps_root
from lanco_hf.evaluation.retrieval import chance_recall, evaluate_retrieval, retrieval_metrics
from lanco_hf.losses.capture import ViltQueryKeyCapture
from lanco_hf.losses.iais import (
    BlockAttention,
    attention_entropy,
    block_attention,
    iais_distance,
    pseudo_attention,
    symmetric_kl,
)
from lanco_hf.losses.ranking import hardest_negatives, hinge_ranking_loss
from lanco_hf.training.iais import OFFICIAL_IAIS_SCALE, IAISTrainer, exp_schedule, ranking_iais_loss

# Two pairs in one padded sequence of N = 9 tokens: pair 0 has words at 1..3 and regions at 5..8, pair 1 has words at
# 1..2 (position 3 is its [SEP], 4 padding) and regions at 6..7 (8 is padding).
TEXT_SPANS = [[1, 2, 3], [1, 2]]
IMAGE_SPANS = [[5, 6, 7, 8], [6, 7]]
N, HEADS, HEAD_DIM = 9, 3, 4


def span_masks(text_spans=TEXT_SPANS, image_spans=IMAGE_SPANS, n=N):
    text = torch.zeros(len(text_spans), n, dtype=torch.bool)
    image = torch.zeros(len(image_spans), n, dtype=torch.bool)
    for row, (words, regions) in enumerate(zip(text_spans, image_spans)):
        text[row, words], image[row, regions] = True, True
    return text, image


def random_query_key(batch=2, scale=1.5, dtype=torch.float64):
    return (
        torch.randn(batch, HEADS, N, HEAD_DIM, dtype=dtype) * scale,
        torch.randn(batch, HEADS, N, HEAD_DIM, dtype=dtype) * scale,
    )


def reference_block(query, key, rows, columns):
    """Softmax over the ``columns`` keys of every ``rows`` query, per head, then the mean over heads (numpy loops)."""
    q, k = query.detach().double().numpy(), key.detach().double().numpy()
    out = np.zeros((len(rows), len(columns)))
    for head in range(q.shape[0]):
        for a, i in enumerate(rows):
            logits = np.array([q[head, i] @ k[head, j] / math.sqrt(q.shape[-1]) for j in columns])
            out[a] += np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    return out / q.shape[0]


def reference_distance(query, key, words, regions, alignment, mode):
    """The IAIS m-KL of one pair from the official recipe, on the pair's own (unpadded) blocks."""
    ll, vv = reference_block(query, key, words, words), reference_block(query, key, regions, regions)
    lv, vl = reference_block(query, key, words, regions), reference_block(query, key, regions, words)
    real = ll if mode == "L" else vv
    if alignment == "distributed":
        pseudo, eps = (lv @ vl if mode == "L" else vl @ lv), 1e-6
    else:
        cross, other = (lv, vv) if mode == "L" else (vl, ll)
        m = cross.argmax(-1)
        gathered = other[np.ix_(m, m)]
        pseudo, eps = np.exp(gathered) / np.exp(gathered).sum(-1, keepdims=True), 0.0
    kl = lambda p, q: (p * (np.log(p) - np.log(q + eps))).sum() / len(p)  # noqa: E731  KLDivLoss batchmean, 2-D
    return kl(pseudo, real) + kl(real, pseudo)


# ---------------------------------------------------------------- block-restricted maps and alignments


def test_block_maps_are_row_stochastic_inside_their_block_and_zero_outside():
    query, key = random_query_key()
    text, image = span_masks()
    maps = block_attention(query, key, text, image)
    blocks = {
        "text_text": (text, text),
        "text_image": (text, image),
        "image_text": (image, text),
        "image_image": (image, image),
    }
    for name, (rows, columns) in blocks.items():
        matrix = getattr(maps, name)
        inside = rows[:, :, None] & columns[:, None, :]
        assert (matrix[~inside] == 0).all(), name
        torch.testing.assert_close(matrix.sum(-1)[rows], torch.ones(int(rows.sum()), dtype=matrix.dtype))
        for b in range(2):
            r, c = rows[b].nonzero().squeeze(-1).tolist(), columns[b].nonzero().squeeze(-1).tolist()
            np.testing.assert_allclose(
                matrix[b][np.ix_(r, c)].numpy(), reference_block(query[b], key[b], r, c), atol=1e-12
            )


@pytest.mark.parametrize("mode", ["L", "V"])
def test_distributed_alignment_is_the_product_of_the_cross_modal_maps(mode):
    query, key = random_query_key()
    text, image = span_masks()
    maps = block_attention(query, key, text, image)
    pseudo = pseudo_attention(maps, "distributed", mode)
    for b in range(2):
        words, regions = TEXT_SPANS[b], IMAGE_SPANS[b]
        lv, vl = maps.text_image[b][np.ix_(words, regions)], maps.image_text[b][np.ix_(regions, words)]
        own = words if mode == "L" else regions
        expected = lv @ vl if mode == "L" else vl @ lv
        torch.testing.assert_close(pseudo[b][np.ix_(own, own)], expected)
        torch.testing.assert_close(pseudo[b].sum(), torch.tensor(float(len(own)), dtype=pseudo.dtype))  # zero elsewhere


@pytest.mark.parametrize("mode", ["L", "V"])
def test_singular_alignment_is_a_softmax_over_the_argmax_mapped_probabilities(mode):
    query, key = random_query_key()
    text, image = span_masks()
    maps = block_attention(query, key, text, image)
    pseudo = pseudo_attention(maps, "singular", mode)
    for b in range(2):
        words, regions = TEXT_SPANS[b], IMAGE_SPANS[b]
        own, other = (words, regions) if mode == "L" else (regions, words)
        cross = (maps.text_image if mode == "L" else maps.image_text)[b]
        target = (maps.image_image if mode == "L" else maps.text_text)[b]
        m = [other[int(cross[i, other].argmax())] for i in own]
        expected = torch.stack([torch.softmax(torch.stack([target[m_i, m_j] for m_j in m]), 0) for m_i in m])
        torch.testing.assert_close(pseudo[b][np.ix_(own, own)], expected)
        assert pseudo[b].sum().item() == pytest.approx(len(own))


# ---------------------------------------------------------------- the loss


def test_symmetric_kl_is_zero_for_equal_maps_and_positive_otherwise():
    rows = torch.tensor([[False, True, True, True]])
    a = torch.zeros(1, 4, 4)
    a[0, 1:, 1:] = torch.tensor([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [1 / 3, 1 / 3, 1 / 3]])
    b = a.clone()
    b[0, 1, 1:] = torch.tensor([0.2, 0.4, 0.4])
    assert symmetric_kl(a, a.clone(), rows).item() == 0.0
    kl = lambda p, q: (p * (p / q).log()).sum().item()  # noqa: E731
    expected = (kl(a[0, 1, 1:], b[0, 1, 1:]) + kl(b[0, 1, 1:], a[0, 1, 1:])) / 3  # one row differs, averaged over 3
    assert symmetric_kl(a, b, rows).item() == pytest.approx(expected, rel=1e-6) and expected > 0


@pytest.mark.parametrize("alignment", ["singular", "distributed"])
def test_loss_is_zero_when_the_pseudo_map_equals_the_real_map(alignment):
    # Zero queries: every block-restricted map is uniform, and so is each pseudo map (a softmax of a constant row
    # for the singular variant, a product of uniform maps for the distributed one): the two maps are equal.
    _, key = random_query_key()
    text, image = span_masks()
    zero = torch.zeros_like(key)
    for mode in ("L", "V"):
        maps = block_attention(zero, key, text, image)
        real = maps.text_text if mode == "L" else maps.image_image
        torch.testing.assert_close(pseudo_attention(maps, alignment, mode), real)
        assert IAISLoss(alignment, mode)(zero, key, text, image).item() == pytest.approx(0.0, abs=1e-5)
        query, key = random_query_key()
        assert IAISLoss(alignment, mode)(query, key, text, image).item() > 1e-3


@pytest.mark.parametrize("alignment", ["singular", "distributed"])
@pytest.mark.parametrize("mode", ["L", "V"])
def test_per_pair_distance_equals_the_official_recipe(alignment, mode):
    query, key = random_query_key()
    text, image = span_masks()
    got = iais_distance(query, key, text, image, alignment, mode)
    expected = [reference_distance(query[b], key[b], TEXT_SPANS[b], IMAGE_SPANS[b], alignment, mode) for b in range(2)]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9)
    loss = IAISLoss(alignment, mode)(query, key, text, image)
    assert loss.item() == pytest.approx(float(np.mean(expected)), rel=1e-9)


def test_only_positive_pairs_contribute():
    query, key = random_query_key(batch=4)
    query.requires_grad_(True)
    text, image = span_masks(TEXT_SPANS * 2, IMAGE_SPANS * 2)
    positive = torch.tensor([True, False, False, True])
    loss_fn = IAISLoss("distributed", "L")
    loss = loss_fn(query, key, text, image, positive=positive)
    subset = loss_fn(query[[0, 3]], key[[0, 3]], text[[0, 3]], image[[0, 3]])
    assert loss.item() == pytest.approx(subset.item(), rel=1e-12)
    loss.backward()
    assert (query.grad[[1, 2]] == 0).all() and query.grad[[0, 3]].abs().sum() > 0
    changed = key.clone()
    changed[[1, 2]] = torch.randn(2, HEADS, N, HEAD_DIM, dtype=key.dtype) * 5
    assert loss_fn(query, changed, text, image, positive=positive).item() == pytest.approx(loss.item(), rel=1e-12)


@pytest.mark.parametrize("alignment", ["singular", "distributed"])
def test_gradients_equal_finite_differences(alignment):
    query, key = random_query_key(scale=1.0)
    text, image = span_masks()
    for mode in ("L", "V"):
        function = lambda q, k, mode=mode: IAISLoss(alignment, mode)(q, k, text, image)  # noqa: E731
        inputs = (query.clone().requires_grad_(), key.clone().requires_grad_())
        assert torch.autograd.gradcheck(function, inputs, eps=1e-6, fast_mode=True)


def test_singular_gradient_does_not_flow_through_the_argmax():
    query, key = random_query_key()
    text, image = span_masks()
    maps = block_attention(query, key, text, image)
    leaves = {
        name: getattr(maps, name).clone().requires_grad_()
        for name in ("text_text", "text_image", "image_text", "image_image")
    }
    leaf_maps = BlockAttention(**leaves, text_mask=text, image_mask=image)
    for mode, cross, used in (
        ("L", "text_image", ("text_text", "image_image")),
        ("V", "image_text", ("text_text", "image_image")),
    ):
        for leaf in leaves.values():
            leaf.grad = None
        real = leaves["text_text"] if mode == "L" else leaves["image_image"]
        symmetric_kl(
            real, pseudo_attention(leaf_maps, "singular", mode), text if mode == "L" else image
        ).sum().backward()
        assert leaves[cross].grad is None  # the cross-modal map only chooses indices
        assert all(leaves[name].grad.abs().sum() > 0 for name in used)


def test_bad_arguments_raise_value_errors():
    query, key = random_query_key()
    text, image = span_masks()
    with pytest.raises(ValueError, match="alignment='argmax' is not supported"):
        IAISLoss("argmax")
    with pytest.raises(ValueError, match="mode='T' is not supported"):
        IAISLoss("singular", "T")
    with pytest.raises(ValueError, match="overlap"):
        IAISLoss()(query, key, text, text)
    with pytest.raises(ValueError, match="positive selects no pair"):
        IAISLoss()(query, key, text, image, positive=torch.zeros(2, dtype=torch.bool))
    with pytest.raises(ValueError, match="image_mask selects no token"):
        IAISLoss()(query, key, text, torch.zeros_like(image))
    with pytest.raises(ValueError, match="text_mask must have shape"):
        IAISLoss()(query, key, text[:, :4], image)


# ---------------------------------------------------------------- ISD and recall@K


def test_isd_on_a_hand_made_pair():
    # One head, tokens [CLS] w1 w2 [SEP] [IMG] r1 r2; w1 attends to r1, w2 to r2, and the regions' self-attention
    # is the words' one with the roles swapped, so the visual relations mapped to words give a different matrix.
    e = torch.eye(2, dtype=torch.float64)
    q = torch.zeros(1, 1, 7, 2, dtype=torch.float64)
    k = torch.zeros(1, 1, 7, 2, dtype=torch.float64)
    q[0, 0, [1, 2]] = 2 * e  # words
    k[0, 0, [1, 2]] = e.flip(0)  # w1 is most attended by w2's query and vice versa
    q[0, 0, [5, 6]] = 2 * e  # regions
    k[0, 0, [5, 6]] = e  # each region attends to itself
    text, image = span_masks([[1, 2]], [[5, 6]], n=7)
    s = 2 / math.sqrt(2)
    a_ll = torch.tensor([[1, math.exp(s)], [math.exp(s), 1]], dtype=torch.float64)
    a_ll /= a_ll.sum(-1, keepdim=True)  # [[1-p, p], [p, 1-p]], p = e^s / (1 + e^s)
    a_vv = a_ll.flip(-1)  # [[p, 1-p], [1-p, p]]
    mapped = torch.softmax(a_vv, -1)  # w1 -> r1, w2 -> r2 (A_LV's argmax), softmax of probabilities
    kl = lambda p, r: (p * (p / r).log()).sum(-1).mean()  # noqa: E731
    expected = kl(mapped, a_ll) + kl(a_ll, mapped)
    assert isd(q, k, text, image).item() == pytest.approx(expected.item(), rel=1e-12)
    assert expected > 0.1


def test_recall_at_k_matches_sklearn_top_k_accuracy():
    scores = torch.randn(30, 30, dtype=torch.float64)
    metrics = recall_at_k(scores)
    for k in (1, 5, 10):
        labels = np.arange(30)
        assert metrics[f"t2i_recall@{k}"] == pytest.approx(
            top_k_accuracy_score(labels, scores.numpy(), k=k, labels=labels)
        )
        assert metrics[f"i2t_recall@{k}"] == pytest.approx(
            top_k_accuracy_score(labels, scores.T.numpy(), k=k, labels=labels)
        )


def test_recall_with_duplicate_captions_and_ties():
    scores = torch.tensor([[0.9, 0.1, 0.8], [0.2, 0.5, 0.5], [0.9, 0.3, 0.1]])
    relevant = torch.tensor([[True, False, True], [False, True, False], [True, False, True]])  # captions 0 and 2 equal
    metrics = recall_at_k(scores, relevant, ks=(1, 2))
    # text->image: rows 0 and 2 hit at 1 (image 0 is relevant); row 1 ties with image 2, which counts against it.
    assert metrics["t2i_recall@1"] == pytest.approx(2 / 3) and metrics["t2i_recall@2"] == 1.0
    # image->text: image 0 -> texts 0/2 (0.9): hit; image 1 -> text 1 (0.5) first: hit; image 2 -> best relevant 0.8
    # (text 0) but text 1 has 0.5 < 0.8: hit.
    assert metrics["i2t_recall@1"] == 1.0
    assert chance_recall(torch.eye(10, dtype=torch.bool), ks=(1, 5))["t2i_recall@5"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"ks contains 0; allowed: integers in \[1, inf\)"):
        recall_at_k(scores, relevant, ks=(0,))
    with pytest.raises(ValueError, match="not square"):
        recall_at_k(scores[:, :2])


def test_hard_negatives_and_hinge_ranking_loss():
    scores = torch.tensor([[5.0, 4.0, 3.0, 1.0], [0.0, 5.0, 2.0, 3.0]])
    relevant = torch.tensor([[True, True, False, False], [False, True, False, False]])
    index, valid = hardest_negatives(scores, relevant, 2)
    assert index.tolist() == [[2, 3], [3, 2]] and valid.all()
    index, valid = hardest_negatives(scores, relevant, 3)
    assert valid.tolist() == [[True, True, False], [True, True, True]]
    positive, negative = torch.tensor([0.0, 2.0]), torch.tensor([[1.0, -1.0], [0.0, 3.0]])
    sig = torch.sigmoid
    terms = [
        max(0.0, 0.2 + sig(torch.tensor(n)) - sig(torch.tensor(p)))
        for p, row in zip([0.0, 2.0], [[1.0, -1.0], [0.0, 3.0]])
        for n in row
    ]
    assert hinge_ranking_loss(positive, negative, 0.2).item() == pytest.approx(float(np.mean(terms)), rel=1e-6)
    assert exp_schedule(0, 100) == pytest.approx(math.exp(-5)) and exp_schedule(50, 100) == pytest.approx(
        math.exp(-2.5)
    )


# ---------------------------------------------------------------- transformers' ViLT


def tiny_vilt(seed=0):
    torch.manual_seed(seed)
    config = ViltConfig(
        vocab_size=50,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        image_size=32,
        patch_size=8,
        max_position_embeddings=16,
        pad_token_id=0,
    )
    return ViltForImageAndTextRetrieval(config)


def tiny_pairs(n=6, seed=0):
    """``n`` pairs: captions ``[CLS]=2 words [SEP]=3`` of 2-4 words (right padded with 0) and 32 x 32 images."""
    generator = torch.Generator().manual_seed(seed)
    lengths = [2 + i % 3 for i in range(n)]
    ids = torch.zeros(n, 6, dtype=torch.long)
    for row, length in enumerate(lengths):
        ids[row, : length + 2] = torch.tensor([2, *torch.randint(5, 50, (length,), generator=generator).tolist(), 3])
    texts = {"input_ids": ids, "attention_mask": (ids != 0).long()}
    images = {
        "pixel_values": torch.randn(n, 3, 32, 32, generator=generator),
        "pixel_mask": torch.ones(n, 32, 32, dtype=torch.long),
    }
    return texts, images, lengths


def test_vilt_capture_gives_the_layers_own_query_key_and_the_spans():
    model = tiny_vilt().eval()
    texts, images, lengths = tiny_pairs(3)
    with ViltQueryKeyCapture(model) as capture:
        outputs = model(**texts, **images, output_attentions=True, output_hidden_states=True)
    inputs = capture.iais_inputs()
    text, image = inputs["text_mask"], inputs["image_mask"]
    for row, length in enumerate(lengths):
        assert text[row].nonzero().squeeze(-1).tolist() == list(range(1, length + 1))  # no [CLS], [SEP], padding
    assert image.nonzero()[:, 1].unique().tolist() == list(range(7, 7 + 16))  # 6 text tokens, [IMG] at 6, 16 patches
    # The captured states reproduce the layer's own attention probabilities (full softmax over valid tokens).
    scores = inputs["query"] @ inputs["key"].transpose(-1, -2) / math.sqrt(inputs["query"].shape[-1])
    probs = scores.masked_fill(~capture.token_mask[:, None, None, :], float("-inf")).softmax(-1)
    torch.testing.assert_close(probs, outputs.attentions[-1], atol=1e-5, rtol=1e-4)
    # ... and equal the last layer's projections of its input, recomputed from output_hidden_states.
    layer = model.vilt.encoder.layer[-1]
    normed = layer.layernorm_before(outputs.hidden_states[-2])
    query = layer.attention.attention.query(normed).view(3, -1, 4, 8).transpose(1, 2)
    torch.testing.assert_close(inputs["query"], query)


def test_iais_gradient_reaches_the_last_layers_query_and_key_projections():
    model = tiny_vilt()
    texts, images, _ = tiny_pairs(4)
    with ViltQueryKeyCapture(model) as capture:
        model(**texts, **images)
    IAISLoss("singular", "V")(**capture.iais_inputs()).backward()
    attention = model.vilt.encoder.layer[-1].attention.attention
    assert attention.query.weight.grad.abs().sum() > 0 and attention.key.weight.grad.abs().sum() > 0
    assert attention.value.weight.grad is None and model.rank_output.weight.grad is None
    assert model.vilt.encoder.layer[0].attention.attention.value.weight.grad.abs().sum() > 0  # through the states


def trainer_for(model, tmp_path, **kwargs):
    texts, images, _ = tiny_pairs(6)
    groups = torch.tensor([0, 1, 2, 3, 4, 0])  # pairs 0 and 5 share a caption: they match each other
    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=6,
        per_device_eval_batch_size=7,
        max_steps=4,
        learning_rate=1e-3,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        logging_steps=1,
    )
    trainer = IAISTrainer(
        model=model, args=args, train_dataset=ImageTextPairs(texts, images, groups), compute_metrics=None, **kwargs
    )
    return trainer, texts, images, groups


def test_trainer_loss_is_ranking_with_hard_negatives_plus_weighted_iais(tmp_path):
    model = tiny_vilt()
    trainer, texts, images, groups = trainer_for(
        model, tmp_path, iais_alignment="distributed", num_hard_negatives=2, iais_scale=2.5
    )
    trainer.iais_weight = 0.3
    inputs = collate_pairs([trainer.train_dataset[i] for i in range(6)])
    torch.manual_seed(1)
    got = trainer.compute_loss(model, dict(inputs))

    # Independent recomputation: all 36 combinations, the 2 hardest non-matching per anchor, hinge + 2.5 x 0.3 (L + V).
    model.eval()
    with torch.no_grad():
        scores = torch.stack(
            [model(**{k: v[[t] * 6] for k, v in texts.items()}, **images).logits[:, 0] for t in range(6)]
        )
    relevant = groups[:, None] == groups[None, :]
    model.train()
    positives = model(**texts, **images).logits[:, 0]
    rank = 0.0
    for matrix, text_is_anchor in ((scores, True), (scores.T, False)):
        terms = []
        for anchor in range(6):
            candidates = [c for c in matrix[anchor].argsort(descending=True).tolist() if not relevant[anchor, c]][:2]
            for c in candidates:
                t, i = (anchor, c) if text_is_anchor else (c, anchor)
                logit = model(**{k: v[[t]] for k, v in texts.items()}, **{k: v[[i]] for k, v in images.items()}).logits[
                    0, 0
                ]
                terms.append(torch.clamp(0.2 + logit.sigmoid() - positives[anchor].sigmoid(), min=0))
        rank = rank + torch.stack(terms).mean()
    with ViltQueryKeyCapture(model) as capture:
        model(**texts, **images)
    iais = IAISLoss("distributed", "L")(**capture.iais_inputs()) + IAISLoss("distributed", "V")(**capture.iais_inputs())
    assert got.item() == pytest.approx((rank + 2.5 * 0.3 * iais).item(), rel=1e-4)
    assert trainer._loss_parts["iais_weight"] == [0.3] and trainer._loss_parts["iais_effective_weight"] == [0.75]


def official_tsa_threshold(global_step, num_train_steps):
    """utils/training_signal_annealing.py of the official code, "exp_schedule"."""
    training_progress = torch.tensor(global_step, dtype=torch.float) / torch.tensor(num_train_steps, dtype=torch.float)
    return torch.exp((training_progress - 1) * 5)


def test_iais_weight_replays_one_official_update_on_fixed_tensors():
    """One update of the official train_itm_hard_negatives.py loop: train_batch_size = 8 one-anchor batches per
    direction, each ``rank_loss.mean() / train_batch_size + self_attn_loss * tsa`` (self_attn_loss: the IAIS of the
    batch's one positive pair), gradients accumulated. Ours on the same scores and attention states, as one batch of
    8 anchors with the default iais_scale, gives the same loss and the same gradients."""
    generator = torch.Generator().manual_seed(0)
    train_batch_size, hard, margin, step, total = 8, 31, 0.2, 1234, 5000
    positive = torch.randn(train_batch_size, generator=generator, dtype=torch.float64, requires_grad=True)
    image_negatives = torch.randn(train_batch_size, hard, generator=generator, dtype=torch.float64, requires_grad=True)
    text_negatives = torch.randn(train_batch_size, hard, generator=generator, dtype=torch.float64, requires_grad=True)
    text_spans, image_spans = [[1, 2, 3]] * train_batch_size, [[5, 6, 7, 8]] * train_batch_size
    text_mask, image_mask = span_masks(text_spans, image_spans)
    query = (
        1.5 * torch.randn(train_batch_size, HEADS, N, HEAD_DIM, generator=generator, dtype=torch.float64)
    ).requires_grad_()
    key = (
        1.5 * torch.randn(train_batch_size, HEADS, N, HEAD_DIM, generator=generator, dtype=torch.float64)
    ).requires_grad_()
    leaves = (positive, image_negatives, text_negatives, query, key)

    # the official loop, literally: rank_loss per batch = clamp(margin + neg - pos, 0) over [1, 31]
    tsa = official_tsa_threshold(step, total).double()
    official = 0.0
    for anchor in range(train_batch_size):
        for negatives, mode in (
            (text_negatives, "V"),
            (image_negatives, "L"),
        ):  # from image (V-mode), from text (L-mode)
            scores = torch.cat([positive[anchor : anchor + 1], negatives[anchor]]).sigmoid().view(-1, hard + 1)
            rank_loss = torch.clamp(margin + scores[:, 1:] - scores[:, :1], 0)
            rank_loss = rank_loss.mean() / train_batch_size
            self_attn_loss = (
                iais_distance(
                    query[anchor : anchor + 1],
                    key[anchor : anchor + 1],
                    text_mask[anchor : anchor + 1],
                    image_mask[anchor : anchor + 1],
                    "singular",
                    mode,
                ).sum()
                / 1
            )  # 1 positive
            official = official + rank_loss + self_attn_loss * tsa
    official_gradients = torch.autograd.grad(official, leaves)

    iais = IAISLoss("singular", "L")(query, key, text_mask, image_mask) + IAISLoss("singular", "V")(
        query, key, text_mask, image_mask
    )
    ours, _ = ranking_iais_loss(positive, image_negatives, text_negatives, margin, iais, exp_schedule(step, total))
    assert OFFICIAL_IAIS_SCALE == train_batch_size
    torch.testing.assert_close(ours, official, rtol=1e-6, atol=1e-9)
    for a, b in zip(torch.autograd.grad(ours, leaves), official_gradients):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)
    # the first replication's weighting (lambda alone) is 8 times weaker on the IAIS term
    weaker, rank = ranking_iais_loss(
        positive, image_negatives, text_negatives, margin, iais, exp_schedule(step, total), 1.0
    )
    torch.testing.assert_close(ours - rank, train_batch_size * (weaker - rank))


def test_hard_negatives_from_a_candidate_pool_are_the_hardest_non_matching_of_random_training_pairs(tmp_path):
    model = tiny_vilt()
    trainer, texts, images, groups = trainer_for(
        model, tmp_path, iais_alignment=None, num_hard_negatives=2, hard_negative_pool=4
    )
    batch = collate_pairs([trainer.train_dataset[i] for i in (0, 2, 3)])
    anchor_groups = batch["caption_id"]
    model_inputs = {k: v for k, v in batch.items() if k != "caption_id"}
    (image_source, picked_images, images_valid), (text_source, picked_texts, texts_valid) = trainer._pool_negatives(
        model, model_inputs, anchor_groups
    )
    assert picked_images.shape == picked_texts.shape == (3, 2) and images_valid.all() and texts_valid.all()
    model.eval()
    for anchor, group in enumerate(anchor_groups.tolist()):
        for picked, text_anchor in ((picked_images[anchor], True), (picked_texts[anchor], False)):
            assert all(groups[c] != group for c in picked.tolist())  # never a matching pair (pairs 0 and 5 match)
            with torch.no_grad():

                def score(c, anchor=anchor, text_anchor=text_anchor):
                    t, i = (model_inputs, images) if text_anchor else (texts, model_inputs)
                    ti, ii = (anchor, c) if text_anchor else (c, anchor)
                    length = int(t["attention_mask"][ti].sum())
                    return (
                        model(
                            input_ids=t["input_ids"][[ti], :length],
                            attention_mask=t["attention_mask"][[ti], :length],
                            pixel_values=i["pixel_values"][[ii]],
                            pixel_mask=i["pixel_mask"][[ii]],
                        )
                        .logits[0, 0]
                        .item()
                    )

                picked_scores = [score(c) for c in picked.tolist()]
                others = [c for c in range(6) if groups[c] != group and c not in picked.tolist()]
                # the two picked are the hardest of their pool of 4, so at most 2 other candidates can beat them
                assert sum(score(c) > min(picked_scores) + 1e-6 for c in others) <= 2
    # the loss runs on pool negatives, and pools differ from step to step
    loss = trainer.compute_loss(model, dict(batch))
    assert torch.isfinite(loss)
    draws = {
        tuple(trainer._pool_negatives(model, model_inputs, anchor_groups)[0][1].flatten().tolist()) for _ in range(6)
    }
    assert len(draws) > 1


def test_attention_entropy_is_one_for_uniform_maps_and_lower_for_peaked_ones():
    text_mask, image_mask = span_masks()
    zero = torch.zeros(2, HEADS, N, HEAD_DIM, dtype=torch.float64)
    flat = attention_entropy(zero, zero, text_mask, image_mask)  # equal scores: every block row uniform
    torch.testing.assert_close(flat["text"], torch.ones(2, dtype=torch.float64))
    torch.testing.assert_close(flat["image"], torch.ones(2, dtype=torch.float64))
    query, key = random_query_key(scale=3.0)
    peaked = attention_entropy(query, key, text_mask, image_mask)
    maps = block_attention(query, key, text_mask, image_mask)
    for pair in range(2):
        for name, full, span in (
            ("text", maps.text_text, TEXT_SPANS[pair]),
            ("image", maps.image_image, IMAGE_SPANS[pair]),
        ):
            block = full[pair][np.ix_(span, span)]
            expected = (-(block * block.log()).sum(-1) / math.log(len(span))).mean()
            torch.testing.assert_close(peaked[name][pair], expected)
            assert peaked[name][pair] < 1


def test_exp_schedule_callback_sets_lambda_at_every_step(tmp_path):
    model = tiny_vilt()
    trainer, *_ = trainer_for(model, tmp_path, iais_alignment="singular", num_hard_negatives=1)
    seen = []
    original = trainer.compute_loss
    trainer.compute_loss = lambda *a, **kw: (seen.append(trainer.iais_weight), original(*a, **kw))[1]
    trainer.train()
    assert seen == pytest.approx([math.exp(5 * (t / 4 - 1)) for t in range(4)])
    logged = [entry for entry in trainer.state.log_history if "iais_loss" in entry]
    assert len(logged) == 4 and all(entry["iais_loss"] > 0 for entry in logged)


def test_trainer_compute_metrics_equals_standalone_evaluation(tmp_path):
    from lanco_hf.evaluation.retrieval import retrieval_compute_metrics

    model = tiny_vilt().double().eval()  # float64: ISDs near 0 at initialisation compare exactly across batchings
    trainer, texts, images, groups = trainer_for(model, tmp_path, iais_alignment=None, isd_alignment="distributed")
    trainer.compute_metrics = retrieval_compute_metrics
    grid = ImageTextGrid(texts, images, groups, groups)
    torch.manual_seed(0)
    via_trainer = trainer.evaluate(grid)
    standalone = evaluate_retrieval(model, grid, batch_size=5, isd_alignment="distributed", progress=False)
    for name, value in standalone.items():
        assert via_trainer[f"eval_{name}"] == pytest.approx(value, rel=1e-9)
    # ... and both equal recall@K / mean ISD of directly computed scores
    with torch.no_grad():
        logits = torch.stack(
            [model(**{k: v[[t] * 6] for k, v in texts.items()}, **images).logits[:, 0] for t in range(6)]
        )
    relevant = groups[:, None] == groups[None, :]
    text_index, image_index = relevant.nonzero().unbind(-1)
    with ViltQueryKeyCapture(model) as capture:
        model(**{k: v[text_index] for k, v in texts.items()}, **{k: v[image_index] for k, v in images.items()})
    pair_isd = torch.full((6, 6), float("nan"), dtype=torch.float64)
    pair_isd[text_index, image_index] = isd(**capture.iais_inputs(), alignment="distributed").double()
    entropies = {}
    for name, values in attention_entropy(**capture.iais_inputs()).items():
        entropies[f"{name}_attention_entropy"] = torch.full((6, 6), float("nan"), dtype=torch.float64)
        entropies[f"{name}_attention_entropy"][text_index, image_index] = values.double()
    assert 0 < standalone["text_attention_entropy"] <= 1 and 0 < standalone["image_attention_entropy"] <= 1
    assert standalone == pytest.approx(retrieval_metrics(logits, relevant, pair_isd, pair_values=entropies), rel=1e-9)
    assert trainer.iais_losses == {} and not any(
        type(c).__name__ == "IAISWeightCallback" for c in trainer.callback_handler.callbacks
    )


def test_trainer_arguments_are_validated(tmp_path):
    with pytest.raises(ValueError, match="num_hard_negatives=6 is out of range"):
        trainer_for(tiny_vilt(), tmp_path, num_hard_negatives=6)
    trainer_for(
        tiny_vilt(), tmp_path, num_hard_negatives=6, hard_negative_pool=8
    )  # from a pool: not bound by the batch
    with pytest.raises(ValueError, match="hard_negative_pool=4 is out of range"):
        trainer_for(tiny_vilt(), tmp_path, num_hard_negatives=5, hard_negative_pool=4)
    with pytest.raises(ValueError, match="iais_scale=-1.0 is out of range"):
        trainer_for(tiny_vilt(), tmp_path, iais_scale=-1.0)
    with pytest.raises(ValueError, match="iais_schedule='linear' is not supported"):
        trainer_for(tiny_vilt(), tmp_path, iais_schedule="linear")


# ---------------------------------------------------------------- data and run configs

CONFIG_DIR = Path(__file__).parents[2] / "configs"
CONFIGS = sorted(CONFIG_DIR.glob("iais_vilt_*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_parse(path, tmp_path):
    from lanco_hf.training.arguments import load_run_config, parse_run_config
    from lanco_hf.training.tasks import get_task

    config = load_run_config(path, [f"output_dir={tmp_path}"])
    argument_types = get_task(config.pop("task")).arguments
    model_args, data_args, iais_args, training_args = parse_run_config(config, argument_types)
    assert model_args.model_type == "vilt" and data_args.dataset == "tuxpaint_stamps"
    assert iais_args.iais == path.stem.rsplit("_", 1)[1].replace("baseline", "none")
    if iais_args.hard_negative_pool is None:  # the in-batch ablation
        assert training_args.per_device_train_batch_size > iais_args.num_hard_negatives and iais_args.iais_scale == 1.0
    else:  # the official protocol
        assert (
            iais_args.hard_negative_pool > iais_args.num_hard_negatives and iais_args.iais_scale == OFFICIAL_IAIS_SCALE
        )


def _find_stamps():
    """The stamps from the usual places, or the default unpack folder (conftest moves the lanco cache away)."""
    for candidate in (None, Path.home() / ".cache" / "lanco_hf" / "tuxpaint" / STAMPS_SUBDIR):
        try:
            return find_stamps_root(candidate, fetch=False)
        except DataNotFoundError:
            pass
    return None


STAMPS = _find_stamps()
needs_stamps = pytest.mark.skipif(STAMPS is None, reason="apt-get download tuxpaint-stamps-default && dpkg-deb -x ...")


def test_missing_stamps_name_the_install_commands(tmp_path, monkeypatch):
    from lanco_hf.data import tuxpaint

    monkeypatch.setenv("LANCO_HF_SYSTEM_DATA_ROOT", str(tmp_path / "none"))
    monkeypatch.setenv("LANCO_HF_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LANCO_HF_TUXPAINT_PATH", raising=False)
    with pytest.raises(DataNotFoundError, match="apt-get download tuxpaint-stamps-default && dpkg-deb -x"):
        tuxpaint.find_stamps_root(tmp_path / "empty", fetch=False)


@needs_stamps
def test_stamps_captions_images_and_split():
    from PIL import Image

    from lanco_hf.data.bible import split_of
    from lanco_hf.data.tuxpaint import letterbox, read_stamps

    records = read_stamps(STAMPS)
    assert len(records) == 785 and len({r["id"] for r in records}) == 785
    by_id = {r["id"]: r for r in records}
    assert by_id["food/fruit/lemon"] == {"id": "food/fruit/lemon", "caption": "A yellow lemon.", "category": "food"}
    assert sum(r["caption"] == "A flower." for r in records) == 6
    assert "vehicles/auto/sportscar3" not in by_id  # SVG-only stamps are skipped
    image = letterbox(Image.open(STAMPS / "food/fruit/lemon.png"), 48)
    assert image.shape == (48, 48, 3) and image.dtype == np.uint8
    assert (image[0, 0] == 255).all() and (image[24, 24] != 255).any()  # white margin, drawing in the middle
    splits = [split_of(r["id"], 0.1, 0.15) for r in records]
    assert splits == [split_of(r["id"], 0.1, 0.15) for r in reversed(records)][::-1]  # order-independent
    assert {s: splits.count(s) for s in set(splits)} == {"train": 575, "validation": 78, "test": 132}


TINY_VILT_RUN = [
    "model_config.hidden_size=32",
    "model_config.num_hidden_layers=1",
    "model_config.intermediate_size=64",
    "model_config.patch_size=16",
    "image_size=32",
    "tokenizer_vocab_size=300",
    "max_steps=3",
    "per_device_train_batch_size=6",
    "num_hard_negatives=2",
    "warmup_steps=0",
    "max_test_samples=12",
    "logging_steps=1",
    "disable_tqdm=true",
]


@pytest.mark.slow
@needs_stamps
def test_retrieval_run_end_to_end_and_evaluate_command(tmp_path, monkeypatch):
    """``lanco-hf train`` (Trainer compute_metrics on the test grid), then ``lanco-hf evaluate retrieval`` on the
    saved folder: the reloaded model gives the same recall@K and ISD; the card carries them."""
    import contextlib
    import io
    import json

    from huggingface_hub import ModelCard

    from lanco_hf.cli import main
    from lanco_hf.hub.push import render_card

    monkeypatch.setenv("LANCO_HF_TUXPAINT_PATH", str(STAMPS))
    output = tmp_path / "iais-run"
    monkeypatch.chdir(tmp_path)
    with contextlib.redirect_stdout(io.StringIO()):
        main(["train", str(CONFIG_DIR / "iais_vilt_distributed.yaml"), f"output_dir={output}", *TINY_VILT_RUN])
    # TensorBoard events (the evaluation before training included) go under the run folder, none in the cwd
    assert not (tmp_path / "runs").exists()
    assert len({path.parent for path in (output / "runs").glob("*/events.out.tfevents.*")}) == 1
    files = {p.name for p in output.iterdir()}
    assert {
        "model.safetensors",
        "config.json",
        "processor_config.json",
        "tokenizer.json",
        "README.md",
        "results.json",
    } <= files
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in files)
    results = json.loads((output / "results.json").read_text())
    assert list(results) == golden_results_keys("retrieval_iais")
    assert results["train_steps"] == 3 and results["reload_reproduces_scores"]
    assert results["iais"]["alignment"] == "distributed" and results["test"]["size"] == 12
    assert results["iais"]["scale"] == 8.0 and results["iais"]["hard_negative_pool"] == 63
    start, end = results["test_at_start"], results["test"]
    assert set(start) == {"recall_mean", "isd", "text_attention_entropy", "image_attention_entropy"}
    assert all(
        0 < run[name] <= 1 for run in (start, end) for name in ("text_attention_entropy", "image_attention_entropy")
    )
    logged = [
        entry
        for entry in json.loads((output / "trainer_state.json").read_text())["log_history"]
        if "iais_loss" in entry
    ]
    assert [entry["iais_weight"] for entry in logged] == pytest.approx([math.exp(5 * (t / 3 - 1)) for t in range(3)])

    metrics_file = tmp_path / "metrics.json"
    with contextlib.redirect_stdout(io.StringIO()):
        main(["evaluate", "retrieval", "--model", str(output), "--max-samples", "12", "--output", str(metrics_file)])
    evaluated = json.loads(metrics_file.read_text())
    assert evaluated["size"] == 12
    for name, value in results["test"].items():
        assert evaluated[name] == pytest.approx(value, rel=1e-4, abs=1e-7), name

    card = ModelCard.load(output / "README.md")
    assert "iais" in card.data.tags and "arxiv.org/abs/2105.13868" in card.text
    reported = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert reported["t2i_recall@1"] == float(f"{results['test']['t2i_recall@1']:.4g}")
    # `lanco-hf push` re-renders the card under the repo id
    pushed = render_card(output, "someone/vilt-iais")
    assert (
        "# someone/vilt-iais" in pushed
        and 'ViltForImageAndTextRetrieval.from_pretrained("someone/vilt-iais")' in pushed
    )
