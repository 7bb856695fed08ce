"""Publishing a lanco-hf corpus as a Hub dataset: ``push_corpus(name, repo_id)`` builds
``lanco_hf.data.load_corpus(name)``, uploads it with ``DatasetDict.push_to_hub`` (Parquet shards under ``data/`` and
the ``dataset_info`` / ``configs`` metadata ``datasets.load_dataset`` reads) and writes the dataset card
(``templates/dataset.md``): source, licence, split sizes, features and usage."""

from __future__ import annotations

from huggingface_hub import DatasetCard, DatasetCardData

from ..data.corpora import Corpus, get_corpus
from .model_card import TEMPLATES

# the Hub's size categories, by upper bound of the row count
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))


def size_category(rows: int) -> str:
    return next((label for bound, label in SIZE_CATEGORIES if rows < bound), "1M<n<10M")


def dataset_card(corpus: Corpus, dataset, repo_id: str, metadata: DatasetCardData | None = None) -> DatasetCard:
    """The card of ``dataset`` (a ``DatasetDict`` of ``corpus``) published as ``repo_id``; ``metadata`` (the card data
    ``push_to_hub`` wrote: ``dataset_info``, ``configs``) is kept and completed."""
    split_sizes = {name: len(split) for name, split in dataset.items()}
    card_data = metadata or DatasetCardData()
    card_data.license = corpus.license
    if corpus.license_name:
        card_data.license_name = corpus.license_name
    card_data.language = list(corpus.language) or None
    card_data.task_categories = list(corpus.task_categories)
    card_data.pretty_name = corpus.pretty_name
    card_data.size_categories = [size_category(sum(split_sizes.values()))]
    card_data.source_datasets = ["original"]
    card_data.tags = ["lanco-hf"]
    licence = corpus.license_name if corpus.license == "other" else corpus.license
    first = next(iter(dataset.values()))
    return DatasetCard.from_template(
        card_data,
        template_path=str(TEMPLATES / "dataset.md"),
        name=corpus.name,
        repo_id=repo_id,
        pretty_name=corpus.pretty_name,
        description=corpus.description,
        source=corpus.source[0].upper() + corpus.source[1:],
        license_text=licence,
        split_sizes=split_sizes,
        features="\n".join(f"{column}: {feature!r}" for column, feature in first.features.items()),
    )


def push_corpus(
    name: str,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    max_shard_size: str | int | None = None,
    **corpus_kwargs,
) -> str:
    """Build the corpus ``name`` and publish it as the dataset repo ``repo_id`` (Parquet shards and the dataset
    card); returns the URL of the card's commit. ``corpus_kwargs`` go to its builder."""
    from huggingface_hub import HfApi

    corpus = get_corpus(name)
    dataset = corpus.build(**corpus_kwargs)
    commit = dataset.push_to_hub(
        repo_id,
        private=private,
        token=token,
        max_shard_size=max_shard_size,
        commit_message=f"Upload {name} with lanco-hf",
    )
    repo_id = commit.repo_url.repo_id
    metadata = DatasetCard.load(repo_id, repo_type="dataset", token=token).data
    card = dataset_card(corpus, dataset, repo_id, metadata)
    api = HfApi(token=token)
    return api.upload_file(
        path_or_fileobj=str(card).encode("utf-8"),
        path_in_repo="README.md",
        repo_id=repo_id,
        repo_type="dataset",
        commit_message=f"Dataset card of {name}",
    ).commit_url


__all__ = ["dataset_card", "push_corpus", "size_category"]
