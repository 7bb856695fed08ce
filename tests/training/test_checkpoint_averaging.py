"""Checkpoint averaging (Vaswani et al. 2017, section 6.1): the saved model is the element-wise mean of the final
weights and those of the last checkpoints."""

import json

import pytest
import torch
from helpers import tiny_config
from transformers import AutoModelForSeq2SeqLM

from lanco_hf.training.checkpoints import average_last_checkpoints


def _checkpoint(model, folder):
    model.save_pretrained(folder)
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": int(folder.name.split("-")[1])}))


def test_average_equals_the_mean_of_the_saved_weights(tmp_path):
    snapshots = []
    for seed in (1, 2, 3):  # three independent "checkpoints" at steps 10, 20 and the final step 30
        torch.manual_seed(seed)
        snapshots.append(AutoModelForSeq2SeqLM.from_config(tiny_config()))
    _checkpoint(snapshots[0], tmp_path / "checkpoint-10")
    _checkpoint(snapshots[1], tmp_path / "checkpoint-20")
    (tmp_path / "checkpoint-25").mkdir()  # interrupted while saving: no trainer_state.json, never averaged
    final = snapshots[2]
    expected = {name: sum(s.state_dict()[name] for s in snapshots) / 3 for name in final.state_dict()}

    assert average_last_checkpoints(final, tmp_path, count=3, final_step=30) == [10, 20, 30]
    for name, tensor in final.state_dict().items():
        torch.testing.assert_close(tensor, expected[name], rtol=0, atol=1e-7)
    # tied weights stay tied: the head is the averaged embedding matrix
    assert final.lm_head.weight.data_ptr() == final.model.encoder.embed_tokens.weight.data_ptr()


def test_count_one_keeps_the_final_weights_and_too_few_checkpoints_is_an_error(tmp_path):
    model = AutoModelForSeq2SeqLM.from_config(tiny_config())
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    assert average_last_checkpoints(model, tmp_path, count=1, final_step=5) == [5]
    assert all(torch.equal(before[name], tensor) for name, tensor in model.state_dict().items())
    _checkpoint(model, tmp_path / "checkpoint-3")
    _checkpoint(model, tmp_path / "checkpoint-5")  # the final step itself is not counted twice
    with pytest.raises(
        ValueError, match=r"average_checkpoints=3 needs 2 checkpoints before step 5 .* found 1 \(\[3\]\)"
    ):
        average_last_checkpoints(model, tmp_path, count=3, final_step=5)
