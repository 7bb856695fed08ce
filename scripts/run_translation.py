#!/usr/bin/env python
"""Fine-tune or train from scratch a translation model (any lanco seq2seq architecture or any transformers
``AutoModelForSeq2SeqLM`` one) with ``Seq2SeqTrainer``, in the style of transformers'
``examples/pytorch/translation/run_translation.py``; BLEU / chrF go through the lanco ``evaluate`` module
``lanco_hf.metrics.path("bleu_chrf")`` (sacrebleu).

Data: ``--dataset_name`` (a ``datasets`` name, or ``bible_en_es``: the offline Bible corpus of ``lanco-hf train``)
or local ``--train_file`` / ``--validation_file`` / ``--test_file`` (JSON Lines or CSV), either in the Hub's layout
``{"translation": {"en": "...", "es": "..."}}`` or flat, one column per language (``{"en": "...", "es": "..."}``).

Fine-tune a saved model (lanco or transformers; its tokenizer and vocabulary are kept)::

    python scripts/run_translation.py --model_name_or_path runs/explicit_sparse_bible \\
        --dataset_name bible_en_es --source_lang en --target_lang es \\
        --do_train --do_predict --predict_with_generate --max_steps 200 --output_dir runs/finetuned

Train from scratch (a joint BPE is trained on the training split), with the encouraging loss::

    python scripts/run_translation.py --model_type explicit_sparse --config_overrides d_model=256,attn_topk=8 \\
        --train_file train.jsonl --validation_file dev.jsonl --source_lang en --target_lang es \\
        --loss encouraging --log_end 0.5 --do_train --do_eval --predict_with_generate --output_dir runs/scratch
"""

import logging
import os
from dataclasses import dataclass, field

import numpy as np
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    Seq2SeqTrainingArguments,
    set_seed,
)

import lanco_hf
from lanco_hf.data.corpora import CORPORA, flatten_translation, load_corpus
from lanco_hf.data.tokenizer import cached_bpe_tokenizer
from lanco_hf.modeling.validation import check_int
from lanco_hf.training.fine_tuning import (
    DataFileArguments,
    LossScriptArguments,
    ModelArguments,
    check_vocabulary,
    config_from_scratch,
    parse_script_arguments,
    push_or_write_card,
)
from lanco_hf.training.hub_push import LancoSeq2SeqTrainer

logger = logging.getLogger(__name__)


@dataclass
class DataTrainingArguments(DataFileArguments):
    dataset_name: str | None = field(
        default=None,
        metadata={"help": "A `datasets` name, or a lanco-hf corpus built offline (lanco_hf.data.load_corpus)."},
    )
    source_lang: str = field(default="en", metadata={"help": "Source language id (a key of the translation pairs)."})
    target_lang: str = field(default="es", metadata={"help": "Target language id."})
    preprocessing_num_workers: int | None = field(default=None, metadata={"help": "Processes for tokenization."})
    max_source_length: int = field(default=128, metadata={"help": "Source sentences are cut at this many tokens."})
    max_target_length: int = field(default=128, metadata={"help": "Target sentences are cut at this many tokens."})
    val_max_target_length: int | None = field(
        default=None,
        metadata={"help": "Length cut of evaluation targets and generation (default: max_target_length)."},
    )
    num_beams: int | None = field(
        default=None, metadata={"help": "Beams for evaluate / predict (default: generation_num_beams or the model's)."}
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Train on the first N pairs."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Evaluate on the first N pairs."})
    max_predict_samples: int | None = field(default=None, metadata={"help": "Predict the first N test pairs."})
    source_prefix: str = field(
        default="", metadata={"help": "Prefix of every source (T5: 'translate English to ...: ')."}
    )

    def __post_init__(self):
        for name in ("max_source_length", "max_target_length"):
            check_int(name, getattr(self, name), 1)
        for name in (
            "val_max_target_length",
            "num_beams",
            "max_train_samples",
            "max_eval_samples",
            "max_predict_samples",
        ):
            check_int(name, getattr(self, name), 1, allow_none=True)
        if self.val_max_target_length is None:
            self.val_max_target_length = self.max_target_length


def load_pairs(data_args: DataTrainingArguments):
    """The splits as a ``DatasetDict`` with one column per language (the Hub's ``translation`` column flattened)."""
    if data_args.dataset_name in CORPORA:
        raw = load_corpus(data_args.dataset_name)
    else:
        raw = data_args.load_raw_datasets()
    raw = flatten_translation(raw)
    languages = [data_args.source_lang, data_args.target_lang]
    for name, split in raw.items():
        missing = [lang for lang in languages if lang not in split.column_names]
        if missing:
            raise ValueError(
                f"the {name} split has no {missing} text; source_lang / target_lang must be keys of its "
                f"'translation' pairs or columns; it has columns {split.column_names}"
            )
        raw[name] = split.select_columns(languages)
    return raw


def build_tokenizer(model_args: ModelArguments, data_args: DataTrainingArguments, raw):
    """``tokenizer_name``, else the checkpoint's own tokenizer (fine-tuning keeps its vocabulary), else a joint
    byte-level BPE trained on the training split (cached)."""
    name = model_args.tokenizer_name or model_args.model_name_or_path or model_args.config_name
    if name:
        try:
            return AutoTokenizer.from_pretrained(name, trust_remote_code=model_args.trust_remote_code)
        except (OSError, ValueError):
            if name != model_args.config_name:
                raise
    if "train" not in raw:
        raise ValueError("training from scratch needs a training split to train the tokenizer on (train_file)")
    train = raw["train"]
    texts = list(train[data_args.source_lang]) + list(train[data_args.target_lang])
    return cached_bpe_tokenizer(texts, model_args.tokenizer_vocab_size, f"translation-{data_args.source_lang}")


def build_model(model_args: ModelArguments, tokenizer):
    if model_args.model_name_or_path:
        model = AutoModelForSeq2SeqLM.from_pretrained(
            model_args.model_name_or_path, trust_remote_code=model_args.trust_remote_code
        )
        check_vocabulary(model, tokenizer, model_args.model_name_or_path)
        return model
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.pad_token_id
    config = config_from_scratch(
        model_args,
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=start,
        forced_eos_token_id=tokenizer.eos_token_id,
    )
    if getattr(config, "decoder_vocab_size", None) is not None:  # Marian: the joint vocabulary on both sides
        config.decoder_vocab_size = len(tokenizer)
    if not config.is_encoder_decoder:
        raise ValueError(f"model_type={config.model_type!r} is not an encoder-decoder; allowed: a seq2seq model type")
    return AutoModelForSeq2SeqLM.from_config(config)


# what HfArgumentParser parses the command line into, in order
ARGUMENTS = (ModelArguments, DataTrainingArguments, Seq2SeqTrainingArguments, LossScriptArguments)


def main(args: list[str] | None = None) -> dict:
    model_args, data_args, training_args, loss_args = parse_script_arguments(ARGUMENTS, args)
    logger.info(f"lanco-hf {lanco_hf.__version__}; training parameters {training_args}")
    set_seed(training_args.seed)

    raw = load_pairs(data_args)
    tokenizer = build_tokenizer(model_args, data_args, raw)
    model = build_model(model_args, tokenizer)
    run_loss = loss_args.run_loss(training_args)
    if data_args.num_beams is not None:
        model.generation_config.num_beams = data_args.num_beams
    model.generation_config.max_new_tokens = data_args.val_max_target_length

    source, target = data_args.source_lang, data_args.target_lang

    def encode(batch, max_target_length):
        inputs = [data_args.source_prefix + text for text in batch[source]]
        encoded = tokenizer(inputs, max_length=data_args.max_source_length, truncation=True)
        encoded["labels"] = tokenizer(text_target=batch[target], max_length=max_target_length, truncation=True)[
            "input_ids"
        ]
        return encoded

    wanted = {"train": training_args.do_train, "validation": training_args.do_eval, "test": training_args.do_predict}
    limits = {"train": data_args.max_train_samples, "validation": data_args.max_eval_samples}
    limits["test"] = data_args.max_predict_samples
    splits, texts = {}, {}
    for name, needed in wanted.items():
        if not needed:
            continue
        if name not in raw:
            raise ValueError(
                f"--do_{dict(train='train', validation='eval', test='predict')[name]} needs a {name} split"
            )
        split = raw[name]
        if limits[name] is not None:
            split = split.select(range(min(limits[name], len(split))))
        texts[name] = split
        length = data_args.max_target_length if name == "train" else data_args.val_max_target_length
        with training_args.main_process_first(desc=f"tokenizing {name}"):
            splits[name] = split.map(
                encode,
                batched=True,
                fn_kwargs={"max_target_length": length},
                remove_columns=split.column_names,
                num_proc=data_args.preprocessing_num_workers,
                desc=f"Tokenizing {name}",
            )

    trainer = LancoSeq2SeqTrainer(
        model=model,
        args=training_args,
        train_dataset=splits.get("train"),
        eval_dataset=splits.get("validation"),
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100),
        processing_class=tokenizer,
        compute_metrics=(
            lanco_hf.metrics.translation_compute_metrics(tokenizer) if training_args.predict_with_generate else None
        ),
        compute_loss_func=run_loss.compute_loss_func if run_loss else None,
        callbacks=run_loss.callbacks if run_loss else None,
    )

    results = {}
    if training_args.do_train:
        train_result = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
        trainer.save_model()  # weights, config (auto_map), generation config and tokenizer
        metrics = {**train_result.metrics, "train_samples": len(splits["train"])}
        if run_loss:
            metrics["loss_function"] = run_loss.to_dict()  # the lanco loss and its settings
        trainer.log_metrics("train", train_result.metrics)
        trainer.save_metrics("train", metrics)
        trainer.save_state()
        results.update(metrics)

    max_new_tokens, num_beams = data_args.val_max_target_length, model.generation_config.num_beams
    if training_args.do_eval:
        metrics = trainer.evaluate(max_new_tokens=max_new_tokens, num_beams=num_beams, metric_key_prefix="eval")
        metrics["eval_samples"] = len(splits["validation"])
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)
        results.update(metrics)

    if training_args.do_predict:
        prediction = trainer.predict(
            splits["test"], metric_key_prefix="predict", max_new_tokens=max_new_tokens, num_beams=num_beams
        )
        metrics = {**prediction.metrics, "predict_samples": len(splits["test"])}
        trainer.log_metrics("predict", metrics)
        trainer.save_metrics("predict", metrics)
        results.update(metrics)
        if trainer.is_world_process_zero() and training_args.predict_with_generate:
            ids = np.where(prediction.predictions < 0, tokenizer.pad_token_id, prediction.predictions)
            hypotheses = [text.strip() for text in tokenizer.batch_decode(ids, skip_special_tokens=True)]
            os.makedirs(training_args.output_dir, exist_ok=True)
            with open(os.path.join(training_args.output_dir, "generated_predictions.txt"), "w", encoding="utf-8") as f:
                f.write("\n".join(hypotheses) + "\n")

    push_or_write_card(trainer, model_args, data_args, "translation", language=[source, target])
    return results


if __name__ == "__main__":
    main()
