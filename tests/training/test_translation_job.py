"""``lanco-hf train`` end to end on a tiny model and real verses (the generic `datasets` path), and the
YAML run configurations."""

import json
from pathlib import Path

import pytest
import yaml
from helpers import golden_results_keys
from huggingface_hub import ModelCard
from transformers import AutoModelForSeq2SeqLM, Seq2SeqTrainingArguments

from lanco_hf.training.arguments import ModelArguments, TranslationDataArguments, load_run_config, parse_run_config

CONFIG_DIR = Path(__file__).parents[2] / "configs"
CONFIGS = sorted(CONFIG_DIR.glob("*bible*.yaml"))
PARSERS = (ModelArguments, TranslationDataArguments, Seq2SeqTrainingArguments)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_translation_configs_parse(path, tmp_path):
    model_args, data_args, training_args = parse_run_config(load_run_config(path, [f"output_dir={tmp_path}"]), PARSERS)
    assert data_args.dataset == "bible_en_es" and model_args.model_config


def test_overrides_and_unknown_keys(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        yaml.safe_dump({"model_type": "explicit_sparse", "model_config": {"d_model": 64}, "output_dir": "x"})
    )
    config = load_run_config(
        path, ["model_config.attn_topk=4", "seed=7", "max_train_minutes=1.5", "save_strategy=no", "learning_rate=2e-3"]
    )
    model_args, data_args, training_args = parse_run_config(config, PARSERS)
    assert model_args.model_config == {"d_model": 64, "attn_topk": 4} and training_args.seed == 7
    assert data_args.max_train_minutes == 1.5 and training_args.save_strategy == "no"
    assert training_args.learning_rate == 0.002  # YAML 1.2 numbers: 2e-3 is a float, not a string
    with pytest.raises(ValueError, match="not used by the HfArgumentParser.*d_modle"):
        parse_run_config({**config, "d_modle": 3}, PARSERS)
    with pytest.raises(ValueError, match="key=value"):
        load_run_config(path, ["seed"])
    with pytest.raises(ValueError, match="num_beams=0 is out of range"):
        parse_run_config({**config, "num_beams": 0}, PARSERS)


@pytest.mark.slow
def test_train_command_end_to_end(tiny_translation_run):
    output, stdout = tiny_translation_run
    files = {p.name for p in output.iterdir()}
    assert {
        "model.safetensors",
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "README.md",
        "results.json",
        "test_translations.txt",
        "pipeline_translation.py",
        "checkpoint-6",
    } <= files
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in files)
    results = json.loads((output / "results.json").read_text())
    assert list(results) == golden_results_keys("translation_explicit_sparse_encouraging")
    assert results["train_steps"] == 6 and results["test"]["size"] == 6 and results["reload_reproduces_examples"]
    assert results["test"]["decoding"] == "greedy" and "test_translations_beam2.txt" in files
    beam = results["test_beam"]
    assert beam["num_beams"] == 2 and beam["length_penalty"] == 1.0 and beam["size"] == 6
    assert results["averaged_checkpoints"] == [3, 6]  # checkpoint-3 and the final weights
    assert [point["step"] for point in results["validation_curve"]] == [3, 6]
    assert all({"bleu", "chrf", "loss", "train_seconds"} <= set(point) for point in results["validation_curve"])
    card = ModelCard.load(output / "README.md")
    assert card.data.pipeline_tag == "translation" and card.data.library_name == "transformers"
    assert "explicit_sparse" in card.data.tags
    metrics = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert metrics == {"bleu": round(results["test"]["bleu"], 2), "chrf": round(results["test"]["chrf"], 2)}
    assert "arxiv.org/abs/1912.11637" in card.text and "@article{zhao2019explicit" in card.text
    model = AutoModelForSeq2SeqLM.from_pretrained(output)
    assert model.config.attn_topk == 4 and model.generation_config.max_new_tokens == 10
    assert model.generation_config.num_beams == 2 and model.generation_config.length_penalty == 1.0
    # the validation generations (predict_with_generate) left the model's config without transformers' global
    # defaults, so generate() does not warn that both max_new_tokens and max_length=20 are set
    assert model.generation_config.max_length is None and model.generation_config.top_k is None
    assert "Reloaded as ExplicitSparseForConditionalGeneration" in stdout
