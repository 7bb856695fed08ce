"""Checks of a user's dataset before any training, with errors that say what is wrong and where: the setting, the
column, the split, the file and the line (``datasets`` alone answers an empty JSON Lines file with a bare
``StopIteration`` and a ``null`` text with an ``AttributeError`` deep in the tokenizer)."""

from __future__ import annotations

from pathlib import Path

# the files `datasets.load_dataset(folder)` reads as splits
DATA_FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".txt", ".parquet")


def check_data_files(dataset: str) -> None:
    """When ``dataset`` is a local folder, raise ``ValueError`` naming any of its data files that is empty."""
    folder = Path(dataset)
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in DATA_FILE_SUFFIXES and path.stat().st_size == 0:
            raise ValueError(f"dataset={dataset!r}: {path} is empty; every split file needs at least one record")


def _source_file(dataset: str, split: str) -> Path | None:
    """The JSON Lines file of ``split`` in the local folder ``dataset``, when there is exactly one."""
    folder = Path(dataset)
    if not folder.is_dir():
        return None
    files = [path for path in folder.rglob(f"{split}*.jsonl") if path.is_file()]
    return files[0] if len(files) == 1 else None


def check_text_columns(dataset, columns: dict[str, str], dataset_name: str) -> None:
    """Every split of the ``DatasetDict`` ``dataset`` has the column each setting of ``columns`` (``{"source_lang":
    "en", ...}``) names, and every value in it is a string; raises ``ValueError`` naming the setting and the columns
    there are, or the column, split, row and (for a local JSON Lines folder) the file and line of a bad value."""
    for split_name, split in dataset.items():
        for setting, column in columns.items():
            if column not in split.column_names:
                raise ValueError(
                    f"{setting}={column!r}: split {split_name!r} of dataset {dataset_name!r} has no column {column!r}; "
                    f"its columns are {', '.join(map(repr, split.column_names))}"
                )
            for row, value in enumerate(split[column]):
                if not isinstance(value, str):
                    source = _source_file(dataset_name, split_name)
                    where = f"{source}, line {row + 1}" if source else f"row {row + 1}"
                    raise ValueError(
                        f"column {column!r} ({setting}) of split {split_name!r} is {value!r} at {where}; every text "
                        "must be a string"
                    )
