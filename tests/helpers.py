"""Tiny configs and inputs shared by the tests."""

import json
from pathlib import Path

import torch

from lanco_hf import CrossViewConfig, ExplicitSparseConfig, LancoSeq2SeqConfig, MuseConfig

TINY = dict(
    vocab_size=99,
    d_model=32,
    encoder_layers=2,
    decoder_layers=2,
    encoder_attention_heads=4,
    decoder_attention_heads=4,
    encoder_ffn_dim=64,
    decoder_ffn_dim=64,
    max_position_embeddings=128,
    dropout=0.0,
)


def tiny_config(config_class=LancoSeq2SeqConfig, **overrides):
    return config_class(**{**TINY, **overrides})


def batch(vocab_size=99, lengths=(7, 5, 3), seed=0):
    """Right-padded source ids + mask (pad id 0), ids in [4, vocab)."""
    generator = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.zeros(len(lengths), width, dtype=torch.long)
    mask = torch.zeros(len(lengths), width, dtype=torch.long)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.randint(4, vocab_size, (length,), generator=generator)
        ids[row, length - 1] = 2  # </s>
        mask[row, :length] = 1
    return ids, mask


SEQ2SEQ_CONFIGS = {
    "dense-postnorm": (LancoSeq2SeqConfig, {}),
    "topk-postnorm": (ExplicitSparseConfig, {"attn_topk": 3}),
    "topk-prenorm-adanorm": (ExplicitSparseConfig, {"attn_topk": 2, "normalize_before": True, "norm_type": "adanorm"}),
    "dense-prenorm-learnedpos-lnsimple": (
        LancoSeq2SeqConfig,
        {"normalize_before": True, "position_embedding_type": "learned", "norm_type": "layernorm_simple"},
    ),
    "muse-postnorm": (MuseConfig, {}),
    "muse-prenorm-topk-adanorm": (MuseConfig, {"normalize_before": True, "attn_topk": 2, "norm_type": "adanorm"}),
    "muse_simple-postnorm": (MuseConfig, {"muse_variant": "muse_simple"}),
    "gca-postnorm": (CrossViewConfig, {}),
    "gca-prenorm-topk-deeper-encoder": (
        CrossViewConfig,
        {"normalize_before": True, "attn_topk": 3, "encoder_layers": 3},
    ),
}


BLOCK_LANCO = """
import sys
sys.modules["lanco_hf"] = None  # any `import lanco_hf` now raises ImportError
try:
    import lanco_hf
except ImportError:
    pass
else:
    raise SystemExit("lanco_hf is importable")
"""


def run_without_lanco(script: str, *args: str, cwd, env: dict | None = None, timeout: int = 300) -> dict:
    """Run ``script`` in a fresh Python where ``import lanco_hf`` fails; return the JSON of its last stdout line."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    path = Path(cwd) / "without_lanco.py"
    path.write_text(BLOCK_LANCO + script)
    environment = {**os.environ, "PYTHONPATH": "", "HF_MODULES_CACHE": str(Path(cwd) / "hf_modules"), **(env or {})}
    result = subprocess.run(
        [sys.executable, str(path), *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-4000:]
    lines = result.stdout.strip().splitlines()
    assert lines and lines[-1].startswith("{"), (
        f"no JSON result; stdout: {result.stdout[-2000:]} stderr: {result.stderr[-2000:]}"
    )
    return json.loads(lines[-1])


CONFIG_DIR = Path(__file__).parents[1] / "configs"
# the overrides of a tiny `lanco-hf train configs/explicit_sparse_bible.yaml` run (seconds on a CPU)
TINY_TRANSLATION_MODEL = [  # a 1+1-layer, d_model 32 model and a 400-token BPE
    "model_config.d_model=32",
    "model_config.encoder_layers=1",
    "model_config.decoder_layers=1",
    "model_config.encoder_attention_heads=2",
    "model_config.decoder_attention_heads=2",
    "model_config.encoder_ffn_dim=64",
    "model_config.decoder_ffn_dim=64",
    "model_config.attn_topk=4",
    "tokenizer_vocab_size=400",
]
TINY_TRANSLATION_RUN = [
    *TINY_TRANSLATION_MODEL,
    "max_steps=6",
    "per_device_train_batch_size=8",
    "save_steps=3",
    "logging_steps=2",
    "warmup_steps=2",
    "max_test_samples=6",
    "max_new_tokens=10",
    "num_examples_to_show=2",
    "disable_tqdm=true",
    "num_beams=2",
    "average_checkpoints=2",
    "eval_strategy=steps",
    "eval_steps=3",
    "predict_with_generate=true",
]

GOLDEN_CARDS = Path(__file__).parent / "fixtures" / "cards"


def golden_results_keys(case: str) -> list[str]:
    """The top-level keys, in order, of the golden run folder ``tests/fixtures/cards/<case>/results.json``: what the
    task's runner wrote when the fixtures were made (a run must keep writing them)."""
    return list(json.loads((GOLDEN_CARDS / case / "results.json").read_text()))


def write_card(folder, pipeline_tag: str) -> None:
    """A model card in ``folder`` whose metadata names ``pipeline_tag`` (what picks a Hub widget and a demo app)."""
    from huggingface_hub import ModelCard, ModelCardData

    card = ModelCard(f"---\n{ModelCardData(pipeline_tag=pipeline_tag).to_yaml()}\n---\n\n# tiny model\n")
    card.save(Path(folder) / "README.md")


def save_tiny_label_graph_classifier(folder, labels: list[str], words: list[str]) -> None:
    """An untrained label-graph multi-label classifier (a random, non-identity G) and a word-level tokenizer over
    ``words``, saved to ``folder`` with a text-classification card."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from lanco_hf import LabelGraphConfig, LabelGraphForSequenceClassification

    vocab = {"[PAD]": 0, "[UNK]": 1, **{word: i + 2 for i, word in enumerate(words)}}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]")
    encoder = dict(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2)
    config = LabelGraphConfig(
        id2label=dict(enumerate(labels)), encoder_config={**encoder, "intermediate_size": 32}, soft_training=True
    )
    model = LabelGraphForSequenceClassification(config).eval()
    generator = torch.Generator().manual_seed(0)
    model.set_label_graph(torch.eye(len(labels)) + 0.3 * torch.rand(len(labels), len(labels), generator=generator))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    write_card(folder, "text-classification")


def save_tiny_clip(folder, labels: list[str]) -> None:
    """An untrained transformers CLIPModel (16-pixel images) with a BPE tokenizer over ``labels``, saved to
    ``folder`` with a zero-shot-image-classification card."""
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

    from lanco_hf.data.clip_tokenizer import train_clip_tokenizer

    tokenizer = train_clip_tokenizer([f"a photo of {label}." for label in labels] * 5, 300, model_max_length=16)
    text = dict(vocab_size=len(tokenizer), max_position_embeddings=16, pad_token_id=0, bos_token_id=2, eos_token_id=3)
    vision = dict(image_size=16, patch_size=8)
    shared = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)
    config = CLIPConfig(projection_dim=8, text_config={**text, **shared}, vision_config={**vision, **shared})
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16})
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    write_card(folder, "zero-shot-image-classification")


SCRIPTS = Path(__file__).parents[1] / "scripts"


def load_script(name: str):
    """``scripts/<name>.py`` as a module (its ``main(args)`` runs the script in this process)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"scripts_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_jsonl(path, rows: list[dict]) -> str:
    """``rows`` as a JSON Lines file at ``path``; returns the path as a string."""
    Path(path).write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return str(path)


_COLOURS = [("red", "roja"), ("white", "blanca"), ("black", "negra"), ("green", "verde")]
_NOUNS = [("house", "casa"), ("door", "puerta"), ("table", "mesa"), ("window", "ventana")]
_VERBS = [("I see", "veo"), ("we open", "abrimos"), ("they paint", "pintan")]


def translation_pairs() -> dict[str, list[dict]]:
    """48 English-Spanish sentence pairs ("I see the red house" / "veo la casa roja") as train (36), validation (6)
    and test (6) lists of ``{"en": ..., "es": ...}`` rows."""
    rows = [
        {"en": f"{verb_en} the {colour_en} {noun_en}", "es": f"{verb_es} la {noun_es} {colour_es}"}
        for verb_en, verb_es in _VERBS
        for colour_en, colour_es in _COLOURS
        for noun_en, noun_es in _NOUNS
    ]
    return {"train": rows[::4] + rows[1::4] + rows[2::4], "validation": rows[3::8], "test": rows[7::8]}
