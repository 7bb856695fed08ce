"""Publishing a finished run folder to the Hugging Face Hub in one commit: weights (safetensors), config with
``auto_map``, the remote-code files, tokenizer / processor, generation config, ``results.json`` and a model card
re-rendered under the repo's name.

What is uploaded is an allowlist (``files_to_upload``), never "everything but": Trainer checkpoints, pickles,
logs, dotfiles and anything else a run folder may gather stay local, and a symlink is never followed (it could
point anywhere on the machine). A folder without the completion marker every task writes last
(``lanco_hf.training.run_folder``) is a run killed or still going, and is refused unless ``allow_incomplete``."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi

from .model_card import card_from_config, card_from_run, has_run_card

# the files of a model repo, by name at the top of the run folder
UPLOADED_FILES = (
    "*.safetensors",
    "*.safetensors.index.json",  # weights (and ReNode's node_split.safetensors)
    "config.json",
    "generation_config.json",
    "adapter_config.json",  # configs
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "chat_template.jinja",
    "chat_template.json",  # tokenizer
    "preprocessor_config.json",
    "processor_config.json",
    "image_processor_config.json",  # image / text processors
    "*.py",  # the remote code named by config.json's auto_map
    "results.json",
    "training_history.json",
    "test_translations.txt",  # results
    "*.png",
    "*.svg",  # plots
)
# TensorBoard logs, in the Trainer's logging_dir under the run folder
UPLOADED_LOGS = ("runs/*/events.out.tfevents.*", "runs/events.out.tfevents.*")


def files_to_upload(run_dir: str | Path) -> list[str]:
    """The paths (relative, sorted) of ``run_dir`` that ``push_run`` uploads: the allowlisted files of a model
    repo, never a dotfile or a file in a dot-folder, never a symlink or a file under a symlinked folder, never
    anything in a checkpoint folder; the card is rendered separately."""
    run_dir = Path(run_dir)
    selected = []
    for folder, subfolders, files in os.walk(run_dir):  # os.walk does not descend into symlinked folders
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in files:
            path = Path(folder) / name
            relative = path.relative_to(run_dir).as_posix()
            if name.startswith(".") or path.is_symlink():
                continue
            top_level = "/" not in relative
            if (top_level and any(fnmatch.fnmatchcase(name, pattern) for pattern in UPLOADED_FILES)) or any(
                fnmatch.fnmatchcase(relative, pattern) for pattern in UPLOADED_LOGS
            ):
                selected.append(relative)
    return sorted(selected)


def render_card(run_dir: Path, repo_id: str) -> str | None:
    """The card uploaded with ``run_dir`` as ``repo_id``: the run's card when the folder holds a finished
    ``lanco-hf train`` run with a card; else the folder's own README; else, for a saved lanco model, the bare
    model's card (``model_card.card_from_config``: no results); else ``None``."""
    run_dir = Path(run_dir)
    if has_run_card(run_dir):
        return str(card_from_run(run_dir, repo_id))
    readme = run_dir / "README.md"
    if readme.exists():
        return readme.read_text(encoding="utf-8")
    if (run_dir / "config.json").is_file():
        from transformers import AutoConfig

        try:
            config = AutoConfig.from_pretrained(run_dir)
        except ValueError:  # a model type this Python does not know: no card of ours
            return None
        card = card_from_config(config, repo_id)
        return str(card) if card is not None else None
    return None


def push_run(
    run_dir: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    commit_message: str = "Upload model trained with lanco-hf",
    allow_incomplete: bool = False,
    revision: str | None = None,
) -> str:
    """Create ``repo_id`` if needed and upload the ``files_to_upload`` of ``run_dir`` and its card (``render_card``)
    in one commit to ``revision`` (default: the main branch); returns the commit URL. Refuses a folder without the
    completion marker unless ``allow_incomplete``."""
    run_dir = Path(run_dir)
    check_run_folder(run_dir, allow_incomplete)
    api = HfApi(token=token, endpoint=endpoint)
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
    if revision is not None:
        api.create_branch(repo_id, branch=revision, exist_ok=True)
    operations = model_operations(run_dir, repo_id)
    return api.create_commit(repo_id, operations, commit_message=commit_message, revision=revision).commit_url


def check_run_folder(run_dir: Path, allow_incomplete: bool = False) -> None:
    """Refuse a folder that is no saved model (config.json and safetensors weights), or no finished run unless
    ``allow_incomplete``."""
    from ..training.run_folder import RUN_COMPLETE_NAME, is_run_complete

    files = files_to_upload(run_dir)
    if "config.json" not in files or not any(name.endswith(".safetensors") for name in files):
        raise ValueError(f"{run_dir} is not a saved model folder: it needs config.json and *.safetensors weights")
    if not (allow_incomplete or is_run_complete(run_dir)):
        raise ValueError(
            f"{run_dir} is not a finished run (no {RUN_COMPLETE_NAME}, which every task writes last): it was "
            "interrupted or is still running; finish it with `lanco-hf train ... --resume`, or pass "
            "--allow-incomplete to upload it as it is"
        )


def model_operations(run_dir: Path, repo_id: str, prefix: str = "") -> list[CommitOperationAdd]:
    """The commit operations that upload the ``files_to_upload`` of ``run_dir`` and its card rendered under
    ``repo_id``, each under the folder ``prefix`` of the repo (``""``: its top)."""
    operations = [
        CommitOperationAdd(path_in_repo=prefix + name, path_or_fileobj=str(run_dir / name))
        for name in files_to_upload(run_dir)
    ]
    card = render_card(run_dir, repo_id)
    if card is not None:
        operations.append(CommitOperationAdd(path_in_repo=prefix + "README.md", path_or_fileobj=card.encode("utf-8")))
    return operations
