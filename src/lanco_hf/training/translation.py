"""The translation job: data, tokenizer, model, ``Seq2SeqTrainer`` training, BLEU / chrF on the test split,
checkpoint + tokenizer + generation config + model card, and a reload through ``AutoModelForSeq2SeqLM``."""

from __future__ import annotations

import time
from pathlib import Path

from transformers import (
    AutoConfig,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    Seq2SeqTrainingArguments,
    set_seed,
)

from ..data.checks import check_data_files, check_text_columns
from ..data.corpora import CORPORA, flatten_translation, load_corpus
from ..data.tokenizer import cached_bpe_tokenizer
from ..evaluation.translation import translate
from ..hub.methods import methods_of, methods_of_loss
from ..hub.model_card import CardContent, CardSpec
from ..metrics import load as load_metric
from ..metrics import translation_compute_metrics
from .arguments import LossArguments, ModelArguments, TranslationDataArguments
from .callbacks import LearningCurveCallback, TimeBudgetCallback
from .checkpoints import average_last_checkpoints
from .fine_tuning import check_vocabulary
from .hub_push import LancoSeq2SeqTrainer
from .loss_functions import build_run_loss
from .run import base_model_of, batch_size, finish_run, optimizer_summary, run_summary, schedule_summary
from .safe_training import train_safely
from .sampling import ResumableLengthGroupingMixin
from .tasks import register_task


class TranslationTrainer(ResumableLengthGroupingMixin, LancoSeq2SeqTrainer):
    """``LancoSeq2SeqTrainer`` whose length-grouped batches a resumed run reproduces in every epoch."""


def load_translation_data(data_args: TranslationDataArguments):
    """A ``DatasetDict`` with ``train`` / ``test`` (and usually ``validation``) splits and one column per
    language: a lanco-hf corpus (``lanco_hf.data.load_corpus``) or a Hub / local dataset; the usual
    ``{"translation": {src: ..., tgt: ...}}`` layout of both is flattened."""
    if data_args.dataset in CORPORA:
        dataset = load_corpus(data_args.dataset)
    else:
        from datasets import load_dataset

        check_data_files(data_args.dataset)
        dataset = load_dataset(data_args.dataset, data_args.dataset_config)
    dataset = flatten_translation(dataset)
    for split in ("train", "test"):
        if split not in dataset:
            raise ValueError(f"dataset {data_args.dataset!r} has no {split!r} split; it has {list(dataset)}")
    check_text_columns(
        dataset, {"source_lang": data_args.source_lang, "target_lang": data_args.target_lang}, data_args.dataset
    )
    return dataset


def build_tokenizer(data_args: TranslationDataArguments, train_split, model_args: ModelArguments | None = None):
    """``tokenizer_name`` if given, else the tokenizer saved with ``model_name_or_path`` (fine-tuning keeps the
    checkpoint's vocabulary), else a joint BPE trained on the training split (cached)."""
    name = data_args.tokenizer_name or (model_args.model_name_or_path if model_args else None)
    if name:
        return AutoTokenizer.from_pretrained(name)
    texts = list(train_split[data_args.source_lang]) + list(train_split[data_args.target_lang])
    return cached_bpe_tokenizer(texts, data_args.tokenizer_vocab_size, data_args.dataset.replace("/", "_"))


def build_model(model_args: ModelArguments, tokenizer):
    if model_args.model_name_or_path:
        model = AutoModelForSeq2SeqLM.from_pretrained(model_args.model_name_or_path, **model_args.model_config)
        check_vocabulary(model, tokenizer, model_args.model_name_or_path)
        return model
    token_ids = {
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "decoder_start_token_id": tokenizer.bos_token_id,
    }
    config = AutoConfig.for_model(model_args.model_type, **{**token_ids, **model_args.model_config})
    return AutoModelForSeq2SeqLM.from_config(config)


def tokenize_splits(dataset, tokenizer, data_args: TranslationDataArguments):
    source, target = data_args.source_lang, data_args.target_lang

    def encode(batch):
        encoded = tokenizer(batch[source], max_length=data_args.max_source_length, truncation=True)
        labels = tokenizer(text_target=batch[target], max_length=data_args.max_target_length, truncation=True)
        encoded["labels"] = labels["input_ids"]
        encoded["length"] = [max(len(s), len(t)) for s, t in zip(encoded["input_ids"], encoded["labels"])]
        return encoded

    splits = {}
    for name in ("train", "validation"):
        if name in dataset:
            split = dataset[name]
            if name == "train" and data_args.max_train_samples is not None:
                split = split.select(range(min(data_args.max_train_samples, len(split))))
            splits[name] = split.map(encode, batched=True, remove_columns=split.column_names, desc=f"Tokenizing {name}")
    return splits


def translation_card(config, results: dict) -> CardContent:
    """The translation card: BLEU / chrF next to the copy-the-source baseline, examples, the loss's method."""
    test, loss, card = results["test"], results.get("loss"), results["card"]
    methods = methods_of(config) + methods_of_loss(loss)
    source, target = card["languages"]
    scores = {"bleu": test["bleu"], "chrf": test["chrf"]}
    examples = card["examples"]
    return CardContent(
        metrics=scores,
        methods=methods,
        task_name=f"Translation {source}-{target}",
        card_data={"language": [source, target], "widget": [{"text": example["source"]} for example in examples[:2]]},
        variables={
            "description": f"A {methods[0].name} ({config.model_type}) translating {source} to {target}.",
            "eval_size": test["size"],
            "scores": scores,
            "baseline_scores": results.get("copy_source_baseline"),
            "beam_scores": results.get("test_beam"),
            "example_source": examples[0]["source"] if examples else "",
            "loss": loss,
        },
    )


TRANSLATION_CARD = CardSpec(
    template="seq2seq.md",
    task_type="translation",
    pipeline_tag="translation",
    tags=("custom_code", "translation"),
    metrics=("bleu", "chrf"),
    metric_labels={"bleu": "BLEU", "chrf": "chrF"},
    metric_value=lambda value: round(value, 2),
    content=translation_card,
    model_types=("lanco_seq2seq", "explicit_sparse", "muse", "cross_view"),
)


def check_translation_settings(
    model_args: ModelArguments, data_args: TranslationDataArguments, training_args: Seq2SeqTrainingArguments, *_
) -> None:
    """Settings that only make sense together."""
    order, strategy = data_args.length_grouped_batch_order, training_args.train_sampling_strategy
    if order != "descending" and strategy != "group_by_length":
        raise ValueError(
            f"length_grouped_batch_order={order!r} orders length-grouped batches; it needs "
            f"train_sampling_strategy='group_by_length' (got {strategy!r})"
        )


@register_task("translation", card=TRANSLATION_CARD, check=check_translation_settings)
def run_translation(
    model_args: ModelArguments,
    data_args: TranslationDataArguments,
    training_args: Seq2SeqTrainingArguments,
    loss_args: LossArguments | None = None,
    resume: bool = False,
) -> dict:
    """Train, evaluate, save and reload; returns the results written to ``output_dir/results.json``."""
    started = time.monotonic()
    output_dir = Path(training_args.output_dir)
    run_loss = build_run_loss(loss_args or LossArguments(), training_args)
    with training_args.main_process_first(desc="corpus and tokenizer"):  # under DDP, rank 0 fills the caches
        dataset = load_translation_data(data_args)
        tokenizer = build_tokenizer(data_args, dataset["train"], model_args)
    bleu_chrf = load_metric("bleu_chrf")
    set_seed(training_args.seed)
    model = build_model(model_args, tokenizer)
    model.generation_config.max_new_tokens = data_args.max_new_tokens
    model.generation_config.num_beams = data_args.num_beams
    model.generation_config.length_penalty = data_args.length_penalty
    splits = tokenize_splits(dataset, tokenizer, data_args)

    callbacks = [
        LearningCurveCallback(),
        *([TimeBudgetCallback(data_args.max_train_minutes)] if data_args.max_train_minutes else []),
    ]
    callbacks += run_loss.callbacks if run_loss else []
    trainer = TranslationTrainer(
        model=model,
        args=training_args,
        train_dataset=splits["train"],
        eval_dataset=splits.get("validation"),
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100),
        processing_class=tokenizer,
        callbacks=callbacks,
        batch_order=data_args.length_grouped_batch_order,
        compute_loss_func=run_loss.compute_loss_func if run_loss else None,
        compute_metrics=(
            translation_compute_metrics(tokenizer, bleu_chrf) if training_args.predict_with_generate else None
        ),
    )
    train_result = train_safely(trainer, output_dir, resume)
    curve = LearningCurveCallback.of(trainer)  # not the one passed: a restore may swap in another
    averaged_steps = average_last_checkpoints(
        model, output_dir, data_args.average_checkpoints, trainer.state.global_step
    )
    trainer.save_model(output_dir)  # on every rank: gathers FSDP / DeepSpeed shards; writes on the first only
    if not trainer.is_world_process_zero():
        return {}
    (output_dir / "training_args.bin").unlink(missing_ok=True)  # a pickle; results.json records the settings
    trainer.save_state()
    if trainer.is_fsdp_enabled or trainer.is_deepspeed_enabled:  # the trained copy is sharded across ranks
        model = AutoModelForSeq2SeqLM.from_pretrained(output_dir)

    test = dataset["test"]
    if data_args.max_test_samples is not None:
        test = test.select(range(min(data_args.max_test_samples, len(test))))
    sources, references = list(test[data_args.source_lang]), list(test[data_args.target_lang])
    progress = not training_args.disable_tqdm
    hypotheses = translate(
        model, tokenizer, sources, progress=progress, max_source_length=data_args.max_source_length, num_beams=1
    )
    (output_dir / "test_translations.txt").write_text("\n".join(hypotheses) + "\n", encoding="utf-8")
    beam = None
    if data_args.num_beams > 1:  # the saved generation config's beam search, scored beside greedy
        started_beam = time.monotonic()
        beam_hypotheses = translate(
            model, tokenizer, sources, progress=progress, max_source_length=data_args.max_source_length
        )
        beam = {
            "num_beams": data_args.num_beams,
            "length_penalty": data_args.length_penalty,
            "size": len(test),
            **bleu_chrf.compute(predictions=beam_hypotheses, references=references),
            "seconds": time.monotonic() - started_beam,
        }
        (output_dir / f"test_translations_beam{data_args.num_beams}.txt").write_text(
            "\n".join(beam_hypotheses) + "\n", encoding="utf-8"
        )
    shown = range(min(data_args.num_examples_to_show, len(sources)))
    examples = [{"source": sources[i], "reference": references[i], "hypothesis": hypotheses[i]} for i in shown]

    reloaded = AutoModelForSeq2SeqLM.from_pretrained(output_dir)
    again = translate(
        reloaded,
        AutoTokenizer.from_pretrained(output_dir),
        [e["source"] for e in examples],
        progress=False,
        max_source_length=data_args.max_source_length,
        num_beams=1,
    )

    metrics = train_result.metrics
    results = {
        "task": "translation",
        "model_type": model.config.model_type,
        "num_parameters": model.num_parameters(),
        "test": {
            "size": len(test),
            "decoding": "greedy",
            **bleu_chrf.compute(predictions=hypotheses, references=references),
        },
        "test_beam": beam,
        "copy_source_baseline": bleu_chrf.compute(predictions=sources, references=references),
        "train_steps": trainer.state.global_step,
        "averaged_checkpoints": averaged_steps,
        "validation_curve": curve.points,
        "world_size": training_args.world_size,
        "train_runtime_s": metrics.get("train_runtime"),
        "train_source_tokens": trainer.state.num_input_tokens_seen,
        "train_loss": metrics.get("train_loss"),
        "loss": run_loss.to_dict() if run_loss else None,
        "reload_reproduces_examples": again == [e["hypothesis"] for e in examples],
    }
    if results["train_runtime_s"] and results["train_source_tokens"]:
        results["train_source_tokens_per_s"] = results["train_source_tokens"] / results["train_runtime_s"]
    card = {
        "dataset_name": data_args.dataset,
        "base_model": base_model_of(model_args.model_name_or_path),
        "dataset_description": _describe(dataset, data_args),
        "languages": [data_args.source_lang, data_args.target_lang],
        "decoding": "greedy",
        "examples": examples,
        "training_summary": _training_summary(training_args, data_args, results),
    }
    return finish_run(
        results,
        output_dir,
        started,
        card=card,
        report=_report(results, examples, again, type(reloaded).__name__, output_dir),
        trainer=trainer,
    )


def _describe(dataset, data_args: TranslationDataArguments) -> str:
    sizes = ", ".join(f"{len(split):,} {name}" for name, split in dataset.items())
    description = dataset["train"].info.description or data_args.dataset
    return f"{description} ({sizes} pairs)"


def _training_summary(training_args, data_args, results) -> dict:
    return {
        "steps": results["train_steps"],
        "batch size": batch_size(training_args, training_args.world_size),
        "processes": training_args.world_size,
        "optimizer": optimizer_summary(training_args),
        "schedule": schedule_summary(training_args),
        "label smoothing": training_args.label_smoothing_factor,
        "checkpoints averaged": len(results["averaged_checkpoints"]),
        "max length (source / target)": f"{data_args.max_source_length} / {data_args.max_target_length}",
        **run_summary(training_args.seed, results["train_runtime_s"]),
    }


def _report(results: dict, examples: list[dict], reloaded: list[str], model_class: str, output_dir: Path) -> list[str]:
    test = results["test"]
    baseline = results["copy_source_baseline"]
    beam = results["test_beam"]
    return [
        f"\nTest ({test['size']} pairs, greedy): BLEU {test['bleu']:.2f}, chrF {test['chrf']:.2f}"
        f"  |  copy-the-source baseline: BLEU {baseline['bleu']:.2f}, chrF {baseline['chrf']:.2f}",
        *(
            [
                f"Test (beam {beam['num_beams']}, length penalty {beam['length_penalty']}): BLEU {beam['bleu']:.2f}, "
                f"chrF {beam['chrf']:.2f}"
            ]
            if beam
            else []
        ),
        f"Saved to {output_dir} (weights, tokenizer, generation_config.json, README.md model card, results.json)",
        f"Reloaded as {model_class} with AutoModelForSeq2SeqLM.from_pretrained; translations:",
        *(
            f"  EN:  {example['source']}\n  REF: {example['reference']}\n  OUT: {hypothesis}\n"
            for example, hypothesis in zip(examples, reloaded)
        ),
    ]
