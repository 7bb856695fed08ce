"""Multi-label classification metrics as an ``evaluate`` module: one-error, Hamming loss, macro-F1 and micro-F1 (the
metrics of Zhao et al., NAACL 2019, "Review-Driven Multi-Label Music Style Classification by Exploiting Style
Correlations", Section 4.2), plus coverage and ranking loss."""

import datasets
import evaluate
import numpy as np

from lanco_hf.evaluation.multilabel import multilabel_metrics

_CITATION = """\
@inproceedings{zhao-etal-2019-review,
  title={Review-Driven Multi-Label Music Style Classification by Exploiting Style Correlations},
  author={Zhao, Guangxiang and Xu, Jingjing and Zeng, Qi and Ren, Xuancheng and Sun, Xu},
  booktitle={Proceedings of NAACL-HLT 2019},
  pages={2884--2891},
  year={2019}
}
"""

_DESCRIPTION = """\
Multi-label metrics of label scores (higher = more likely, e.g. sigmoid probabilities) against multi-hot gold
labels: one-error, Hamming loss, macro-F1 and micro-F1 at a decision threshold, coverage and ranking loss.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: one list of m label scores per example; label j is predicted when its score > threshold.
    references: one multi-hot list of m gold labels (0 or 1) per example.
    threshold: the decision threshold, in [0, 1] (default 0.5).
Returns:
    one_error, hamming_loss, macro_f1, micro_f1, coverage, ranking_loss (lower is better except for the F1s).
Examples:
    >>> metric = evaluate.load(lanco_hf.metrics.path("multilabel"))
    >>> metric.compute(predictions=[[0.9, 0.2], [0.4, 0.7]], references=[[1, 0], [1, 1]])["micro_f1"]
    0.8
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Multilabel(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("float64")),
                    "references": datasets.Sequence(datasets.Value("int32")),
                }
            ),
        )

    def _compute(self, predictions, references, threshold=0.5):
        return multilabel_metrics(np.asarray(predictions, dtype=np.float64), np.asarray(references), threshold)
