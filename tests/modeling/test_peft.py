"""PEFT on lanco architectures: train an adapter, save it, reload it onto the base, identical outputs;
merge_and_unload equals the adapted model. (The ReNode GCN is left out: its convolutions use torch_geometric's
own Linear, which PEFT does not adapt.)"""

import pytest
import torch
from helpers import SEQ2SEQ_CONFIGS, batch, tiny_config
from peft import IA3Config, LoraConfig, PeftModel, TaskType, get_peft_model
from transformers import AutoModelForSeq2SeqLM

PEFT_METHODS = {
    "lora": lambda: LoraConfig(task_type=TaskType.SEQ_2_SEQ_LM, r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]),
    "ia3": lambda: IA3Config(
        task_type=TaskType.SEQ_2_SEQ_LM, target_modules=["k_proj", "v_proj", "fc2"], feedforward_modules=["fc2"]
    ),
}

# one config per architecture, each with the most options on (top-k, pre-norm, AdaNorm where it has them)
ADAPTED_ARCHITECTURES = ["topk-prenorm-adanorm", "muse-prenorm-topk-adanorm", "gca-prenorm-topk-deeper-encoder"]


def train_a_little(model, steps=5):
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-2)
    ids, mask = batch()
    labels = torch.randint(4, 99, ids.shape)
    for _ in range(steps):
        model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return model.eval()


@pytest.mark.parametrize("method", sorted(PEFT_METHODS))
@pytest.mark.parametrize("architecture", ADAPTED_ARCHITECTURES)
def test_adapter_round_trip_and_merge(architecture, method, tmp_path):
    config_class, options = SEQ2SEQ_CONFIGS[architecture]
    base = AutoModelForSeq2SeqLM.from_config(tiny_config(config_class, **options))
    base.save_pretrained(tmp_path / "base")
    peft_model = get_peft_model(base, PEFT_METHODS[method]())
    trainable = {name for name, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable and all(("lora_" in name) or ("ia3_" in name) for name in trainable)
    train_a_little(peft_model)

    ids, mask = batch(lengths=(6, 4, 3))
    kwargs = dict(attention_mask=mask, max_new_tokens=6, min_new_tokens=6, do_sample=False)
    adapted = peft_model.generate(input_ids=ids, **kwargs)
    logits = peft_model(input_ids=ids, attention_mask=mask, decoder_input_ids=adapted).logits
    peft_model.save_pretrained(tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_model.safetensors").exists()

    fresh_base = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "base")
    plain_logits = fresh_base(input_ids=ids, attention_mask=mask, decoder_input_ids=adapted).logits
    assert not torch.allclose(plain_logits, logits, atol=1e-4), "training left the adapter a no-op"
    reloaded = PeftModel.from_pretrained(fresh_base, tmp_path / "adapter").eval()
    assert torch.equal(reloaded.generate(input_ids=ids, **kwargs), adapted)
    merged = reloaded.merge_and_unload()
    assert type(merged) is type(base)
    torch.testing.assert_close(
        merged(input_ids=ids, attention_mask=mask, decoder_input_ids=adapted).logits, logits, atol=1e-4, rtol=1e-4
    )


def test_lora_on_the_label_graph_classifier(tmp_path):
    from test_label_graph import inputs, tiny_model

    base = tiny_model(soft_training=True)
    base.save_pretrained(tmp_path / "base")
    ids, mask, labels = inputs()
    # the encoder trains through LoRA; the classifier and the label graph train in full (modules_to_save)
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=4,
        lora_alpha=8,
        target_modules=["query", "value"],
        modules_to_save=["classifier", "label_graph"],
    )
    model = get_peft_model(base, config)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert any("label_graph" in name for name in trainable) and any("lora_" in name for name in trainable)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-2)
    for _ in range(3):
        model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    logits = model(input_ids=ids, attention_mask=mask).logits
    model.save_pretrained(tmp_path / "adapter")

    fresh = type(base).from_pretrained(tmp_path / "base").eval()
    assert not torch.allclose(fresh(input_ids=ids, attention_mask=mask).logits, logits, atol=1e-4)
    reloaded = PeftModel.from_pretrained(fresh, tmp_path / "adapter").eval()
    torch.testing.assert_close(reloaded(input_ids=ids, attention_mask=mask).logits, logits)
    merged = reloaded.merge_and_unload()
    torch.testing.assert_close(merged(input_ids=ids, attention_mask=mask).logits, logits, atol=1e-5, rtol=1e-5)
