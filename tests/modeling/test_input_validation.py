"""Bad inputs get a ValueError naming the argument and the allowed values, never a silent wrong answer, an
IndexError from deep inside torch, or (on GPU) a device-side assert."""

import pytest
import torch
from helpers import batch, tiny_config
from transformers import ResNetConfig, ResNetForImageClassification

from lanco_hf import (
    ExplicitSparseConfig,
    ExplicitSparseForConditionalGeneration,
    LabelGraphConfig,
    LabelGraphForSequenceClassification,
    ReNodeGCNConfig,
    ReNodeGCNForNodeClassification,
)
from lanco_hf.losses.encouraging import EncouragingLoss
from lanco_hf.modeling.validation import check_token_ids

VOCAB = 99


@pytest.fixture(scope="module")
def seq2seq():
    return ExplicitSparseForConditionalGeneration(tiny_config(ExplicitSparseConfig, attn_topk=3)).eval()


def test_valid_batch_is_accepted(seq2seq):
    ids, mask = batch(VOCAB)
    out = seq2seq(input_ids=ids, attention_mask=mask, labels=ids)
    assert out.logits.shape == (3, 7, VOCAB) and torch.isfinite(out.loss)


@pytest.mark.parametrize("bad", [-1, VOCAB, VOCAB + 50])
def test_token_ids_out_of_range(seq2seq, bad):
    ids, mask = batch(VOCAB)
    ids[1, 2] = bad
    with pytest.raises(ValueError, match=rf"input ids must lie in \[0, vocab_size={VOCAB}\).*{bad}"):
        seq2seq(input_ids=ids, attention_mask=mask)
    good, _ = batch(VOCAB)
    with pytest.raises(ValueError, match=rf"input ids must lie in \[0, vocab_size={VOCAB}\)"):
        seq2seq(input_ids=good, attention_mask=mask, decoder_input_ids=ids)


def test_labels_out_of_range_but_ignore_index_allowed(seq2seq):
    ids, mask = batch(VOCAB)
    labels = ids.clone()
    labels[0, -1] = -100
    assert torch.isfinite(seq2seq(input_ids=ids, attention_mask=mask, labels=labels).loss)
    labels[2, 0] = VOCAB
    with pytest.raises(ValueError, match=rf"labels must lie in \[0, vocab_size={VOCAB}\) or equal -100"):
        seq2seq(input_ids=ids, attention_mask=mask, labels=labels)
    labels[2, 0] = -5
    with pytest.raises(ValueError, match="labels must lie in"):
        seq2seq(input_ids=ids, attention_mask=mask, labels=labels)


@pytest.mark.parametrize("shape", [(0, 5), (3, 0), (7,)])
def test_empty_or_misshapen_batches(seq2seq, shape):
    with pytest.raises(ValueError, match=r"input ids must have shape \(batch_size, sequence_length\)"):
        seq2seq(input_ids=torch.ones(shape, dtype=torch.long))


def test_float_ids_are_refused(seq2seq):
    with pytest.raises(ValueError, match="must be an integer tensor"):
        seq2seq(input_ids=torch.ones(2, 3))


@pytest.mark.parametrize("which", ["attention_mask", "decoder_attention_mask"])
def test_attention_mask_shape_mismatch(seq2seq, which):
    ids, mask = batch(VOCAB)
    kwargs = {"input_ids": ids, "attention_mask": mask, "decoder_input_ids": ids[:, :4]}
    kwargs[which] = torch.ones(3, 6, dtype=torch.long)  # neither the source (7) nor the target (4) length
    with pytest.raises(ValueError, match=rf"{which} has shape \(3, 6\); it must match"):
        seq2seq(**kwargs)
    kwargs[which] = torch.ones(2, kwargs["input_ids" if which == "attention_mask" else "decoder_input_ids"].shape[1])
    with pytest.raises(ValueError, match=rf"{which} has shape \(2, "):  # batch mismatch, which would broadcast
        seq2seq(**kwargs)


def test_generation_with_cache_passes_the_checks(seq2seq):
    ids, mask = batch(VOCAB)
    with_cache = seq2seq.generate(input_ids=ids, attention_mask=mask, max_new_tokens=5, do_sample=False)
    no_cache = seq2seq.generate(input_ids=ids, attention_mask=mask, max_new_tokens=5, do_sample=False, use_cache=False)
    assert torch.equal(with_cache, no_cache)


def test_token_id_check_is_skipped_under_compile():
    calls = []

    def f(ids):
        check_token_ids("input ids", ids, 5)
        calls.append(1)
        return ids * 2

    compiled = torch.compile(f, backend="eager", fullgraph=True)  # a value check would break the graph
    assert torch.equal(compiled(torch.tensor([[1, 7]])), torch.tensor([[2, 14]]))
    with pytest.raises(ValueError, match="vocab_size=5"):
        f(torch.tensor([[1, 7]]))


@pytest.fixture(scope="module")
def gcn():
    return ReNodeGCNForNodeClassification(ReNodeGCNConfig(num_features=3, hidden_size=4, num_labels=2)).eval()


@pytest.mark.parametrize(
    "edges, message",
    [
        ([[0, 1], [1, 4]], r"edge_index holds node ids 0\.\.4; allowed: \[0, 4\)"),
        ([[0, -1], [1, 2]], r"edge_index holds node ids -1\.\.2"),
        ([[0.0, 1.0], [1.0, 2.0]], "edge_index must be an integer tensor"),
    ],
)
def test_graph_with_out_of_range_edges(gcn, edges, message):
    with pytest.raises(ValueError, match=message):
        gcn(x=torch.randn(4, 3), edge_index=torch.tensor(edges))


def test_graph_with_wrong_features_or_labels(gcn):
    edges = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"x has shape \(4, 5\); expected \(num_nodes, 3\)"):
        gcn(x=torch.randn(4, 5), edge_index=edges)
    with pytest.raises(ValueError, match="labels"):
        gcn(x=torch.randn(4, 3), edge_index=edges, labels=torch.tensor([0, 1, 2, 1]))


@pytest.fixture(scope="module")
def label_graph():
    encoder = dict(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8)
    return LabelGraphForSequenceClassification(LabelGraphConfig(encoder_config=encoder, num_labels=3)).eval()


def test_label_graph_inputs(label_graph):
    ids = torch.randint(0, 20, (2, 5))
    with pytest.raises(ValueError, match=r"labels must be multi-hot values in \[0, 1\]"):
        label_graph(input_ids=ids, labels=torch.tensor([[0.0, 2.0, 1.0], [1.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"labels has shape \(2, 2\)"):
        label_graph(input_ids=ids, labels=torch.zeros(2, 2))
    ids[0, 0] = 20
    with pytest.raises(ValueError, match=r"input_ids must lie in \[0, vocab_size=20\)"):
        label_graph(input_ids=ids)
    with pytest.raises(ValueError, match=r"attention_mask has shape \(2, 4\)"):
        label_graph(input_ids=torch.randint(0, 20, (2, 5)), attention_mask=torch.ones(2, 4, dtype=torch.long))


def test_classification_loss_inputs():
    loss = EncouragingLoss()
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\) or equal ignore_index=-100"):
        loss(torch.randn(3, 4), torch.tensor([0, 4, 1]))
    with pytest.raises(ValueError, match="labels must have the shape of logits"):
        loss(torch.randn(3, 4), torch.tensor([0, 1]))
    assert loss(torch.randn(3, 4), torch.tensor([0, -100, 1])).isfinite()


def test_images_with_the_wrong_number_of_channels():
    model = ResNetForImageClassification(
        ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8], depths=[1], num_labels=10)
    ).eval()
    assert model(pixel_values=torch.randn(2, 3, 28, 28)).logits.shape == (2, 10)
    with pytest.raises(ValueError, match="channel dimension"):
        model(pixel_values=torch.randn(2, 1, 28, 28))  # a grey image fed to the 3-channel classifier
