"""Corpus BLEU and chrF with sacrebleu as an ``evaluate`` module (sacrebleu defaults: 13a tokenisation for BLEU,
character 6-grams with beta 2 for chrF)."""

import datasets
import evaluate

from lanco_hf.evaluation.translation import translation_scores

_CITATION = """\
@inproceedings{papineni-etal-2002-bleu,
  title={{B}leu: a Method for Automatic Evaluation of Machine Translation},
  author={Papineni, Kishore and Roukos, Salim and Ward, Todd and Zhu, Wei-Jing},
  booktitle={Proceedings of ACL 2002},
  pages={311--318},
  year={2002}
}
@inproceedings{popovic-2015-chrf,
  title={chr{F}: character n-gram {F}-score for automatic {MT} evaluation},
  author={Popovi{\\'c}, Maja},
  booktitle={Proceedings of the Tenth Workshop on Statistical Machine Translation},
  pages={392--395},
  year={2015}
}
@inproceedings{post-2018-call,
  title={A Call for Clarity in Reporting {BLEU} Scores},
  author={Post, Matt},
  booktitle={Proceedings of the Third Conference on Machine Translation},
  pages={186--191},
  year={2018}
}
"""

_DESCRIPTION = """\
Corpus-level BLEU and chrF (0-100) of translations against one reference each, computed by sacrebleu with its
default settings, so the numbers equal `sacrebleu.corpus_bleu` / `sacrebleu.corpus_chrf`.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: the translations, one string per sentence.
    references: the reference translations, one string per sentence.
Returns:
    bleu, chrf.
Examples:
    >>> metric = evaluate.load(lanco_hf.metrics.path("bleu_chrf"))
    >>> metric.compute(predictions=["the cat sat on the mat"], references=["the cat sat on the mat"])["bleu"]
    100.00000000000004
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class BleuChrf(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references):
        return translation_scores(list(predictions), list(references))
