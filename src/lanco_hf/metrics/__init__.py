"""The lanco metrics as Hugging Face ``evaluate`` modules, shipped inside the package and loadable offline::

    import evaluate
    import lanco_hf

    metric = evaluate.load(lanco_hf.metrics.path("multilabel"))   # or lanco_hf.metrics.load("multilabel")
    metric.add_batch(predictions=scores, references=multi_hot)
    metric.compute(threshold=0.5)

Each module is a folder ``<name>/<name>.py`` holding one ``evaluate.Metric`` whose ``_compute`` calls the plain
function of ``lanco_hf.evaluation`` (the one definition of the metric):

- ``"multilabel"``: one-error, Hamming loss, macro / micro-F1, coverage and ranking loss of sigmoid scores
  (``lanco_hf.evaluation.multilabel.multilabel_metrics``);
- ``"retrieval"``: text->image and image->text recall@K of a score matrix given row by row
  (``lanco_hf.evaluation.retrieval.recall_at_k``);
- ``"bleu_chrf"``: corpus BLEU and chrF with sacrebleu (``lanco_hf.evaluation.translation.translation_scores``);
- ``"classification"``: accuracy and mean class accuracy of single-label predictions
  (``lanco_hf.evaluation.classification.classification_metrics``).

``compute_metrics.py`` turns them into ``Trainer`` ``compute_metrics`` functions (what the ``lanco-hf train`` tasks
and the ``scripts/run_*.py`` fine-tuning scripts use).

``evaluate.load`` of a local folder needs no network (it works with ``HF_HUB_OFFLINE=1``), unlike
``evaluate.load("sacrebleu")``, which fetches its script from the Hub.
"""

from .compute_metrics import (
    classification_compute_metrics,
    multilabel_compute_metrics,
    retrieval_recall,
    translation_compute_metrics,
)
from .loading import METRICS, load, path

__all__ = [
    "METRICS",
    "classification_compute_metrics",
    "load",
    "multilabel_compute_metrics",
    "path",
    "retrieval_recall",
    "translation_compute_metrics",
]
