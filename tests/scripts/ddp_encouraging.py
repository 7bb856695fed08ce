"""One SGD step of a tiny lanco seq2seq model with the encouraging loss as the Trainer's ``compute_loss_func``,
under torchrun or alone: ``python ddp_encouraging.py OUT PER_DEVICE_BATCH``. The four targets hold 6, 1, 2 and 1
tokens, so the two ranks of a 2-process run always see different token counts."""

import os
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import Trainer, TrainingArguments

import lanco_hf
from lanco_hf.training import make_compute_loss_func

out, per_device_batch = Path(sys.argv[1]), int(sys.argv[2])
generator = torch.Generator().manual_seed(0)
torch.manual_seed(0)
config = lanco_hf.LancoSeq2SeqConfig(
    vocab_size=99,
    d_model=32,
    encoder_layers=1,
    decoder_layers=1,
    encoder_attention_heads=2,
    decoder_attention_heads=2,
    encoder_ffn_dim=64,
    decoder_ffn_dim=64,
    dropout=0.0,
)
model = lanco_hf.LancoForConditionalGeneration(config)
examples = []
for length in (6, 1, 2, 1):
    labels = torch.full((6,), -100)
    labels[:length] = torch.randint(4, 99, (length,), generator=generator)
    examples.append(
        {
            "input_ids": torch.randint(4, 99, (5,), generator=generator),
            "attention_mask": torch.ones(5, dtype=torch.long),
            "decoder_input_ids": model.prepare_decoder_input_ids_from_labels(labels.clamp(min=0)[None])[0],
            "labels": labels,
        }
    )
loss = lanco_hf.EncouragingLoss(log_end=0.5, label_smoothing=0.1, bonus_label_smoothing=0.1)
args = TrainingArguments(
    output_dir=str(out / "trainer"),
    per_device_train_batch_size=per_device_batch,
    max_steps=1,
    learning_rate=0.5,
    optim="sgd",
    lr_scheduler_type="constant",
    weight_decay=0.0,
    max_grad_norm=0.0,
    use_cpu=True,
    ddp_backend="gloo" if "LOCAL_RANK" in os.environ else None,
    save_strategy="no",
    report_to="none",
    seed=0,
    disable_tqdm=True,
    ddp_find_unused_parameters=False,
)
trainer = Trainer(model=model, args=args, train_dataset=examples, compute_loss_func=make_compute_loss_func(loss))
trainer.train()
if trainer.is_world_process_zero():
    save_file({name: p.detach().contiguous() for name, p in model.named_parameters()}, str(out / "weights.safetensors"))
