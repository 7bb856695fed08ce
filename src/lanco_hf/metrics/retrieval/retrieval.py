"""Image-text retrieval recall@K as an ``evaluate`` module, in both directions (text->image and image->text), as
reported by Ren et al., ACL 2021, "Learning Relation Alignment for Calibrated Cross-modal Retrieval" (Section 4)."""

import datasets
import evaluate
import numpy as np

from lanco_hf.evaluation.retrieval import DEFAULT_KS, recall_at_k

_CITATION = """\
@inproceedings{ren-etal-2021-learning,
  title={Learning Relation Alignment for Calibrated Cross-modal Retrieval},
  author={Ren, Shuhuai and Lin, Junyang and Zhao, Guangxiang and Men, Rui and Yang, An and Zhou, Jingren
    and Sun, Xu and Yang, Hongxia},
  booktitle={Proceedings of ACL-IJCNLP 2021},
  pages={514--524},
  year={2021}
}
"""

_DESCRIPTION = """\
Recall@K of a text-image score matrix given one caption (row) at a time: t2i_recall@K (each caption ranks every
image), i2t_recall@K (each image ranks every caption) and their mean recall_mean. Ties count against the model.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: per caption, its scores against every image (higher = better match); all rows the same length.
    references: per caption, a 0/1 list marking the images that match it (at least one per caption and per image).
    ks: the cut-offs K (default (1, 5, 10)).
Returns:
    t2i_recall@K and i2t_recall@K for every K, and recall_mean.
Examples:
    >>> metric = evaluate.load(lanco_hf.metrics.path("retrieval"))
    >>> metric.compute(predictions=[[0.9, 0.1], [0.8, 0.3]], references=[[1, 0], [0, 1]], ks=[1])["t2i_recall@1"]
    0.5
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Retrieval(evaluate.Metric):
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

    def _compute(self, predictions, references, ks=DEFAULT_KS):
        relevant = np.asarray(references).astype(bool)
        return recall_at_k(np.asarray(predictions, dtype=np.float64), relevant, tuple(ks))
