"""What a model card says about each method: paper, link, one-paragraph summary and BibTeX. A loss carries its own
citation (``EncouragingLoss.citation``, ``IAISLoss.citation``, ``ReNodeLoss.citation``), which its method here uses."""

from __future__ import annotations

from dataclasses import dataclass

from ..losses.encouraging import EncouragingLoss
from ..losses.iais import IAISLoss
from ..modeling.imbalance_losses import ReNodeLoss


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

MUSE = MethodInfo(
    name="MUSE",
    paper="MUSE: Parallel Multi-Scale Attention for Sequence to Sequence Learning",
    url="https://arxiv.org/abs/1911.09483",
    summary=(
        "Parallel multi-scale layers: self-attention, a depth-wise dynamic convolution over the attention's own value "
        "projection (kernels 3 and 15 mixed by a learned softmax gate) and the feed-forward network run in parallel "
        "on the same input and are summed into one residual; MUSE-simple drops the convolution."
    ),
    bibtex="""@article{zhao2019muse,
  title={MUSE: Parallel Multi-Scale Attention for Sequence to Sequence Learning},
  author={Zhao, Guangxiang and Sun, Xu and Xu, Jingjing and Zhang, Zhiyuan and Luo, Liangchen},
  journal={arXiv preprint arXiv:1911.09483},
  year={2019}
}""",
)

CROSS_VIEW = MethodInfo(
    name="Layer-wise cross-view decoding",
    paper="Layer-Wise Cross-View Decoding for Sequence-to-Sequence Learning",
    url="https://arxiv.org/abs/2005.08081",
    summary=(
        "Granularity-consistent attention: decoder layer l attends to the output of encoder layer l instead of every "
        "decoder layer attending to the last encoder layer, so lower decoder layers see finer-grained source "
        "representations; no parameters are added."
    ),
    bibtex="""@article{liu2020layer,
  title={Layer-Wise Cross-View Decoding for Sequence-to-Sequence Learning},
  author={Liu, Fenglin and Ren, Xuancheng and Zhao, Guangxiang and Sun, Xu and Li, Liangyou},
  journal={arXiv preprint arXiv:2005.08081},
  year={2020}
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

ENCOURAGING_LOSS = MethodInfo(
    name="Encouraging loss",
    paper="Well-classified Examples are Underestimated in Classification with Deep Neural Networks",
    url="https://arxiv.org/abs/2110.06537",
    summary=(
        "Cross-entropy plus a bonus log(1 - p) for the gold class, the mirror image of the log-likelihood, so that "
        "well-classified examples keep a gradient; the conservative bonus follows the log's tangent above a "
        "threshold (log_end) to stay bounded."
    ),
    bibtex=EncouragingLoss.citation,
)

RENODE = MethodInfo(
    name="ReNode",
    paper="Topology-Imbalance Learning for Semi-Supervised Node Classification",
    url="https://arxiv.org/abs/2110.04099",
    summary=(
        "Labelled nodes near class boundaries spread conflicting influence (topology imbalance). Totoro measures each "
        "labelled node's conflict with personalized PageRank; ReNode re-weights the per-node loss with a cosine of the "
        "conflict rank, from w_max for the least-conflicted node to w_min for the most."
    ),
    bibtex=ReNodeLoss.citation,
)

IAIS = MethodInfo(
    name="IAIS",
    paper="Learning Relation Alignment for Calibrated Cross-modal Retrieval",
    url="https://arxiv.org/abs/2105.13868",
    summary=(
        "Intra-modal self-attention alignment: in the last layer of a single-stream vision-language transformer, the "
        "linguistic self-attention of a matched pair is pulled towards the visual self-attention routed through the "
        "cross-modal attention (singular: argmax word-to-region; distributed: attention products) and vice versa, with "
        "a symmetric KL added to the hard-negative ranking loss; ISD measures the remaining inconsistency."
    ),
    bibtex=IAISLoss.citation,
)

LABEL_GRAPH = MethodInfo(
    name="Label graph + soft training",
    paper="Review-Driven Multi-Label Music Style Classification by Exploiting Style Correlations",
    url="https://aclanthology.org/N19-1296",
    summary=(
        "A learnable label-correlation graph G, initialised to the identity, mixes the classifier's label scores "
        "(o = sigmoid(e) G); soft training adds a loss towards the continuous target y G (stop-gradient), which gives "
        "partial credit to labels correlated with the gold ones."
    ),
    bibtex="""@inproceedings{zhao2019review,
  title={Review-Driven Multi-Label Music Style Classification by Exploiting Style Correlations},
  author={Zhao, Guangxiang and Xu, Jingjing and Zeng, Qi and Ren, Xuancheng and Sun, Xu},
  booktitle={Proceedings of the 2019 Conference of the North American Chapter of the Association for Computational Linguistics: Human Language Technologies},
  pages={2884--2891},
  year={2019}
}""",
)

CLIP_OPENNESS = MethodInfo(
    name="CLIP openness + REPE",
    paper="Delving into the Openness of CLIP",
    url="https://arxiv.org/abs/2206.01986",
    summary=(
        "Zero-shot accuracy measured while the vocabulary grows by whole sub-vocabularies: Acc-C (closed target "
        "vocabulary), Acc-E (extensibility: accuracy over the expanded vocabulary) and Acc-S (stability: accuracy on the "
        "target classes among the added distractors). REPE moves each class's prompt feature toward the mean feature "
        "of retrieved captions that name the class (lambda 0.25, K 100), with no training."
    ),
    bibtex="""@inproceedings{ren2023delving,
  title={Delving into the Openness of {CLIP}},
  author={Ren, Shuhuai and Li, Lei and Ren, Xuancheng and Zhao, Guangxiang and Sun, Xu},
  booktitle={Findings of the Association for Computational Linguistics: ACL 2023},
  year={2023}
}""",
)

METHODS_BY_MODEL_TYPE = {
    "lanco_seq2seq": TRANSFORMER,
    "explicit_sparse": EXPLICIT_SPARSE,
    "muse": MUSE,
    "cross_view": CROSS_VIEW,
    "renode_gcn": RENODE,
    "label_graph": LABEL_GRAPH,
}


def methods_of(config) -> list[MethodInfo]:
    """The methods a config uses: its architecture's, plus MUSE / cross-view decoding when another architecture
    switches them on, plus AdaNorm when a non-standard norm is chosen."""
    methods = [METHODS_BY_MODEL_TYPE.get(config.model_type, TRANSFORMER)]
    if getattr(config, "muse_variant", None) and MUSE not in methods:  # lanco options combine across architectures
        methods.append(MUSE)
    if getattr(config, "cross_view_routing", "last") != "last" and CROSS_VIEW not in methods:
        methods.append(CROSS_VIEW)
    if getattr(config, "norm_type", "layernorm") != "layernorm":
        methods.append(ADANORM)
    return methods

# a loss's ``name`` (in its ``to_dict()``, as results.json stores it) -> its method
METHODS_BY_LOSS = {EncouragingLoss.name: ENCOURAGING_LOSS, IAISLoss.name: IAIS, ReNodeLoss.name: RENODE}


def methods_of_loss(loss: dict | None) -> list[MethodInfo]:
    """The method of a training loss given by its ``to_dict()`` (empty for the model's own loss)."""
    return [METHODS_BY_LOSS[loss["name"]]] if loss and loss.get("name") in METHODS_BY_LOSS else []
