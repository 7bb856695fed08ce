"""The corpora of lanco-hf as ``datasets.DatasetDict`` s with proper features, the way Hub datasets are:
``load_corpus("bible_en_es")`` has a ``translation`` column of ``Translation(languages=["en", "es"])`` (the layout of
WMT / OPUS datasets and of transformers' translation scripts), ``debtags`` a ``List(ClassLabel)`` of tags,
``fashion_mnist`` an ``Image`` and a ``ClassLabel``, ``emoji`` and ``tuxpaint_stamps`` ``Image`` columns with
their captions. Each corpus is built offline by its builder in this package (``bible.py``, ``debtags.py``, ...);
:class:`Corpus` records its source, licence and what it is for, which the dataset card of
``lanco-hf push-dataset`` shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Corpus:
    """A corpus ``load_corpus`` builds.

    Args:
        name: its name (``load_corpus(name)``, the ``dataset`` of a run config).
        build: ``build(**kwargs) -> DatasetDict``.
        pretty_name: its title on the Hub.
        description: one paragraph: what the rows are.
        source: where the data comes from and how it installs offline.
        license: the Hub licence id of the data (``other`` with ``license_name`` when it has none).
        task_categories: the Hub task categories it serves.
        language: its languages (ISO 639-1), if any.
        license_name: the licence's name when ``license`` is ``other``.
    """

    name: str
    build: Callable[..., object]
    pretty_name: str
    description: str
    source: str
    license: str
    task_categories: tuple[str, ...]
    language: tuple[str, ...] = ()
    license_name: str | None = None


def bible_en_es(**kwargs):
    """The Bible corpus (``bible.bible_translation_dataset``) with one ``translation`` column per verse pair."""
    from datasets import Features, Translation, Value

    from .bible import bible_translation_dataset

    features = Features({"id": Value("string"), "translation": Translation(languages=["en", "es"])})
    return bible_translation_dataset(**kwargs).map(
        lambda row: {"translation": {"en": row["en"], "es": row["es"]}},
        remove_columns=["en", "es"],
        features=features,
        desc="translation column",
    )


def debtags(**kwargs):
    from .debtags import debtags_dataset

    return debtags_dataset(**kwargs)


def fashion_mnist(path=None):
    """Fashion-MNIST as ``image`` (28x28 grey PNG) and ``label`` (``ClassLabel`` of the ten class names)."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Image
    from PIL import Image as PILImage

    from .fashion_mnist import CLASS_NAMES, load_fashion_mnist

    features = Features({"image": Image(), "label": ClassLabel(names=list(CLASS_NAMES))})
    splits = {}
    for split in ("train", "test"):
        images, labels = load_fashion_mnist(split, path)
        rows = {"image": [PILImage.fromarray(image) for image in images], "label": labels.tolist()}
        splits[split] = Dataset.from_dict(rows, features=features)
    return DatasetDict(splits)


def emoji(**kwargs):
    from .emoji import emoji_dataset

    return emoji_dataset(**kwargs)


def tuxpaint_stamps(**kwargs):
    from .tuxpaint import tuxpaint_retrieval_dataset

    return tuxpaint_retrieval_dataset(**kwargs)


CORPORA = {
    corpus.name: corpus
    for corpus in (
        Corpus(
            name="bible_en_es",
            build=bible_en_es,
            pretty_name="Bible English-Spanish (KJV / Reina-Valera 1909)",
            description="Aligned verses of the King James Version and the Reina-Valera 1909, which share the KJV "
            "versification; verses empty on either side are dropped. The split is a hash of the verse id.",
            source="the SWORD modules engKJV2006eb and spaRV1909eb of Debian's sword-text-kjv and sword-text-sparv",
            license="other",
            license_name="public-domain",
            task_categories=("translation",),
            language=("en", "es"),
        ),
        Corpus(
            name="debtags",
            build=debtags,
            pretty_name="Debian package descriptions with debtags",
            description="The long descriptions of Debian packages labelled with the most frequent debtags of a few "
            "topical facets (multi-label). The split is a hash of the text.",
            source="the apt lists (Packages and Translation-en) of a Debian system, read with apt-helper",
            license="other",
            license_name="debian-package-descriptions",
            task_categories=("text-classification",),
            language=("en",),
        ),
        Corpus(
            name="fashion_mnist",
            build=fashion_mnist,
            pretty_name="Fashion-MNIST",
            description="28x28 grey images of Zalando articles in ten balanced classes (Xiao et al. 2017).",
            source="Debian's dataset-fashion-mnist (the original IDX files)",
            license="mit",
            task_categories=("image-classification",),
        ),
        Corpus(
            name="emoji",
            build=emoji,
            pretty_name="Google emoji with names, keywords and categories",
            description="Google's 64x64 emoji images composited on white, with their names, English CLDR keywords, "
            "Unicode category and subcategory, and captions built from them. The split is a hash of the code points.",
            source="the npm package emoji-datasource-google 16.0.0 and Debian's unicode-cldr-core",
            license="apache-2.0",
            task_categories=("zero-shot-image-classification",),
            language=("en",),
        ),
        Corpus(
            name="tuxpaint_stamps",
            build=tuxpaint_stamps,
            pretty_name="Tux Paint stamps with captions",
            description="The drawings of the Tux Paint stamps, letterboxed on white, with a one-sentence English "
            "caption and a category each. The split is a hash of the stamp's path.",
            source="Debian's tuxpaint-stamps-default",
            license="gpl-2.0",
            task_categories=("image-to-text", "text-to-image"),
            language=("en",),
        ),
    )
}


def get_corpus(name: str) -> Corpus:
    if name not in CORPORA:
        raise ValueError(f"corpus={name!r} is not a lanco-hf corpus; allowed values: {', '.join(sorted(CORPORA))}")
    return CORPORA[name]


def flatten_translation(dataset):
    """``dataset`` (a ``DatasetDict``) with the Hub's ``translation`` column (``{"en": ..., "es": ...}`` per row)
    replaced by one text column per language; splits without that column are returned as they are."""
    from datasets import DatasetDict

    return DatasetDict(
        {
            name: split.map(lambda row: row["translation"], remove_columns=["translation"])
            if "translation" in split.column_names
            else split
            for name, split in dataset.items()
        }
    )


def load_corpus(name: str, **kwargs):
    """The corpus ``name`` as a ``datasets.DatasetDict`` with proper features (see the module docstring);
    ``kwargs`` go to its builder (e.g. ``validation_fraction``). Builds offline from the installed sources (each
    builder's docstring says how to install them) and raises ``DataNotFoundError`` naming the command when one is
    missing.

    >>> bible = load_corpus("bible_en_es")  # doctest: +SKIP
    >>> bible["train"].features["translation"].languages  # doctest: +SKIP
    ['en', 'es']
    """
    return get_corpus(name).build(**kwargs)


__all__ = ["CORPORA", "Corpus", "get_corpus", "load_corpus"]
