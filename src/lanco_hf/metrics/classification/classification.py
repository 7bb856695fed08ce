"""Single-label classification accuracy and mean class accuracy as an ``evaluate`` module (mean class accuracy is
the balanced accuracy of long-tailed classification, e.g. Cao et al., NeurIPS 2019, "Learning Imbalanced Datasets
with Label-Distribution-Aware Margin Loss")."""

import datasets
import evaluate

from lanco_hf.evaluation.classification import classification_metrics

_CITATION = """\
@inproceedings{cao2019learning,
  title={Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss},
  author={Cao, Kaidi and Wei, Colin and Gaidon, Adrien and Arechiga, Nikos and Ma, Tengyu},
  booktitle={Advances in Neural Information Processing Systems},
  year={2019}
}
"""

_DESCRIPTION = """\
Accuracy of predicted class ids, and mean class accuracy: the mean over the gold classes of their own accuracy.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: the predicted class id of each example.
    references: the gold class id of each example.
Returns:
    accuracy, mean_class_accuracy.
Examples:
    >>> metric = evaluate.load(lanco_hf.metrics.path("classification"))
    >>> metric.compute(predictions=[0, 1, 1], references=[0, 1, 0])["mean_class_accuracy"]
    0.75
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Classification(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references):
        return classification_metrics(predictions, references)
