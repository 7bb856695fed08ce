import contextlib
import io
import json
import os
import tempfile

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# lanco-hf caches and the remote-code modules of subprocesses go to a temporary folder, never the user's
os.environ["LANCO_HF_CACHE"] = tempfile.mkdtemp(prefix="lanco_hf_cache_")
os.environ["HF_MODULES_CACHE"] = tempfile.mkdtemp(prefix="hf_modules_")

from helpers import CONFIG_DIR, TINY_TRANSLATION_RUN  # noqa: E402

import lanco_hf  # noqa: E402,F401  (registers the architectures)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def verse_dataset(tmp_path_factory):
    """Real verses (Ruth, Philemon, Jonah) written as JSON Lines splits, the layout `datasets.load_dataset`
    reads from a folder."""
    from lanco_hf.data.bible import read_bible_pairs, split_of
    from lanco_hf.data.cache import DataNotFoundError

    try:
        pairs = read_bible_pairs(books=["Ruth", "Phlm", "Jonah"])
    except DataNotFoundError:
        pytest.skip("apt-get install sword-text-kjv sword-text-sparv")
    folder = tmp_path_factory.mktemp("verses")
    for split in ("train", "validation", "test"):
        rows = [p for p in pairs if split_of(p["id"], 0.1, 0.2) == split]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return folder


@pytest.fixture(scope="session")
def tiny_translation_run(verse_dataset, tmp_path_factory):
    """One real `lanco-hf train` run of a tiny Explicit Sparse Transformer; returns (output_dir, stdout)."""
    from lanco_hf.cli import main

    output = tmp_path_factory.mktemp("runs") / "tiny-explicit-sparse"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        main(
            [
                "train",
                str(CONFIG_DIR / "explicit_sparse_bible.yaml"),
                f"dataset={verse_dataset}",
                f"output_dir={output}",
                *TINY_TRANSLATION_RUN,
            ]
        )
    return output, stdout.getvalue()
