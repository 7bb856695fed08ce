"""A saved folder loads with ``trust_remote_code=True`` in a Python process where lanco_hf cannot be imported."""

import json
import textwrap

import pytest
import torch
from helpers import batch, run_without_lanco, tiny_config
from transformers import AutoModelForSeq2SeqLM

from lanco_hf import CrossViewConfig, ExplicitSparseConfig, MuseConfig

LOADER = textwrap.dedent(
    """
    import json, sys
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

    folder, inputs = sys.argv[1], json.load(open(sys.argv[2]))
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    model = AutoModelForSeq2SeqLM.from_pretrained(folder, trust_remote_code=True).eval()
    base = AutoModel.from_pretrained(folder, trust_remote_code=True)
    ids, mask = torch.tensor(inputs["ids"]), torch.tensor(inputs["mask"])
    logits = model(input_ids=ids, attention_mask=mask, decoder_input_ids=torch.tensor(inputs["decoder_ids"])).logits
    generated = model.generate(ids, attention_mask=mask, max_new_tokens=6, num_beams=2)
    print(json.dumps({
        "config_module": type(config).__module__, "model_module": type(model).__module__,
        "model_class": type(model).__name__, "base_class": type(base).__name__, "attn_topk": config.attn_topk,
        "logits": logits.tolist(), "generated": generated.tolist(),
    }))
    """
)


ARCHITECTURES = {  # name: (config class, options, base model class, model class)
    "explicit_sparse": (
        ExplicitSparseConfig,
        {"attn_topk": 3, "norm_type": "adanorm"},
        "ExplicitSparseModel",
        "ExplicitSparseForConditionalGeneration",
    ),
    "muse": (MuseConfig, {"attn_topk": 3, "normalize_before": True}, "MuseModel", "MuseForConditionalGeneration"),
    "cross_view": (
        CrossViewConfig,
        {"attn_topk": 3, "encoder_layers": 3},
        "CrossViewModel",
        "CrossViewForConditionalGeneration",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_trust_remote_code_round_trip_without_lanco_hf(name, tmp_path):
    config_class, options, base_class, model_class = ARCHITECTURES[name]
    model = AutoModelForSeq2SeqLM.from_config(tiny_config(config_class, **options)).eval()
    model.save_pretrained(tmp_path / "model")
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["auto_map"] == {
        "AutoConfig": f"configuration_{name}.{config_class.__name__}",
        "AutoModel": f"modeling_{name}.{base_class}",
        "AutoModelForSeq2SeqLM": f"modeling_{name}.{model_class}",
    }
    ids, mask = batch()
    decoder_ids = torch.randint(4, 99, (3, 5))
    (tmp_path / "inputs.json").write_text(
        json.dumps({"ids": ids.tolist(), "mask": mask.tolist(), "decoder_ids": decoder_ids.tolist()})
    )
    loaded = run_without_lanco(LOADER, str(tmp_path / "model"), "inputs.json", cwd=tmp_path)
    assert loaded["model_module"].startswith("transformers_modules") and "lanco_hf" not in loaded["model_module"]
    assert loaded["config_module"].startswith("transformers_modules")
    assert (loaded["model_class"], loaded["base_class"], loaded["attn_topk"]) == (model_class, base_class, 3)
    expected = model(input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_ids).logits
    torch.testing.assert_close(torch.tensor(loaded["logits"]), expected, rtol=0, atol=1e-6)
    assert loaded["generated"] == model.generate(ids, attention_mask=mask, max_new_tokens=6, num_beams=2).tolist()
