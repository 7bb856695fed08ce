"""Trains a tiny Explicit Sparse Transformer with the transformers Trainer, under torchrun or alone, and writes
what each rank saw: `python ddp_train.py OUT PER_DEVICE_BATCH` (world size from the launcher)."""

import json
import os
import sys
from pathlib import Path

import torch
from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments, TrainerCallback

import lanco_hf
from lanco_hf.data.tokenizer import train_bpe_tokenizer

out, per_device_batch = Path(sys.argv[1]), int(sys.argv[2])
sentences = [f"verse {i} of the book number {i % 7} and chapter {i % 5}" for i in range(48)]
tokenizer = train_bpe_tokenizer(sentences * 3, vocab_size=300)
dataset = [dict(tokenizer(s), labels=tokenizer(text_target=s[::-1])["input_ids"]) for s in sentences]
index_of = {tuple(row["input_ids"]): i for i, row in enumerate(dataset)}
assert len(index_of) == len(dataset)

torch.manual_seed(0)
config = lanco_hf.ExplicitSparseConfig(
    vocab_size=len(tokenizer),
    d_model=32,
    encoder_layers=1,
    decoder_layers=1,
    encoder_attention_heads=2,
    decoder_attention_heads=2,
    encoder_ffn_dim=64,
    decoder_ffn_dim=64,
    dropout=0.0,
    attn_topk=4,
)
model = lanco_hf.ExplicitSparseForConditionalGeneration(config)
seen = []


class Record(TrainerCallback):
    def on_train_end(self, args, state, control, **kwargs):
        losses = [entry["loss"] for entry in state.log_history if "loss" in entry]
        record = {"world_size": args.world_size, "seen": seen, "losses": losses}
        (out / f"rank{args.process_index}.json").write_text(json.dumps(record))


collator = DataCollatorForSeq2Seq(tokenizer, model=model)


def collate(features):
    seen.append([index_of[tuple(f["input_ids"])] for f in features])
    return collator(features)


args = Seq2SeqTrainingArguments(
    output_dir=str(out / "trainer"),
    per_device_train_batch_size=per_device_batch,
    max_steps=6,
    learning_rate=0.5,
    optim="sgd",  # plain SGD: Adam would amplify float noise in the (zero) gradient of the key biases
    use_cpu=True,
    ddp_backend="gloo" if int(os.environ.get("WORLD_SIZE", 1)) > 1 else None,
    save_strategy="no",
    report_to="none",
    seed=0,
    logging_steps=1,
    dataloader_num_workers=0,
    disable_tqdm=True,
    ddp_find_unused_parameters=False,
)
trainer = Seq2SeqTrainer(model=model, args=args, train_dataset=dataset, data_collator=collate, callbacks=[Record()])
trainer.train()
if trainer.is_world_process_zero():
    model.save_pretrained(out / "model")
