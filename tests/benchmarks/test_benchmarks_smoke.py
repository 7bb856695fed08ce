"""The measuring pieces of the performance benchmarks (docs/performance.md): the explored gather-based top-k path equals
the mask-based one, the FLOP counts equal their formulas, the memory probe and the interleaved timer measure what they
claim, the docs update touches only the marked section; a replication run is reused only while its settings (config
values with overrides) are unchanged."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import AutoModelForSeq2SeqLM

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the benchmarks/ scripts live beside src/

from benchmarks import common, mfu, replication, run, scaling  # noqa: E402
from benchmarks.attention_kernels import topk_gather_attention  # noqa: E402
from lanco_hf import LancoSeq2SeqConfig  # noqa: E402
from lanco_hf.modeling.topk_attention import topk_sdpa_attention  # noqa: E402


def test_gather_path_equals_mask_path_with_gradients():
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 20, 8, generator=generator, requires_grad=True) for _ in range(3))
    gathered = topk_gather_attention(q, k, v, 8**-0.5, 5)
    masked = topk_sdpa_attention(q, k, v, None, 8**-0.5, 0.0, 5)
    torch.testing.assert_close(gathered, masked)
    weights = torch.randn(gathered.shape, generator=generator)
    for a, b in zip(
        torch.autograd.grad((gathered * weights).sum(), (q, k, v)),
        torch.autograd.grad((masked * weights).sum(), (q, k, v)),
    ):
        torch.testing.assert_close(a, b)


def test_peak_memory_is_the_largest_live_allocation():
    def two_buffers_one_after_the_other():
        first = torch.ones(1_000_000)  # 4 MB
        del first
        second = torch.ones(2_000_000)  # 8 MB, the peak
        return float(second[0])

    peak = common.peak_memory_bytes(two_buffers_one_after_the_other)
    assert 8_000_000 <= peak < 8_000_000 + 2**16


def test_interleaved_median_calls_round_robin_and_drops_warmup():
    calls = []
    functions = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    times = common.interleaved_median(functions, repeats=3, warmup=2)
    assert calls == ["a", "b"] * 5
    assert set(times) == {"a", "b"} and all(t >= 0 for t in times.values())
    with pytest.raises(ValueError, match="repeats"):
        common.interleaved_median({"a": lambda: None}, repeats=0)


def test_linear_flops_are_counted_per_token():
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    x = torch.randn(3, 7, 16)
    assert mfu.linear_forward_flops(model, lambda: model(x)) == 2 * 3 * 7 * (16 * 32 + 32 * 4)


def test_model_flops_of_the_lanco_core_match_the_closed_form():
    config = LancoSeq2SeqConfig(
        vocab_size=50,
        d_model=16,
        encoder_layers=2,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=24,
        decoder_ffn_dim=24,
    )
    model = AutoModelForSeq2SeqLM.from_config(config)
    batch, source, target, d, f = 2, 5, 3, 16, 24
    ids, labels = torch.randint(3, 50, (batch, source)), torch.randint(3, 50, (batch, target))
    linear = mfu.linear_forward_flops(model, lambda: model(input_ids=ids, labels=labels))
    encoder = 2 * (4 * d * d + 2 * d * f) * batch * source
    decoder = (6 * d * d + 2 * d * f) * batch * target + 2 * d * d * batch * source  # cross-attention k, v: source
    assert linear == 2 * (encoder + decoder + d * 50 * batch * target)
    assert mfu.attention_training_flops(config, batch, source, target) == 12 * batch * d * (
        2 * source * source + target * target + target * source
    )


def test_random_graph_is_undirected_with_labelled_nodes_per_class():
    edge_index, train_mask, labels = scaling.random_graph(300, 6, seed=0)
    pairs = set(map(tuple, edge_index.t().tolist()))
    assert all((b, a) in pairs for a, b in pairs) and all(a != b for a, b in pairs)
    for label in range(scaling.CLASSES):
        members = int((labels == label).sum())
        assert int((train_mask & (labels == label)).sum()) == min(scaling.LABELLED_PER_CLASS, members)


def test_update_docs_replaces_only_the_marked_section(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "RESULTS_DIR", tmp_path)
    (tmp_path / "mfu_quick.md").write_text("# MFU\n\n| a |\n|---|\n| 1 |\n")
    (tmp_path / "scaling_quick.md").write_text("# Scaling\n\n![scaling](scaling_quick.png)\n")
    (tmp_path / "scaling_quick.png").write_bytes(b"png bytes")
    (tmp_path / "docs").mkdir()
    docs = tmp_path / "docs" / "performance.md"
    docs.write_text(f"intro\n{run.START}\nold table\n{run.END}\nanalysis\n")
    run.update_docs(quick=True, docs=docs)
    text = docs.read_text()
    assert text.startswith("intro\n") and text.endswith(f"{run.END}\nanalysis\n") and "old table" not in text
    assert "## MFU" in text and "](performance_scaling.png)" in text
    assert (tmp_path / "docs" / "performance_scaling.png").read_bytes() == b"png bytes"
    docs.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        run.update_docs(quick=True, docs=docs)


def test_replication_run_is_reused_until_its_config_or_settings_change(tmp_path, monkeypatch):
    trained = []

    def fake_lanco_hf(argv):
        output_dir = Path(next(a for a in argv if a.startswith("output_dir=")).split("=", 1)[1])
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "results.json").write_text(f'{{"run": {len(trained)}}}')
        trained.append(argv)

    monkeypatch.setattr(replication, "main", fake_lanco_hf)
    config, output_dir = tmp_path / "config.yaml", tmp_path / "run"
    config.write_text("learning_rate: 1.0e-3\n")
    assert replication.train(str(config), output_dir, ["seed=1"]) == {"run": 0}
    assert replication.train(str(config), output_dir, ["seed=1"]) == {"run": 0}  # reused
    assert replication.train(str(config), output_dir, ["seed=2"]) == {"run": 1}  # other settings
    config.write_text("learning_rate: 2.0e-3\n")
    assert replication.train(str(config), output_dir, ["seed=2"]) == {"run": 2}  # edited config
    config.write_text("# a comment\nlearning_rate: 2.0e-3  # another\n")
    assert replication.train(str(config), output_dir, ["seed=2"]) == {"run": 2}  # same values: reused
    assert replication.train(str(config), output_dir, ["seed=2", "learning_rate=2.0e-3"]) == {"run": 2}
    moved = tmp_path / "moved"
    output_dir.rename(moved)
    assert replication.train(str(config), moved, ["seed=2"]) == {"run": 2}  # a moved run folder is the same run
    assert len(trained) == 3


def test_a_marker_of_the_earlier_form_is_kept_while_its_config_is_unchanged(tmp_path, monkeypatch):
    import hashlib
    import json

    def fake_lanco_hf(argv):
        output_dir = Path(next(a for a in argv if a.startswith("output_dir=")).split("=", 1)[1])
        (output_dir / "results.json").write_text('{"run": "new"}')

    monkeypatch.setattr(replication, "main", fake_lanco_hf)
    config, output_dir = tmp_path / "config.yaml", tmp_path / "run"
    config.write_text("learning_rate: 1.0e-3\n")
    output_dir.mkdir()
    (output_dir / "results.json").write_text('{"run": "old"}')
    marker = output_dir / "benchmark_settings.json"
    digest = hashlib.sha256(config.read_bytes()).hexdigest()
    marker.write_text(json.dumps([str(config), digest, f"output_dir={output_dir}", "seed=1"]))
    assert replication.train(str(config), output_dir, ["seed=1"]) == {"run": "old"}
    assert json.loads(marker.read_text()) == {"run_config": {"learning_rate": 1.0e-3, "seed": 1}}  # rewritten
    config.write_text("learning_rate: 1.0e-3  # a comment edited after the rewrite\n")
    assert replication.train(str(config), output_dir, ["seed=1"]) == {"run": "old"}

    marker.write_text(json.dumps([str(config), digest, f"output_dir={output_dir}", "seed=1"]))  # the file changed
    assert replication.train(str(config), output_dir, ["seed=1"]) == {"run": "new"}


def test_interrupted_replication_run_resumes_only_with_the_same_settings(tmp_path, monkeypatch):
    calls = []

    def interrupted_then_finished(argv):
        calls.append(argv)
        output_dir = Path(next(a for a in argv if a.startswith("output_dir=")).split("=", 1)[1])
        checkpoint = output_dir / "checkpoint-5"
        checkpoint.mkdir(parents=True, exist_ok=True)
        (checkpoint / "trainer_state.json").write_text('{"global_step": 5}')
        if len(calls) == 1:
            raise KeyboardInterrupt  # killed after its first checkpoint
        (output_dir / "results.json").write_text(f'{{"run": {len(calls)}}}')

    monkeypatch.setattr(replication, "main", interrupted_then_finished)
    config, output_dir = tmp_path / "config.yaml", tmp_path / "run"
    config.write_text("learning_rate: 1.0e-3\n")
    with pytest.raises(KeyboardInterrupt):
        replication.train(str(config), output_dir, ["seed=1"], resume=True)
    assert replication.train(str(config), output_dir, ["seed=1"], resume=True) == {"run": 2}
    assert "--resume" in calls[1] and "--overwrite-output-dir" in calls[0]
    assert replication.train(str(config), output_dir, ["seed=1"], resume=True) == {"run": 2}  # reused, no call
    assert replication.train(str(config), output_dir, ["seed=2"], resume=True) == {"run": 3}  # other settings
    assert "--overwrite-output-dir" in calls[2] and len(calls) == 3


def test_grid_significance_and_one_seed_cells(tmp_path):
    """Identical translations: no difference, p = 1 (sacrebleu alone reports 1 / (samples + 1)); a better system
    against a worse one: a small p and the BLEU difference; one seed shows its score without a spread."""
    from benchmarks.seq2seq_grid import fmt, paired_bootstrap

    references = [f"el hombre numero {i} fue a la casa de su padre" for i in range(40)]
    worse = [f"el hombre {i} casa" for i in range(40)]
    for name, hypotheses in {"a": references, "b": references, "c": worse}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "test_translations.txt").write_text("\n".join(hypotheses) + "\n", encoding="utf-8")
    assert paired_bootstrap(tmp_path / "a", tmp_path / "b", references, samples=100) == {
        "p_value": 1.0,
        "bleu_delta": 0.0,
    }
    result = paired_bootstrap(tmp_path / "c", tmp_path / "a", references, samples=100)
    assert result["p_value"] < 0.05 and result["bleu_delta"] > 50
    assert fmt((19.736, 0.0), seeds=1) == "19.74" and fmt((19.736, 0.51), seeds=3) == "19.74 ± 0.51"
    assert fmt((-0.004, 0.9), seeds=3, digits=1, sign="+") == "+0.0 ± 0.9"


def test_grid_tables_pair_the_seeds_both_arms_finished(tmp_path):
    """The method's seed 2 finished before its seed 1: it is labelled seed 2, compared with the baseline's seed 2
    only (not with the mean of the baseline's seeds 1 and 2), and every paper's table starts with the baseline."""
    import json

    from benchmarks.seq2seq_grid import ARMS, finished_runs, markdown, plot, tabulate

    references = [f"el hombre numero {i} fue a la casa de su padre" for i in range(40)]
    runs = {("transformer", 1): 30.0, ("transformer", 2): 20.0, ("topk8", 2): 25.0}
    for (arm, seed), bleu in runs.items():
        folder = tmp_path / arm / f"seed{seed}"
        folder.mkdir(parents=True)
        hypotheses = references if arm == "topk8" else [f"el hombre {i} casa" for i in range(40)]
        (folder / "test_translations.txt").write_text("\n".join(hypotheses) + "\n", encoding="utf-8")
        curve = [{"step": 2, "bleu": bleu / 2}, {"step": 4, "bleu": bleu}]
        result = {
            "num_parameters": 10,
            "test": {"bleu": bleu, "chrf": 2 * bleu, "size": 40},
            "train_loss": 1.0,
            "train_steps": 4,
            "train_runtime_s": 1.0,
            "validation_curve": curve,
        }
        (folder / "results.json").write_text(json.dumps(result))

    table = tabulate(finished_runs(tmp_path), tmp_path, references)
    assert set(table) == {"transformer", "topk8"}
    assert table["transformer"]["seeds"] == [1, 2] and table["transformer"]["bleu"] == pytest.approx(
        (25.0, 7.0711), 1e-4
    )
    topk8 = table["topk8"]
    assert topk8["seeds"] == [2] and [s["seed"] for s in topk8["per_seed"]] == [2]
    assert topk8["paired_seeds"] == [2] and topk8["bleu_delta"] == (5.0, 0.0)
    assert [t["seed"] for t in topk8["significance"]] == [2] and topk8["significance"][0]["p_value"] < 0.05

    text = markdown(table, {"budget": "4 steps", "common_overrides": ["max_steps=4"]})
    topk8_row = next(line for line in text.splitlines() if line.startswith("| topk8 |"))
    assert "| 2 |" in topk8_row and "| +5.00 |" in topk8_row and "| 2: 0.0" in topk8_row
    methods = {arm.method for arm in ARMS.values() if arm.method}
    assert text.count("| transformer |") == len(methods)  # the baseline heads every paper's table
    assert "No finished run yet: adanorm, layernorm_simple, detachnorm" in text
    plot(table, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_grid_reference_table_compares_marian_with_the_lanco_baseline(tmp_path):
    """transformers' MarianMTModel is the grid's reference: a table of its own, not a paper's, headed by the lanco
    baseline, whose Δ BLEU is Marian's minus the baseline's with the paired test of the same seed."""
    from benchmarks.seq2seq_grid import ARMS, MARIAN, REFERENCE, finished_runs, markdown, tabulate
    from lanco_hf.training.arguments import load_run_config

    assert ARMS["marian"].config == MARIAN and ARMS["marian"].baseline == "transformer"
    # the same shape and training settings as the baseline: only the implementation differs
    marian, base = (load_run_config(replication.ROOT / ARMS[a].config) for a in ("marian", "transformer"))
    shape = ("d_model", "encoder_layers", "decoder_layers", "encoder_ffn_dim", "encoder_attention_heads", "dropout")
    assert [marian["model_config"][k] for k in shape] == [base["model_config"][k] for k in shape]
    settings = ("learning_rate", "warmup_steps", "max_grad_norm", "per_device_train_batch_size", "max_steps")
    assert [marian[k] for k in settings] == [base[k] for k in settings]

    _grid_run(tmp_path / "transformer" / "seed1", 20.0, REFERENCES)
    _grid_run(tmp_path / "marian" / "seed1", 12.0, WORSE)
    table = tabulate(finished_runs(tmp_path), tmp_path, REFERENCES)
    assert table["marian"]["method"] == REFERENCE and table["marian"]["bleu_delta"] == (-8.0, 0.0)
    assert table["marian"]["significance"][0]["p_value"] < 0.05
    text = markdown(table, {"budget": "4 steps", "common_overrides": ["max_steps=4"]})
    section = text.split("## Reference: transformers' MarianMTModel")[1].split("## ")[0]
    rows = [line.split(" | ")[0] for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows == ["| arm", "| transformer", "| marian"]
    assert "| -8.00 |" in section and "Marian's minus the lanco Transformer's" in section


def _grid_run(folder, bleu: float, hypotheses: list[str] | None, **extra) -> None:
    """A finished grid run as ``lanco-hf train`` leaves it: results.json and, unless None, the test translations."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    if hypotheses is not None:
        (folder / "test_translations.txt").write_text("\n".join(hypotheses) + "\n", encoding="utf-8")
    result = {
        "num_parameters": 10,
        "test": {"bleu": bleu, "chrf": 2 * bleu, "size": 40},
        "test_beam": {"bleu": bleu + 1, "chrf": 2 * bleu + 1},
        "train_loss": 1.0,
        "train_steps": 4,
        "train_runtime_s": 1.0,
        "validation_curve": [{"step": 4, "bleu": bleu}],
        **extra,
    }
    (folder / "results.json").write_text(json.dumps(result))


REFERENCES = [f"el hombre numero {i} fue a la casa de su padre" for i in range(40)]
WORSE = [f"el hombre {i} casa" for i in range(40)]


def test_grid_tables_are_rebuilt_from_the_committed_record_of_its_runs(tmp_path):
    """``record_runs`` copies what the tables need of each finished run (results and test translations); with the run
    folders gone (another machine, a fresh clone) the tables and paired tests computed from the record are the same;
    a run trained again replaces its record."""
    import shutil

    from benchmarks.seq2seq_grid import RECORDED, finished_runs, record_runs, tabulate

    runs, records = tmp_path / "runs", tmp_path / "records"
    _grid_run(runs / "transformer" / "seed1", 20.0, WORSE)
    _grid_run(runs / "topk8" / "seed1", 25.0, REFERENCES)
    (runs / "topk8" / "seed1" / "checkpoint-4").mkdir()  # not recorded
    (runs / "adanorm" / "seed1").mkdir(parents=True)  # unfinished: no results.json, not recorded
    assert record_runs(runs, records) == ["transformer/seed1", "topk8/seed1"]
    assert sorted(p.name for p in (records / "topk8" / "seed1").iterdir()) == sorted(RECORDED)
    from_runs = tabulate(finished_runs(runs), runs, REFERENCES)
    shutil.rmtree(runs)
    from_records = tabulate(finished_runs(records), records, REFERENCES)
    assert from_records == from_runs and from_records["topk8"]["significance"][0]["p_value"] < 0.05
    assert from_records["topk8"]["chrf_delta"] == (10.0, 0.0) and from_records["topk8"]["chrf_beam5"] == (51.0, 0.0)

    _grid_run(runs / "topk8" / "seed1", 20.0, WORSE)
    assert record_runs(runs, records) == ["topk8/seed1"]
    again = tabulate(finished_runs(records), records, REFERENCES)["topk8"]
    assert again["bleu_delta"] == (0.0, 0.0) and again["significance"][0]["p_value"] == 1.0


def test_an_ablation_given_more_seeds_is_recorded_and_tabulated_with_them(tmp_path):
    """An ablation arm declares one seed; runs of other seeds (``--seeds 2 3``) are recorded and enter its mean and
    its paired tests like the declared one."""
    from benchmarks.seq2seq_grid import ARMS, finished_runs, record_runs, tabulate

    assert ARMS["topk4"].seeds == (1,)
    runs, records = tmp_path / "runs", tmp_path / "records"
    for seed in (1, 2):
        _grid_run(runs / "transformer" / f"seed{seed}", 20.0, WORSE)
    for seed, bleu in ((1, 24.0), (2, 26.0)):
        _grid_run(runs / "topk4" / f"seed{seed}", bleu, REFERENCES)
    (runs / "topk4" / "seed3").mkdir()  # unfinished: not recorded
    (runs / "topk4" / "seedling").mkdir()  # not a seed folder
    assert record_runs(runs, records) == ["transformer/seed1", "transformer/seed2", "topk4/seed1", "topk4/seed2"]
    topk4 = tabulate(finished_runs(records), records, REFERENCES)["topk4"]
    assert topk4["seeds"] == [1, 2] and topk4["bleu"] == pytest.approx((25.0, 2**0.5))
    assert topk4["paired_seeds"] == [1, 2] and [t["seed"] for t in topk4["significance"]] == [1, 2]


def test_a_run_recorded_without_translations_keeps_its_paired_test_while_its_baseline_is_the_same(tmp_path):
    """A run rebuilt from an earlier table (its translations lost) reports the paired test computed then, while the
    baseline's record is the run it was computed against; a retrained baseline makes its p-value unknown (shown as
    such, never recomputed from something else), the BLEU difference then being the records'. A run without beam 5's
    chrF makes the arm's beam-5 chrF unknown, not the mean of the other seeds."""
    from benchmarks.seq2seq_grid import finished_runs, markdown, tabulate

    recorded = {"baseline_bleu": 20.0, "p_value": 0.012, "bleu_delta": 1.5}
    _grid_run(tmp_path / "transformer" / "seed1", 20.0, WORSE)
    _grid_run(tmp_path / "topk8" / "seed1", 21.5, None, paired_test=recorded, test_beam={"bleu": 22.0})
    table = tabulate(finished_runs(tmp_path), tmp_path, REFERENCES)
    assert table["topk8"]["significance"] == [{"seed": 1, "p_value": 0.012, "bleu_delta": 1.5}]
    assert table["topk8"]["bleu_beam5"] == (22.0, 0.0) and table["topk8"]["chrf_beam5"] is None

    _grid_run(tmp_path / "transformer" / "seed1", 21.0, WORSE)
    table = tabulate(finished_runs(tmp_path), tmp_path, REFERENCES)
    assert table["topk8"]["significance"] == [{"seed": 1, "p_value": None, "bleu_delta": 0.5}]
    row = next(
        line
        for line in markdown(table, {"budget": "4 steps", "common_overrides": []}).splitlines()
        if line.startswith("| topk8 |")
    )
    assert "| 1: unknown |" in row


def _tests(*pairs):
    return {"significance": [{"seed": i + 1, "bleu_delta": d, "p_value": p} for i, (d, p) in enumerate(pairs)]}


@pytest.mark.parametrize(
    ("tests", "start"),
    [
        (_tests((0.9, 0.003), (0.5, 0.02)), "reproduced at 2 seeds: the method is significantly better"),
        (
            _tests((-3.1, 0.001), (-4.0, 0.001), (-2.0, 0.01)),
            "*not* reproduced at 3 seeds: the method is significantly worse",
        ),
        (_tests((0.04, 0.37), (-0.05, 0.35)), "no significant difference at 2 seeds"),
        (_tests((0.9, 0.003), (-0.7, 0.015)), "undecided at 2 seeds: the seeds disagree"),
        (
            _tests((-0.68, 0.015), (0.2, 0.188), (-0.1, None)),
            "undecided at 3 seeds: significantly worse at seed 1 only",
        ),
        (_tests((-1.39, 0.001)), "*not* reproduced at 1 seed: the method is significantly worse"),
    ],
)
def test_grid_verdict_follows_the_per_seed_paired_tests(tests, start):
    from benchmarks.seq2seq_grid import verdict

    text = verdict(tests)
    assert text.startswith(start + " (seed 1 ")
    assert text.count("; seed ") == len(tests["significance"]) - 1
    assert ("p = unknown" in text) == any(t["p_value"] is None for t in tests["significance"])


def test_grid_readme_rows_replace_only_their_own_rows(tmp_path):
    """``--readme`` rewrites each headline arm's row, found by its command cell: the first row also gives the
    baseline's scores; the rest of the README is untouched; a README without the row is an error naming it."""
    from benchmarks.seq2seq_grid import finished_runs, tabulate, update_readme

    _grid_run(tmp_path / "transformer" / "seed1", 20.0, WORSE)
    _grid_run(tmp_path / "topk8" / "seed1", 25.0, REFERENCES)
    _grid_run(tmp_path / "gca" / "seed1", 19.0, WORSE[:-1] + ["el"])
    table = tabulate(finished_runs(tmp_path), tmp_path, REFERENCES)
    readme = tmp_path / "README.md"
    other = "| ReNode | `python -m benchmarks.renode_cora` | 79.9 | same |\n"
    rows = {
        arm: f"| old | `python -m benchmarks.seq2seq_grid --arms transformer {arm}` | old | old |\n"
        for arm in ("topk8", "gca", "adanorm")
    }
    readme.write_text("intro\n" + other + "".join(rows.values()) + "outro\n")
    update_readme(table, readme)
    lines = readme.read_text().splitlines(keepends=True)
    assert lines[:2] == ["intro\n", other] and lines[-1] == "outro\n" and lines[4] == rows["adanorm"]  # no run yet
    assert (
        lines[2].startswith("| Explicit Sparse")
        and "Transformer 20.00 / 40.0 (beam 5 21.00; seed 1); top-k 8 25.00" in lines[2]
    )
    assert "Δ BLEU +5.00, Δ chrF +10.0 over seed 1" in lines[2] and "reproduced at 1 seed" in lines[2]
    assert "Transformer" not in lines[3].split("|")[3] and "GCA 19.00" in lines[3]
    readme.write_text("intro\n")
    with pytest.raises(ValueError, match="--arms transformer topk8"):
        update_readme(table, readme)


def test_grid_settings_swap_each_arms_config_and_keep_its_change():
    """Under the papers' recipe (``--settings iwslt``) every arm trains its paper-size twin config with its own
    overrides; an arm of a config without a twin, or whose overrides only mean something at the small size, is not
    there; the bible settings are the grid itself."""
    from benchmarks.seq2seq_grid import ARMS, BASE, MUSE, SETTINGS, arms_of, records_dir
    from lanco_hf.training.arguments import load_run_config

    assert arms_of(SETTINGS["bible"]) == ARMS
    iwslt = arms_of(SETTINGS["iwslt"])
    assert iwslt["topk8"].config == "configs/transformer_iwslt_bible.yaml"
    assert iwslt["topk8"].overrides == ARMS["topk8"].overrides and iwslt["topk8"].baseline == "transformer"
    assert iwslt["muse"].config == "configs/muse_iwslt_bible.yaml"
    left_out = {"transformer_prenorm", "adanorm_prenorm", "muse_equal_shape", "marian"}  # marian: no twin config
    assert left_out.isdisjoint(iwslt) and set(iwslt) | left_out == set(ARMS)
    # the paper-size twins: fairseq's transformer_iwslt_de_en, and MUSE at twice its depth and 3/4 of its width
    base, muse = (
        load_run_config(replication.ROOT / SETTINGS["iwslt"].configs[c])["model_config"] for c in (BASE, MUSE)
    )
    assert (base["d_model"], base["encoder_layers"], base["encoder_ffn_dim"], base["encoder_attention_heads"]) == (
        512,
        6,
        1024,
        4,
    )
    assert (muse["d_model"], muse["encoder_layers"], muse["encoder_ffn_dim"]) == (384, 12, 768)
    assert records_dir(False).name == "seq2seq_grid_runs"  # the CPU grid's committed record keeps its place
    assert SETTINGS["bible"].stem(1200) == "seq2seq_grid"  # its files keep their names
    assert records_dir(False, SETTINGS["iwslt"].stem(400)).name == "seq2seq_grid_iwslt_400steps_runs"


def test_the_fitted_step_budget_is_what_the_slowest_run_trains_in_the_time():
    from benchmarks.seq2seq_grid import steps_that_fit

    assert steps_that_fit([0.2, 0.31, 0.25], 300) == 900  # 300 / 0.31 = 967 -> the multiple of 100 below
    assert steps_that_fit([0.5], 300, multiple=50) == 600
    assert steps_that_fit([10.0], 300) == 100  # never below one multiple
    with pytest.raises(ValueError, match="--fit-seconds"):
        steps_that_fit([], 300)


def test_grid_rejects_arms_the_settings_do_not_have_and_parallel_failures_are_reported_together(tmp_path, capsys):
    from benchmarks.seq2seq_grid import main, train_runs

    with pytest.raises(SystemExit):
        main(["--settings", "iwslt", "--arms", "muse_equal_shape", "--write"])
    assert "--arms muse_equal_shape: not in the iwslt settings" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--jobs", "0", "--write"])
    assert "--jobs must be at least 1 (got 0)" in capsys.readouterr().err
    # two runs side by side whose configs do not exist: both fail, and both are reported, neither stops the other
    missing = [(str(tmp_path / f"missing{i}.yaml"), tmp_path / f"run{i}", ["seed=1"]) for i in range(2)]
    failures = train_runs(missing, jobs=2)
    assert len(failures) == 2 and all("missing" in failure for failure in failures)
