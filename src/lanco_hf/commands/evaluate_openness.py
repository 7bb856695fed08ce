"""``lanco-hf evaluate openness --model DIR ...``: Acc-C / Acc-E / Acc-S of a CLIP-like model with plain prompts and
with REPE, over the vocabularies of a labelled image set (offline: the emoji test split, classes = subcategories,
vocabularies = categories, REPE corpus = the training captions). Writes ``openness.json``, ``openness.md`` and the
two curve PNGs to ``--output-dir``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..modeling.validation import check_float, check_int, check_subset

HELP = "Acc-C / Acc-E / Acc-S of a CLIP-like model, with and without REPE"
REPE_INDEXES = ("text", "image", "none")


@dataclass
class OpennessArguments:
    model: str = field(metadata={"help": "Folder or Hub id of a CLIP-like model saved with its processor."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow the model's own code (Hub models)."})
    dataset: str = field(
        default="emoji", metadata={"help": "'emoji' (offline) or a dataset datasets.load_dataset opens."}
    )
    split: str = field(default="test", metadata={"help": "The labelled images evaluated."})
    corpus_split: str = field(default="train", metadata={"help": "The split whose captions REPE retrieves from."})
    image_column: str = "image"
    class_column: str = field(default="subcategory", metadata={"help": "Class names (prompts are built from them)."})
    vocabulary_column: str = field(default="category", metadata={"help": "The vocabulary of each class."})
    caption_column: str = field(default="captions", metadata={"help": "A caption or a list of captions per row."})
    templates: list[str] | None = field(
        default=None, metadata={"help": "Prompt templates with '{}' (default: the dataset's)."}
    )
    trials: int = field(default=3, metadata={"help": "Random expansion orders per target vocabulary."})
    seed: int = 42
    lam: float = field(default=0.25, metadata={"help": "REPE mixing weight lambda."})
    k: int = field(default=100, metadata={"help": "REPE: captions averaged per class."})
    num_retrieved: int = field(default=1000, metadata={"help": "REPE: captions retrieved before filtering."})
    query_template: str | None = field(default=None, metadata={"help": "REPE query (default: the first template)."})
    repe_index: list[str] = field(
        default_factory=lambda: ["text"],
        metadata={
            "help": "Search the corpus by its captions' text features ('text'), by its images' features "
            "('image', LAION-style), both, or 'none' (no REPE)."
        },
    )
    batch_size: int = 64
    output_dir: str = "runs/openness"

    def __post_init__(self):
        check_int("trials", self.trials, 1)
        check_int("k", self.k, 1)
        check_int("num_retrieved", self.num_retrieved, 1)
        check_int("batch_size", self.batch_size, 1)
        check_float("lam", self.lam, 0.0, 1.0)
        check_subset("repe_index", self.repe_index, REPE_INDEXES)
        self.repe_index = [kind for kind in self.repe_index if kind != "none"]


def load_splits(args: OpennessArguments):
    """The dataset's splits and its default prompt templates."""
    if args.dataset == "emoji":
        from ..data.emoji import EMOJI_TEMPLATES, emoji_dataset

        return emoji_dataset(), list(EMOJI_TEMPLATES)
    from datasets import load_dataset

    from ..evaluation.zero_shot import CLIP_TEMPLATE

    return load_dataset(args.dataset), [CLIP_TEMPLATE]


def run(args: OpennessArguments) -> dict:
    from transformers import AutoModel, AutoProcessor

    from ..evaluation.openness import OpennessEvaluator, OpennessResult, repe_retrievals, vocabularies_of
    from ..evaluation.openness_report import write_openness

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
        model,
        processor,
        test[args.image_column],
        test[args.class_column],
        vocabularies,
        templates=templates,
        trials=args.trials,
        seed=args.seed,
        batch_size=args.batch_size,
        progress=True,
    )
    results: dict[str, OpennessResult] = {"prompts": evaluator.evaluate()}
    retrievals = repe_retrievals(
        evaluator,
        dataset[args.corpus_split],
        args.caption_column,
        args.image_column,
        args.repe_index,
        args.k,
        args.num_retrieved,
        query_template,
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
        "repe": {
            "lam": args.lam,
            "k": args.k,
            "num_retrieved": args.num_retrieved,
            "corpus_split": args.corpus_split,
            "query_template": query_template,
            "retrievals": {name: retrieval.to_dict() for name, retrieval in retrievals.items()},
        },
        "encoded": {"images": evaluator.encoder.num_encoded_images, "texts": evaluator.encoder.num_encoded_texts},
    }
    output_dir = Path(args.output_dir)
    print(write_openness(summary, results, output_dir))
    print(f"Written to {output_dir}: openness.json, openness.md, openness_extensibility.png, openness_stability.png")
    return summary


ARGUMENTS = (OpennessArguments,)
