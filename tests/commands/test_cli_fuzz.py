"""Fuzzing `lanco-hf train` with bad overrides (wrong types, out-of-range values, missing values, unknown keys),
alone or mixed with good ones: every run must end before any data is read, with exit status 2 and one line on
stderr naming the field, never a traceback and never a crash after training (the dataset given does not exist
and the run folder must not be created, so a check that comes too late fails the test)."""

from helpers import CONFIG_DIR, TINY_TRANSLATION_RUN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanco_hf.cli import main

WRONG_TYPES = ["abc", "[1, 2]", "{a: 1}", "true"]
# override key -> raw values that are wrong for it (the raw text is parsed as YAML, as on the command line)
BAD_VALUES = {
    "seed": [*WRONG_TYPES, "1.5", "-1", "4294967296", ""],
    "max_steps": [*WRONG_TYPES, "2.5", "0", "-2", ""],
    "learning_rate": ["fast", "-1e-3", "[0.1]", "true", ""],
    "weight_decay": ["-0.1", "heavy"],
    "per_device_train_batch_size": ["0", "-1", "1.5", "big"],
    "gradient_accumulation_steps": ["0", "x"],
    "save_steps": ["0", "-5", "often"],
    "logging_steps": ["0", "x"],
    "warmup_steps": ["-1", "x"],
    "max_grad_norm": ["-1", "x"],
    "label_smoothing_factor": ["1.5", "-0.1", "x"],
    "num_train_epochs": ["0", "-1", "x"],
    "save_total_limit": ["0", "x", "1.5"],
    "save_strategy": ["sometimes", "1"],
    "lr_scheduler_type": ["zigzag"],
    "optim": ["sgdx"],
    "tokenizer_vocab_size": ["0", "x"],
    "max_source_length": ["0", "x"],
    "max_new_tokens": ["0", "x"],
    "num_beams": ["0", "1.5"],
    "max_train_samples": ["0", "-1", "x"],
    "max_test_samples": ["0", "-1", "x"],
    "max_train_minutes": ["0", "-1", "x"],
    "source_lang": ["3", "[en]"],
    "model_type": ["nope", "3"],
    "model_config": ["3", "abc"],
    "model_config.d_model": ["0", "-1", "x", "7"],
    "model_config.attn_topk": ["0", "-1", "x"],
    "model_config.norm_type": ["foo", "1"],
    "model_config.dropout": ["1.5", "-0.1", "x"],
    "model_config.encoder_layers": ["0", "x"],
    "not_a_setting": ["1"],
}
GOOD = st.lists(st.sampled_from(TINY_TRANSLATION_RUN), max_size=3)
BAD = st.sampled_from(sorted(BAD_VALUES)).flatmap(lambda key: st.tuples(st.just(key), st.sampled_from(BAD_VALUES[key])))


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=BAD, good_before=GOOD, good_after=GOOD, missing_equals=st.booleans())
def test_bad_overrides_end_in_one_line_naming_the_field(bad, good_before, good_after, missing_equals, tmp_path, capsys):
    key, raw = bad
    good_after = [item for item in good_after if item.split("=")[0] != key]  # a later good value would win
    override = key if missing_equals and key == "seed" else f"{key}={raw}"  # `seed` alone: not key=value
    output = tmp_path / f"run-{abs(hash((bad, tuple(good_before), tuple(good_after)))) % 10**8}"
    argv = [
        "train",
        str(CONFIG_DIR / "explicit_sparse_bible.yaml"),
        f"dataset={tmp_path / 'no-such-dataset'}",
        f"output_dir={output}",
        *TINY_TRANSLATION_RUN,
        *good_before,
        override,
        *good_after,
    ]
    capsys.readouterr()
    try:
        main(argv)
    except SystemExit as exit:
        code = exit.code
    else:
        code = 0
    stderr = capsys.readouterr().err
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in stderr, f"{override}: {stderr[-2000:]}"
    assert key.rsplit(".", 1)[-1] in lines[0], f"{override}: the error names no field: {lines[0]}"
    assert not output.exists(), f"{override}: the run started"
