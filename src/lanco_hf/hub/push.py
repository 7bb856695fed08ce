"""Publishing a finished run folder to the Hugging Face Hub in one commit: weights (safetensors), config with
``auto_map``, the remote-code files, tokenizer / processor, generation config, ``results.json`` and a model card
re-rendered under the repo's name. Trainer checkpoints and pickles are never uploaded."""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.utils import filter_repo_objects

from .model_card import card_from_run

IGNORE_PATTERNS = ["checkpoint-*", "*.bin", "*.pt", "*.pth", "*.pkl", "*.ckpt", "trainer_state.json", "README.md"]


def render_card(run_dir: Path, repo_id: str) -> str | None:
    """The run's model card named after ``repo_id``, or the folder's own README when it is no finished
    ``lanco-hf train`` run with a card (no ``results.json``, or one without card fields)."""
    from ..training.tasks import available_tasks

    results_path = run_dir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    if "card" in results and results.get("task") in available_tasks():
        return str(card_from_run(run_dir, repo_id))
    readme = run_dir / "README.md"
    return readme.read_text(encoding="utf-8") if readme.exists() else None


def push_run(
    run_dir: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    commit_message: str = "Upload model trained with lanco-hf",
) -> str:
    """Create ``repo_id`` if needed and upload ``run_dir`` in one commit; returns the commit URL."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file() or not any(run_dir.glob("*.safetensors")):
        raise ValueError(f"{run_dir} is not a saved model folder: it needs config.json and *.safetensors weights")
    api = HfApi(token=token, endpoint=endpoint)
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
    files = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())
    operations = [
        CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(run_dir / name))
        for name in filter_repo_objects(files, ignore_patterns=IGNORE_PATTERNS + ["checkpoint-*/**"])
    ]
    card = render_card(run_dir, repo_id)
    if card is not None:
        operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode("utf-8")))
    return api.create_commit(repo_id, operations, commit_message=commit_message).commit_url
