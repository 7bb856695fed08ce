"""``lanco-hf evaluate openness --model DIR ...``: Acc-C / Acc-E / Acc-S of a CLIP-like model with plain
prompts and with REPE, over the vocabularies of a labelled image set (offline: the emoji test split, classes =
subcategories, vocabularies = categories, REPE corpus = the training captions). Writes ``openness.json``,
``openness.md`` and the two curve PNGs to ``--output-dir``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from .openness import OpennessEvaluator, OpennessResult
from .openness_report import openness_markdown, plot_openness_curves
from .repe import RepeRetrieval
from .zero_shot import CLIP_TEMPLATE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lanco-hf evaluate openness", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="folder or Hub id of a CLIP-like model saved with its processor")
    parser.add_argument("--trust-remote-code", action="store_true", help="allow the model's own code (Hub models)")
    parser.add_argument("--dataset", default="emoji", help="'emoji' (offline) or a dataset datasets.load_dataset opens")
    parser.add_argument("--split", default="test", help="the labelled images evaluated")
    parser.add_argument("--corpus-split", default="train", help="the split whose captions REPE retrieves from")
    parser.add_argument("--image-column", default="image")
    parser.add_argument("--class-column", default="subcategory", help="class names (prompts are built from them)")
    parser.add_argument("--vocabulary-column", default="category", help="the vocabulary of each class")
    parser.add_argument("--caption-column", default="captions", help="a caption or a list of captions per row")
    parser.add_argument("--templates", nargs="+", help="prompt templates with '{}' (default: the dataset's)")
    parser.add_argument("--trials", type=int, default=3, help="random expansion orders per target vocabulary")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--lam", type=float, default=0.25, help="REPE mixing weight lambda")
    parser.add_argument("--k", type=int, default=100, help="REPE: captions averaged per class")
    parser.add_argument("--num-retrieved", type=int, default=1000, help="REPE: captions retrieved before filtering")
    parser.add_argument("--query-template", help="REPE query (default: the first template)")
    parser.add_argument(
        "--repe-index", nargs="*", choices=("text", "image"), default=["text"],
        help="search the corpus by its captions' text features, by its images' features (LAION-style), both, "
             "or neither (no REPE)",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output-dir", default="runs/openness")
    return parser


def load_splits(args):
    if args.dataset == "emoji":
        from ..data.emoji import EMOJI_TEMPLATES, emoji_dataset

        return emoji_dataset(), list(EMOJI_TEMPLATES)
    from datasets import load_dataset

    return load_dataset(args.dataset), [CLIP_TEMPLATE]


def vocabularies_of(splits, class_column: str, vocabulary_column: str) -> dict[str, list[str]]:
    """Vocabulary name -> its class names, over all splits (sorted, so the expansion orders are reproducible)."""
    vocabulary_of: dict[str, str] = {}
    for split in splits:
        for name, vocabulary in zip(split[class_column], split[vocabulary_column]):
            if vocabulary_of.setdefault(name, vocabulary) != vocabulary:
                raise ValueError(f"class {name!r} is in vocabularies {vocabulary_of[name]!r} and {vocabulary!r}")
    vocabularies: dict[str, list[str]] = {}
    for name, vocabulary in sorted(vocabulary_of.items()):
        vocabularies.setdefault(vocabulary, []).append(name)
    return dict(sorted(vocabularies.items()))


def caption_rows(split, caption_column: str) -> tuple[list[str], list[int]]:
    """The captions of ``split``, one per entry, with the row each comes from."""
    captions, rows = [], []
    for row, value in enumerate(split[caption_column]):
        for caption in [value] if isinstance(value, str) else value:
            captions.append(caption)
            rows.append(row)
    return captions, rows


def repe_retrievals(
    evaluator: OpennessEvaluator, corpus, caption_column: str, image_column: str, kinds: list[str], k: int,
    num_retrieved: int, query_template: str,
) -> dict[str, RepeRetrieval]:
    """REPE's retrieval from the captions of ``corpus`` (a split), searched by the captions' own text features
    (``"text"``) and / or by the features of the images they describe (``"image"``, as LAION's index)."""
    captions, rows = caption_rows(corpus, caption_column)
    retrievals = {}
    for kind in kinds:
        index = evaluator.encoder.encode_images(corpus[image_column])[torch.as_tensor(rows)] if kind == "image" else None
        retrievals[f"REPE ({kind} index)"] = evaluator.retrieve(
            captions, k=k, num_retrieved=num_retrieved, query_template=query_template, index=index
        )
    return retrievals


def write_openness(summary: dict, results: dict[str, OpennessResult], output_dir: Path, stem: str = "openness") -> str:
    """``{stem}.json`` (``summary`` plus every result), ``{stem}.md`` and the two curve PNGs; returns the table."""
    output_dir.mkdir(parents=True, exist_ok=True)
    summary = {**summary, "results": {name: result.to_dict() for name, result in results.items()}}
    (output_dir / f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    markdown = openness_markdown(results)
    (output_dir / f"{stem}.md").write_text(markdown)
    plot_openness_curves(results, output_dir, prefix=stem)
    return markdown


def run_openness(args: argparse.Namespace) -> dict:
    from transformers import AutoModel, AutoProcessor

    dataset, default_templates = load_splits(args)
    for split in (args.split, args.corpus_split):
        if split not in dataset:
            raise ValueError(f"split {split!r} is not in dataset {args.dataset!r}; it has {list(dataset)}")
    templates = args.templates or default_templates
    query_template = args.query_template or templates[0]
    model = AutoModel.from_pretrained(args.model, trust_remote_code=args.trust_remote_code)
    processor = AutoProcessor.from_pretrained(args.model, trust_remote_code=args.trust_remote_code)
    test = dataset[args.split]
    vocabularies = vocabularies_of(dataset.values(), args.class_column, args.vocabulary_column)
    evaluator = OpennessEvaluator(
        model, processor, test[args.image_column], test[args.class_column], vocabularies,
        templates=templates, trials=args.trials, seed=args.seed, batch_size=args.batch_size, progress=True,
    )
    results: dict[str, OpennessResult] = {"prompts": evaluator.evaluate()}
    retrievals = repe_retrievals(
        evaluator, dataset[args.corpus_split], args.caption_column, args.image_column, args.repe_index, args.k,
        args.num_retrieved, query_template,
    )
    for name, retrieval in retrievals.items():
        results[name] = evaluator.evaluate(evaluator.repe_features(retrieval, args.lam))

    summary = {
        "model": args.model,
        "dataset": args.dataset,
        "split": args.split,
        "images": len(test),
        "classes": len(evaluator.classnames),
        "vocabularies": {name: len(classes) for name, classes in vocabularies.items()},
        "templates": templates,
        "repe": {"lam": args.lam, "k": args.k, "num_retrieved": args.num_retrieved, "corpus_split": args.corpus_split,
                 "query_template": query_template,
                 "retrievals": {name: retrieval.to_dict() for name, retrieval in retrievals.items()}},
        "encoded": {"images": evaluator.encoder.num_encoded_images, "texts": evaluator.encoder.num_encoded_texts},
    }
    output_dir = Path(args.output_dir)
    print(write_openness(summary, results, output_dir))
    print(f"Written to {output_dir}: openness.json, openness.md, openness_extensibility.png, openness_stability.png")
    return summary


def main(argv: list[str]) -> None:
    run_openness(build_parser().parse_args(argv))
