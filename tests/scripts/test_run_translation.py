"""``scripts/run_translation.py`` end to end on tiny JSON Lines files: a lanco model from scratch (with the
encouraging loss), fine-tuning the saved result (tokenizer and vocabulary kept), and a transformers Marian model."""

import json

import pytest
import torch
from helpers import load_script, translation_pairs, write_jsonl
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, MarianMTModel

from lanco_hf import ExplicitSparseForConditionalGeneration
from lanco_hf.data.tokenizer import train_bpe_tokenizer
from lanco_hf.evaluation.translation import translation_scores

run_translation = load_script("run_translation")

TINY_LANCO = (
    "d_model=32,encoder_layers=1,decoder_layers=1,encoder_attention_heads=2,decoder_attention_heads=2,"
    "encoder_ffn_dim=64,decoder_ffn_dim=64,attn_topk=4"
)
TINY_MARIAN = (
    "d_model=32,encoder_layers=1,decoder_layers=1,encoder_attention_heads=2,decoder_attention_heads=2,"
    "encoder_ffn_dim=64,decoder_ffn_dim=64,max_position_embeddings=64"
)
COMMON = [
    *("--source_lang en --target_lang es --do_train --do_predict --predict_with_generate --max_steps 3".split()),
    *("--per_device_train_batch_size 8 --per_device_eval_batch_size 8 --learning_rate 3e-3 --report_to none".split()),
    *("--save_strategy no --val_max_target_length 32 --max_predict_samples 6 --disable_tqdm true".split()),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pairs")
    pairs = translation_pairs()
    hub = {split: [{"translation": pair} for pair in rows] for split, rows in pairs.items()}
    return {
        "pairs": pairs,
        "hub": {split: write_jsonl(folder / f"hub_{split}.jsonl", rows) for split, rows in hub.items()},
        "flat": {split: write_jsonl(folder / f"flat_{split}.jsonl", rows) for split, rows in pairs.items()},
    }


def files(layout: dict) -> list[str]:
    return ["--train_file", layout["train"], "--validation_file", layout["validation"], "--test_file", layout["test"]]


def check_predictions(output_dir, results, references):
    """The reported predict BLEU / chrF are sacrebleu's on the written translations."""
    # one translation a line; an untrained model's output may hold other line breaks (str.splitlines would cut there)
    hypotheses = (output_dir / "generated_predictions.txt").read_bytes().decode("utf-8").split("\n")[:-1]
    assert len(hypotheses) == 6
    expected = translation_scores(hypotheses, references[:6])
    assert results["predict_bleu"] == pytest.approx(expected["bleu"])
    assert results["predict_chrf"] == pytest.approx(expected["chrf"])
    assert json.loads((output_dir / "all_results.json").read_text())["predict_bleu"] == results["predict_bleu"]


@pytest.mark.slow
def test_from_scratch_then_fine_tune_then_marian(data, tmp_path):
    references = [pair["es"] for pair in data["pairs"]["test"]]
    scratch = tmp_path / "scratch"
    results = run_translation.main(
        [
            *COMMON,
            *files(data["hub"]),
            *"--model_type explicit_sparse --tokenizer_vocab_size 300 --config_overrides".split(),
            TINY_LANCO,
            *"--loss encouraging --log_end 0.5 --do_eval --output_dir".split(),
            str(scratch),
        ]
    )
    check_predictions(scratch, results, references)
    assert "eval_bleu" in results
    train_metrics = json.loads((scratch / "train_results.json").read_text())
    assert train_metrics["loss_function"]["name"] == "encouraging" and train_metrics["loss_function"]["log_end"] == 0.5
    model = AutoModelForSeq2SeqLM.from_pretrained(scratch)
    assert isinstance(model, ExplicitSparseForConditionalGeneration) and model.config.attn_topk == 4
    assert model.config.vocab_size == len(AutoTokenizer.from_pretrained(scratch)) <= 300

    # fine-tune the saved model on the flat two-column files: its tokenizer and vocabulary are kept
    tuned = tmp_path / "tuned"
    results = run_translation.main(
        [*COMMON, *files(data["flat"]), "--model_name_or_path", str(scratch), "--output_dir", str(tuned)]
    )
    check_predictions(tuned, results, references)
    assert AutoTokenizer.from_pretrained(tuned).get_vocab() == AutoTokenizer.from_pretrained(scratch).get_vocab()
    before, after = model.state_dict(), AutoModelForSeq2SeqLM.from_pretrained(tuned).state_dict()
    assert before.keys() == after.keys()
    assert not torch.equal(
        before["model.encoder.layers.0.self_attn.q_proj.weight"],
        after["model.encoder.layers.0.self_attn.q_proj.weight"],
    )

    # a transformers model class of the same task, from scratch
    marian = tmp_path / "marian"
    results = run_translation.main(
        [
            *COMMON,
            *files(data["hub"]),
            *"--model_type marian --tokenizer_vocab_size 300 --config_overrides".split(),
            TINY_MARIAN,
            *("--output_dir", str(marian)),
        ]
    )
    check_predictions(marian, results, references)
    assert isinstance(AutoModelForSeq2SeqLM.from_pretrained(marian), MarianMTModel)

    # a tokenizer larger than the checkpoint's embeddings is refused, naming both sizes
    bigger = tmp_path / "bigger_tokenizer"
    texts = [pair[lang] for pair in data["pairs"]["train"] for lang in ("en", "es")] * 4
    train_bpe_tokenizer(texts + [f"word{i}" for i in range(400)], vocab_size=700, min_frequency=1).save_pretrained(
        bigger
    )
    size = len(AutoTokenizer.from_pretrained(bigger))
    with pytest.raises(ValueError, match=rf"tokenizer has {size} tokens but .* has {model.config.vocab_size} input"):
        run_translation.main(
            [*COMMON, *files(data["flat"]), "--model_name_or_path", str(scratch), "--tokenizer_name", str(bigger)]
            + ["--output_dir", str(tmp_path / "refused")]
        )


def test_bad_arguments_name_the_field(data, tmp_path):
    with pytest.raises(
        ValueError,
        match="model_type='no_such_model' is not a model type known to AutoConfig; allowed: a lanco .*'muse'",
    ):
        run_translation.main(["--model_type", "no_such_model", "--output_dir", str(tmp_path)])
    with pytest.raises(ValueError, match="loss='focal' is not supported; allowed values: 'encouraging'"):
        run_translation.main(["--model_type", "explicit_sparse", "--loss", "focal", "--output_dir", str(tmp_path)])
    with pytest.raises(ValueError, match="log_end set without a loss; allowed: with --loss encouraging"):
        run_translation.main(["--model_type", "explicit_sparse", "--log_end", "0.5", "--output_dir", str(tmp_path)])
    with pytest.raises(ValueError, match=r"no \['fr'\] text"):
        run_translation.main(
            [*files(data["flat"]), "--model_type", "marian", "--target_lang", "fr", "--output_dir", str(tmp_path)]
        )


@pytest.mark.slow
def test_push_to_hub_uploads_a_lanco_checkpoint_that_loads(data, tmp_path):
    """``--push_to_hub`` (the Trainer's) sends the saved weights, the tokenizer, the architecture's code (for
    ``trust_remote_code``) and a card to the Hub (the loopback one), and no pickle."""
    import os
    import subprocess
    import sys

    from fake_hub import FakeHub
    from helpers import SCRIPTS

    output_dir = tmp_path / "pushed"
    with FakeHub() as hub:
        env = {
            **os.environ,
            "HF_ENDPOINT": hub.endpoint,
            "HF_TOKEN": "hf_fake",
            "HF_HOME": str(tmp_path / "hf_home"),
            "HF_HUB_OFFLINE": "0",
        }
        command = [sys.executable, str(SCRIPTS / "run_translation.py"), *COMMON, *files(data["hub"])]
        command += ["--model_type", "explicit_sparse", "--config_overrides", TINY_LANCO, "--tokenizer_vocab_size"]
        command += ["300", "--output_dir", str(output_dir), "--push_to_hub", "--hub_model_id", "tester/tiny-mt"]
        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert finished.returncode == 0, finished.stderr[-3000:]
        pushed = hub.repos["tester/tiny-mt"].files
        assert {
            "model.safetensors",
            "config.json",
            "tokenizer.json",
            "modeling_explicit_sparse.py",
            "README.md",
        } <= set(pushed)
        assert pushed["model.safetensors"] == (output_dir / "model.safetensors").read_bytes()
        # the script's Trainer pushes through lanco-hf's allowlist: training_args.bin (a pickle) stays local
        assert (output_dir / "training_args.bin").is_file()
        assert not [name for name in pushed if name.endswith((".bin", ".pkl", ".pt", ".pth"))]
        assert "auto_map" in json.loads(pushed["config.json"])
