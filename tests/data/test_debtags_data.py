"""The debtags corpus: parsing a small slice of real apt lists, the label selection, the hash-checked cache, and
(when ``apt-get -o Acquire::Languages=en update`` has run) the full corpus, its labels and its split."""

import pytest

from lanco_hf.data import debtags
from lanco_hf.data.bible import split_of
from lanco_hf.data.cache import DataNotFoundError
from lanco_hf.data.debtags import (
    TOPICAL_FACETS,
    debtags_dataset,
    description_text,
    find_apt_lists,
    load_debtags_corpus,
    read_debtags_corpus,
    select_tags,
)

# Stanzas of Debian 12's lists (fields trimmed); the updates list comes first by name and wins for abyss.
RELEASE_PACKAGES = """Package: 0ad
Version: 0.0.26-3
Description: Real-time strategy game of ancient warfare
Description-md5: d943033bedada21853d2ae54a2578a7b
Tag: game::strategy, interface::graphical, interface::x11, role::program,
 uitoolkit::sdl, uitoolkit::wxwidgets, use::gameplaying,
 x11::application
Section: games

Package: 0ad-data
Version: 0.0.26-1
Description: Real-time strategy game of ancient warfare (data files)
Description-md5: 26581e685027d5ae84824362a4ba59ee
Tag: role::app-data
Section: games

Package: 2048
Version: 0.20220905.1556-1
Description: Slide and add puzzle game for text mode
Description-md5: 2d3a24661b5ec0391d6bd1aedf7c20b7
Section: games

Package: abyss
Version: 2.3.5+dfsg-2
Description: de novo, parallel, sequence assembler for short reads
Description-md5: 7c736de2ab206e6ade42c9f95ff44b4a
Tag: field::biology, implemented-in::c, interface::commandline, role::program
Section: science

Package: no-description
Version: 1.0
Description-md5: 00000000000000000000000000000000
Tag: use::gameplaying
"""
UPDATES_PACKAGES = """Package: abyss
Version: 2.3.5+dfsg-2+deb12u1
Description: de novo, parallel, sequence assembler for short reads
Description-md5: 7c736de2ab206e6ade42c9f95ff44b4a
Tag: field::biology, field::biology:bioinformatics, interface::commandline
"""
TRANSLATION = """Package: 0ad
Description-md5: d943033bedada21853d2ae54a2578a7b
Description-en: Real-time strategy game of ancient warfare
 0 A.D. (pronounced "zero ey-dee") is a free, open-source, cross-platform
 real-time strategy (RTS) game of ancient warfare.

Package: 0ad-data
Description-md5: 26581e685027d5ae84824362a4ba59ee
Description-en: Real-time strategy game of ancient warfare (data files)
 0 A.D. (pronounced "zero ey-dee") is a free, open-source, cross-platform
 real-time strategy (RTS) game of ancient warfare.
 .
 This package contains the main data files required by 0 A.D.

Package: 2048
Description-md5: 2d3a24661b5ec0391d6bd1aedf7c20b7
Description-en: Slide and add puzzle game for text mode
 The 2048 game is a mathematics based puzzle game.

Package: abyss
Description-md5: 7c736de2ab206e6ade42c9f95ff44b4a
Description-en: de novo, parallel, sequence assembler for short reads
 ABySS is a de novo, parallel, sequence assembler that is designed for
 short reads.
"""


@pytest.fixture
def lists(tmp_path):
    (tmp_path / "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages").write_text(RELEASE_PACKAGES)
    (tmp_path / "deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages").write_text(UPDATES_PACKAGES)
    (tmp_path / "deb.debian.org_debian_dists_bookworm_main_i18n_Translation-en").write_text(TRANSLATION)
    return tmp_path


def test_slice_of_real_lists_is_parsed(lists):
    records = read_debtags_corpus(lists)
    assert [r["package"] for r in records] == ["0ad", "0ad-data", "abyss"]  # no tags / no description: dropped
    first = records[0]
    assert first["tags"] == [
        "game::strategy",
        "interface::graphical",
        "interface::x11",
        "role::program",
        "uitoolkit::sdl",
        "uitoolkit::wxwidgets",
        "use::gameplaying",
        "x11::application",
    ]
    assert first["text"] == (
        'Real-time strategy game of ancient warfare\n0 A.D. (pronounced "zero ey-dee") is a free, '
        "open-source, cross-platform real-time strategy (RTS) game of ancient warfare."
    )
    assert records[1]["text"].endswith(
        "game of ancient warfare. This package contains the main data files required by 0 A.D."
    )
    assert records[2]["tags"] == ["field::biology", "field::biology:bioinformatics", "interface::commandline"]


def test_description_text_drops_paragraph_marks():
    assert description_text("Synopsis\n first  line\n .\n second") == "Synopsis\nfirst line second"


def test_missing_translations_name_the_update_command(lists):
    next(lists.glob("*Translation-en")).unlink()
    with pytest.raises(DataNotFoundError, match=r"apt-get -o Acquire::Languages=en update"):
        find_apt_lists(lists)


def test_cache_is_named_by_the_lists_content(lists):
    records, sha = load_debtags_corpus(lists)
    again, same_sha = load_debtags_corpus(lists)
    assert again == records and same_sha == sha
    caches = sorted(p.name for p in debtags.cache_dir("corpora").glob("debtags-*.jsonl"))
    (lists / "deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages").write_text(
        UPDATES_PACKAGES.replace("field::biology, ", "")
    )
    changed, new_sha = load_debtags_corpus(lists)
    assert new_sha != sha and changed[2]["tags"] == ["field::biology:bioinformatics", "interface::commandline"]
    assert len(sorted(debtags.cache_dir("corpora").glob("debtags-*.jsonl"))) == len(caches) + 1


def test_select_tags_takes_the_most_frequent_per_facet():
    records = [
        {"tags": ["use::a", "use::b", "game::x", "game::TODO"]},
        {"tags": ["use::b", "game::TODO", "field::z"]},
        {"tags": ["use::c", "game::y", "game::TODO"]},
    ]
    # use: b (2), then a and c tie (1) -> by name; game: TODO excluded, x and y tie
    assert select_tags(records, ["use", "game"], 2) == ["use::b", "use::a", "game::x", "game::y"]
    with pytest.raises(ValueError, match="'interface', which tags no package"):
        select_tags(records, ["use", "interface"], 2)
    with pytest.raises(ValueError, match="tags_per_facet=0 is out of range"):
        select_tags(records, ["use"], 0)


try:
    find_apt_lists()
    HAVE_LISTS = True
except DataNotFoundError:
    HAVE_LISTS = False


@pytest.mark.skipif(not HAVE_LISTS, reason="run `sudo apt-get -o Acquire::Languages=en update`")
def test_full_corpus_labels_and_split():
    dataset = debtags_dataset()
    names = dataset["train"].features["tags"].feature.names
    assert len(names) == len(TOPICAL_FACETS) * 4
    assert [name.split("::")[0] for name in names[::4]] == list(TOPICAL_FACETS)
    assert {"game::arcade", "use::gameplaying", "field::biology", "field::biology:bioinformatics"} <= set(names)
    sizes = {split: len(rows) for split, rows in dataset.items()}
    total = sum(sizes.values())
    assert total > 5000 and abs(sizes["test"] / total - 0.2) < 0.03 and abs(sizes["validation"] / total - 0.1) < 0.03
    texts = {split: set(rows["text"]) for split, rows in dataset.items()}
    assert not (texts["train"] & texts["test"]) and not (texts["train"] & texts["validation"])
    for split, rows in dataset.items():
        assert all(split_of(text, 0.1, 0.2) == split for text in rows["text"][:200])
    train = dataset["train"]
    for row in train.select(range(300)):
        assert row["tags"] and [i for i, v in enumerate(row["labels"]) if v == 1.0] == row["tags"]
    assert "corpus sha256" in train.info.description
    assert debtags_dataset()["test"]["package"] == dataset["test"]["package"]  # deterministic
