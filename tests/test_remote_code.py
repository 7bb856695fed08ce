"""A saved folder loads with ``trust_remote_code=True`` in a Python process where lanco_hf cannot be imported."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from helpers import batch, tiny_config
from transformers import AutoModelForSeq2SeqLM

from lanco_hf import ExplicitSparseConfig

LOADER = textwrap.dedent(
    """
    import json, sys
    sys.modules["lanco_hf"] = None  # any `import lanco_hf` now raises ImportError
    try:
        import lanco_hf
    except ImportError:
        pass
    else:
        raise SystemExit("lanco_hf is importable")
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


@pytest.mark.slow
def test_trust_remote_code_round_trip_without_lanco_hf(tmp_path):
    model = AutoModelForSeq2SeqLM.from_config(tiny_config(ExplicitSparseConfig, attn_topk=3, norm_type="adanorm")).eval()
    model.save_pretrained(tmp_path / "model")
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["auto_map"] == {
        "AutoConfig": "configuration_explicit_sparse.ExplicitSparseConfig",
        "AutoModel": "modeling_explicit_sparse.ExplicitSparseModel",
        "AutoModelForSeq2SeqLM": "modeling_explicit_sparse.ExplicitSparseForConditionalGeneration",
    }
    ids, mask = batch()
    decoder_ids = torch.randint(4, 99, (3, 5))
    (tmp_path / "inputs.json").write_text(json.dumps({"ids": ids.tolist(), "mask": mask.tolist(), "decoder_ids": decoder_ids.tolist()}))
    (tmp_path / "load.py").write_text(LOADER)

    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "load.py", str(tmp_path / "model"), "inputs.json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["model_module"].startswith("transformers_modules") and "lanco_hf" not in loaded["model_module"]
    assert loaded["config_module"].startswith("transformers_modules")
    assert (loaded["model_class"], loaded["base_class"], loaded["attn_topk"]) == (
        "ExplicitSparseForConditionalGeneration", "ExplicitSparseModel", 3)
    expected = model(input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_ids).logits
    torch.testing.assert_close(torch.tensor(loaded["logits"]), expected, rtol=0, atol=1e-6)
    assert loaded["generated"] == model.generate(ids, attention_mask=mask, max_new_tokens=6, num_beams=2).tolist()
