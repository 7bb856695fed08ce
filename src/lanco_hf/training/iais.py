"""Trainer glue for image-text retrieval with the IAIS regulariser on transformers' ViLT (Ren et al., "Learning
Relation Alignment for Calibrated Cross-modal Retrieval", ACL 2021, Section 3.3 and the official training loop).

``IAISTrainer`` is a ``Trainer`` whose training batches are matched (caption, image) pairs
(``lanco_hf.data.pairs.ImageTextPairs``). For a batch of ``n`` pairs it

1. finds hard negatives for every anchor, without gradient (eval mode): with ``hard_negative_pool=P`` as the
   official code does, each caption draws ``P`` random non-matching images from the training set and each image
   ``P`` random non-matching captions, and the ``k`` highest-scoring of each pool are kept (official: 31 of 399);
   with ``hard_negative_pool=None``, the ``k`` hardest of the batch's own ``n x n`` combinations (captions equal to
   the anchor's own count as matches, not negatives);
2. runs the ``n`` positives and ``2 n k`` negatives with gradient, capturing the last layer's query/key states with
   ``ViltQueryKeyCapture`` (forward hooks, no copy of ViLT's code);
3. returns ``L_rank(text anchors) + L_rank(image anchors) + iais_scale * lambda(t) * (IAIS_L + IAIS_V)``, where
   ``L_rank`` is the hinge ranking loss on sigmoid scores with margin 0.2, averaged over anchors and negatives, and
   the IAIS terms are averaged over the positive pairs (:func:`ranking_iais_loss`).

The official loop accumulates ``train_batch_size`` (8) one-anchor batches per update and divides each batch's
ranking loss by ``train_batch_size`` but not its IAIS term, so per update it minimises the mean ranking loss plus
``train_batch_size x lambda(t)`` times the mean IAIS term: ``iais_scale`` defaults to that 8. It alternates V-mode
(one image, hard-negative texts) and L-mode (one text, hard-negative images) batches; here both modes are computed
on the same positive pairs of one batch. ``lambda(t) = exp(5 (t/T - 1))`` is set by ``IAISWeightCallback`` at every
step.

For evaluation on an ``ImageTextGrid`` it returns, per pair, the matching logit, the ISD and the normalised
entropies of the text and image self-attention, so that ``compute_metrics=retrieval_compute_metrics`` reports
recall@1/5/10 in both directions, the mean ISD and the attention entropies.
"""

from __future__ import annotations

import math
from collections import defaultdict
from contextlib import nullcontext

import torch
from transformers import Trainer, TrainerCallback

from ..data.pairs import ImageTextPairs, collate_pairs
from ..evaluation.retrieval import MODEL_INPUTS, PAIR_VALUES, pair_statistics
from ..losses.capture import ViltQueryKeyCapture
from ..losses.iais import ALIGNMENTS, IAISLoss
from ..losses.ranking import hardest_negatives, hinge_ranking_loss
from ..modeling.validation import check_choice, check_float, check_int
from .hub_push import HubPushMixin

SCHEDULES = ("exp", "constant")
PAIR_COLUMNS = ("caption_id", "pair_labels")
TEXT_INPUTS = ("input_ids", "attention_mask")
# The official loop's train_batch_size: the one-anchor batches accumulated per update, each ranking loss divided by
# it and each IAIS term not, so that the IAIS term weighs OFFICIAL_IAIS_SCALE x lambda(t) against the mean ranking loss.
OFFICIAL_IAIS_SCALE = 8.0
OFFICIAL_HARD_NEGATIVE_POOL = 399  # negative_size of the official configs
OFFICIAL_NUM_HARD_NEGATIVES = 31  # hard_neg_size


def ranking_iais_loss(
    positive_logits: torch.Tensor,
    image_negative_logits: torch.Tensor,
    text_negative_logits: torch.Tensor,
    margin: float = 0.2,
    iais_loss: torch.Tensor | float = 0.0,
    iais_weight: float = 1.0,
    iais_scale: float = OFFICIAL_IAIS_SCALE,
    images_valid: torch.Tensor | None = None,
    texts_valid: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The training loss of one batch and its ranking part: ``L_rank(positive, image negatives) + L_rank(positive,
    text negatives) + iais_scale * iais_weight * iais_loss``, each ``L_rank`` the hinge ranking loss averaged over
    the ``(n, k)`` negatives of the ``n`` anchors (``*_valid`` mask missing ones), ``iais_loss`` the IAIS terms
    (L + V modes) averaged over the positive pairs and ``iais_weight`` the annealing ``lambda(t)``."""
    rank_loss = hinge_ranking_loss(positive_logits, image_negative_logits, margin, images_valid) + hinge_ranking_loss(
        positive_logits, text_negative_logits, margin, texts_valid
    )
    return rank_loss + iais_scale * iais_weight * iais_loss, rank_loss


def exp_schedule(step: int, total_steps: int, scale: float = 5.0) -> float:
    """The "exp" training-signal annealing of the official code: ``exp(scale * (step / total_steps - 1))``, rising
    from ``exp(-scale)`` (0.0067 for 5) at step 0 to 1 at the last step."""
    check_int("total_steps", total_steps, 1)
    return math.exp(scale * (step / total_steps - 1.0))


class IAISWeightCallback(TrainerCallback):
    """Sets ``target.iais_weight = exp(scale * (t/T - 1))`` at the start of every optimisation step, with ``t`` the
    steps done (``state.global_step``) and ``T`` the planned total (``state.max_steps``)."""

    def __init__(self, target, scale: float = 5.0):
        check_float("scale", scale, 0.0, min_inclusive=False)
        self.target = target
        self.scale = scale

    def on_step_begin(self, args, state, control, **kwargs):
        self.target.iais_weight = exp_schedule(state.global_step, state.max_steps, self.scale)


class IAISTrainer(HubPushMixin, Trainer):
    """A ``Trainer`` for single-stream retrieval with hard negatives and the IAIS regulariser (see the module doc).

    Args (besides ``Trainer``'s):
        iais_alignment: ``"singular"``, ``"distributed"``, or ``None`` for the baseline without IAIS.
        num_hard_negatives: ``k`` hardest negatives per anchor and direction (official: 31); in-batch (no pool),
            ``k`` < the batch size.
        hard_negative_pool: ``P`` random non-matching candidates per anchor and direction drawn from the training
            set (an ``ImageTextPairs``), of which the ``k`` hardest are used (official: 399); ``None`` mines the
            batch's own combinations instead.
        margin: of the hinge ranking loss.
        iais_schedule: ``"exp"`` (lambda(t) = exp(5 (t/T - 1)), official) or ``"constant"`` (lambda = 1).
        iais_scale: the IAIS term weighs ``iais_scale x lambda(t)`` against the mean ranking loss; the official
            loop's is its ``train_batch_size``, 8 (module doc).
        isd_alignment: the alignment of the ISD reported by evaluation.
    """

    loss_is_scaled_for_ga = False  # compute_loss returns a per-batch mean; training_step divides by the GA steps

    def __init__(
        self,
        *args,
        iais_alignment: str | None = "singular",
        num_hard_negatives: int = 3,
        hard_negative_pool: int | None = None,
        margin: float = 0.2,
        iais_schedule: str = "exp",
        iais_scale: float = OFFICIAL_IAIS_SCALE,
        isd_alignment: str = "singular",
        **kwargs,
    ):
        if iais_alignment is not None:
            check_choice("iais_alignment", iais_alignment, ALIGNMENTS)
        check_int("num_hard_negatives", num_hard_negatives, 1)
        check_int("hard_negative_pool", hard_negative_pool, num_hard_negatives, allow_none=True)
        check_float("margin", margin, 0.0)
        check_choice("iais_schedule", iais_schedule, SCHEDULES)
        check_float("iais_scale", iais_scale, 0.0)
        check_choice("isd_alignment", isd_alignment, ALIGNMENTS)
        kwargs.setdefault("data_collator", collate_pairs)
        super().__init__(*args, **kwargs)
        if hard_negative_pool is None and num_hard_negatives >= self.args.per_device_train_batch_size:
            raise ValueError(
                f"num_hard_negatives={num_hard_negatives} is out of range; allowed: < per_device_train_batch_size="
                f"{self.args.per_device_train_batch_size} (negatives are mined in the batch; set hard_negative_pool to "
                "draw them from the training set)"
            )
        if (
            hard_negative_pool is not None
            and self.train_dataset is not None
            and not isinstance(self.train_dataset, ImageTextPairs)
        ):
            raise ValueError(
                f"hard_negative_pool={hard_negative_pool} draws candidates from the training set, which must be "
                f"an ImageTextPairs, got {type(self.train_dataset).__name__}; allowed otherwise: None"
            )
        self.num_hard_negatives = num_hard_negatives
        self.hard_negative_pool = hard_negative_pool
        self.margin = margin
        self.iais_scale = iais_scale
        self.isd_alignment = isd_alignment
        self.iais_losses = {mode: IAISLoss(iais_alignment, mode) for mode in ("L", "V")} if iais_alignment else {}
        self.iais_weight = 1.0
        self._pool_generator = torch.Generator().manual_seed(self.args.seed)
        if self.iais_losses and iais_schedule == "exp":
            self.add_callback(IAISWeightCallback(self))
        self._loss_parts: dict[str, list[float]] = defaultdict(list)

    def _set_signature_columns_if_needed(self) -> None:
        """Keep the pair columns (``caption_id``, ``pair_labels``) when ``remove_unused_columns`` drops the inputs
        ViLT's ``forward`` does not take."""
        super()._set_signature_columns_if_needed()
        self._signature_columns += [name for name in PAIR_COLUMNS if name not in self._signature_columns]

    @torch.no_grad()
    def _score(self, model, inputs: dict[str, torch.Tensor], chunk: int = 1024) -> torch.Tensor:
        """The matching logits of the pairs ``inputs`` describes, in eval mode and chunks."""
        was_training = model.training
        model.eval()
        total = inputs["input_ids"].shape[0]
        logits = [
            model(**{key: value[start : start + chunk] for key, value in inputs.items()}).logits[:, 0]
            for start in range(0, total, chunk)
        ]
        model.train(was_training)
        return torch.cat(logits)

    def _in_batch_negatives(self, model, batch: dict[str, torch.Tensor], groups: torch.Tensor):
        """The ``k`` hardest non-matching images / captions of every anchor among the batch's ``n x n`` pairs."""
        n, k = groups.shape[0], min(self.num_hard_negatives, groups.shape[0])
        anchors = torch.arange(n, device=groups.device)
        scores = self._score(model, pair_inputs(batch, anchors.repeat_interleave(n), batch, anchors.repeat(n))).view(
            n, n
        )
        relevant = groups[:, None] == groups[None, :]
        images, images_valid = hardest_negatives(scores, relevant, k)
        texts, texts_valid = hardest_negatives(scores.T, relevant.T, k)
        return (batch, images, images_valid), (batch, texts, texts_valid)

    def _pool_negatives(self, model, batch: dict[str, torch.Tensor], groups: torch.Tensor):
        """As the official code: every anchor draws ``hard_negative_pool`` random non-matching candidates of the
        other modality from the training set and keeps its ``k`` highest-scoring ones."""
        dataset = self.train_dataset
        device = groups.device
        n, pool, k = groups.shape[0], min(self.hard_negative_pool, len(dataset)), self.num_hard_negatives
        anchors = torch.arange(n, device=device)
        relevant = groups[:, None] == dataset.groups.to(device)[None, :]  # (n, dataset)
        texts = {key: dataset.texts[key].to(device) for key in TEXT_INPUTS}
        images = {key: value.to(device) for key, value in dataset.images.items()}
        chosen = []
        for direction in ("images", "texts"):
            keys = torch.rand(relevant.shape, generator=self._pool_generator).to(device).masked_fill(relevant, -1.0)
            drawn_keys, drawn = keys.topk(pool, dim=1)  # a uniform sample without replacement of the irrelevant ones
            if direction == "images":
                inputs = pair_inputs(batch, anchors.repeat_interleave(pool), images, drawn.flatten())
            else:
                inputs = pair_inputs(texts, drawn.flatten(), batch, anchors.repeat_interleave(pool))
            scores = self._score(model, inputs).view(n, pool)
            picked, valid = hardest_negatives(scores, drawn_keys < 0, min(k, pool))  # drawn_keys < 0: no candidate left
            chosen.append((images if direction == "images" else texts, drawn.gather(1, picked), valid))
        return chosen[0], chosen[1]

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        groups = inputs["caption_id"]
        batch = {key: inputs[key] for key in MODEL_INPUTS if key in inputs}
        n = groups.shape[0]
        mine = self._in_batch_negatives if self.hard_negative_pool is None else self._pool_negatives
        (image_source, negative_images, images_valid), (text_source, negative_texts, texts_valid) = mine(
            model, batch, groups
        )
        anchors = torch.arange(n, device=groups.device)
        against_images = anchors.repeat_interleave(negative_images.shape[1])
        against_texts = anchors.repeat_interleave(negative_texts.shape[1])
        combined = concatenate_pairs(
            [
                pair_inputs(batch, anchors, batch, anchors),
                pair_inputs(batch, against_images, image_source, negative_images.flatten()),
                pair_inputs(text_source, negative_texts.flatten(), batch, against_texts),
            ]
        )

        capture = ViltQueryKeyCapture(self.accelerator.unwrap_model(model)) if self.iais_losses else nullcontext()
        with capture:
            outputs = model(**combined)
        logits = outputs.logits[:, 0]
        positives, image_negatives, text_negatives = logits.split([n, against_images.numel(), against_texts.numel()])
        iais_loss = 0.0
        if self.iais_losses:
            iais_inputs = capture.iais_inputs()
            positive = torch.arange(logits.shape[0], device=logits.device) < n
            iais_loss = sum(loss_fn(**iais_inputs, positive=positive) for loss_fn in self.iais_losses.values())
        loss, rank_loss = ranking_iais_loss(
            positives,
            image_negatives.view(n, -1),
            text_negatives.view(n, -1),
            self.margin,
            iais_loss,
            self.iais_weight,
            self.iais_scale,
            images_valid,
            texts_valid,
        )
        self._loss_parts["rank_loss"].append(rank_loss.item())
        if self.iais_losses:
            self._loss_parts["iais_loss"].append(iais_loss.item())
            self._loss_parts["iais_weight"].append(self.iais_weight)
            self._loss_parts["iais_effective_weight"].append(self.iais_scale * self.iais_weight)
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        if "loss" in logs and self._loss_parts:
            logs.update({name: sum(values) / len(values) for name, values in self._loss_parts.items()})
            self._loss_parts.clear()
        super().log(logs, *args, **kwargs)

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        if "pair_labels" not in inputs:
            return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys)
        statistics = pair_statistics(self.accelerator.unwrap_model(model), inputs, self.isd_alignment)
        predictions = torch.stack([statistics["logit"], *(statistics[name] for name in PAIR_VALUES)], -1)
        return None, predictions, inputs["pair_labels"]


def pair_inputs(
    texts: dict[str, torch.Tensor], text_index: torch.Tensor, images: dict[str, torch.Tensor], image_index: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Model inputs pairing caption ``text_index[j]`` of ``texts`` with image ``image_index[j]`` of ``images`` (dicts
    of model inputs; only their text, resp. image, entries are read)."""
    combined = {key: texts[key].index_select(0, text_index) for key in TEXT_INPUTS}
    combined.update(
        {key: value.index_select(0, image_index) for key, value in images.items() if key not in TEXT_INPUTS}
    )
    return combined


def concatenate_pairs(parts: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """One batch of the pairs of ``parts``: captions right-padded (with 0, under a 0 mask) to a common length, then
    cut to the longest caption."""
    width = max(part["input_ids"].shape[1] for part in parts)
    combined = {}
    for key in parts[0]:
        values = [part[key] for part in parts]
        if key in TEXT_INPUTS:
            values = [torch.nn.functional.pad(value, (0, width - value.shape[1])) for value in values]
        combined[key] = torch.cat(values)
    length = int(combined["attention_mask"].sum(-1).max())
    for key in TEXT_INPUTS:
        combined[key] = combined[key][:, :length]
    return combined
