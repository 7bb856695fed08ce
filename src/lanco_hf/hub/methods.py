"""What a model card says about each method: paper, link, one-paragraph summary and BibTeX."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MethodInfo:
    name: str
    paper: str
    url: str
    summary: str
    bibtex: str


TRANSFORMER = MethodInfo(
    name="Transformer",
    paper="Attention Is All You Need",
    url="https://arxiv.org/abs/1706.03762",
    summary="The plain lanco encoder-decoder Transformer (dense attention), the baseline of every lanco seq2seq method.",
    bibtex="""@inproceedings{vaswani2017attention,
  title={Attention Is All You Need},
  author={Vaswani, Ashish and Shazeer, Noam and Parmar, Niki and Uszkoreit, Jakob and Jones, Llion and Gomez, Aidan N and Kaiser, {\\L}ukasz and Polosukhin, Illia},
  booktitle={Advances in Neural Information Processing Systems},
  year={2017}
}""",
)

EXPLICIT_SPARSE = MethodInfo(
    name="Explicit Sparse Transformer",
    paper="Explicit Sparse Transformer: Concentrated Attention Through Explicit Selection",
    url="https://arxiv.org/abs/1912.11637",
    summary=(
        "Top-k selective attention: in every attention row only the k largest query-key scores are kept before the "
        "softmax, concentrating attention on the most relevant tokens with no extra parameters."
    ),
    bibtex="""@article{zhao2019explicit,
  title={Explicit Sparse Transformer: Concentrated Attention Through Explicit Selection},
  author={Zhao, Guangxiang and Lin, Junyang and Zhang, Zhiyuan and Ren, Xuancheng and Su, Qi and Sun, Xu},
  journal={arXiv preprint arXiv:1912.11637},
  year={2019}
}""",
)

ADANORM = MethodInfo(
    name="AdaNorm",
    paper="Understanding and Improving Layer Normalization",
    url="https://arxiv.org/abs/1911.07013",
    summary="LayerNorm-simple drops LayerNorm's gain and bias; AdaNorm replaces them with a detached adaptive scale.",
    bibtex="""@inproceedings{xu2019understanding,
  title={Understanding and Improving Layer Normalization},
  author={Xu, Jingjing and Sun, Xu and Zhang, Zhiyuan and Zhao, Guangxiang and Lin, Junyang},
  booktitle={Advances in Neural Information Processing Systems},
  year={2019}
}""",
)

METHODS_BY_MODEL_TYPE = {
    "lanco_seq2seq": TRANSFORMER,
    "explicit_sparse": EXPLICIT_SPARSE,
}


def methods_of(config) -> list[MethodInfo]:
    """The methods a config uses: its architecture's, plus AdaNorm when a non-standard norm is chosen."""
    methods = [METHODS_BY_MODEL_TYPE.get(config.model_type, TRANSFORMER)]
    if getattr(config, "norm_type", "layernorm") != "layernorm":
        methods.append(ADANORM)
    return methods
