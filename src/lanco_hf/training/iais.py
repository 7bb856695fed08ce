"""Trainer glue for image-text retrieval with the IAIS regulariser on transformers' ViLT ("Learning Relation Alignment for Calibrated Cross-modal Retrieval" (Ren et al., ACL 2021), Sec. 3).

``IAISTrainer`` is a ``Trainer`` whose training batches are matched (caption, image) pairs
(``lanco_hf.data.pairs.ImageTextPairs``). For a batch of ``n`` pairs it

1. scores all ``n x n`` combinations without gradient (eval mode) and picks, for every caption, the ``k`` hardest
   non-matching images and, for every image, the ``k`` hardest non-matching captions (captions equal to the anchor's
   own count as matches, not negatives);
2. runs the ``n`` positives and ``2 n k`` negatives with gradient, capturing the last layer's query/key states with
   ``ViltQueryKeyCapture`` (forward hooks, no copy of ViLT's code);
3. returns ``L_rank(text anchors) + L_rank(image anchors) + lambda(t) * (IAIS_L + IAIS_V)``, where ``L_rank`` is the hinge
   ranking loss on sigmoid scores with margin 0.2 and the IAIS terms are computed on the positive pairs only.

This is the official alternation (V-mode on batches of one image with hard-negative texts, L-mode on batches of one
text with hard-negative images, both accumulated into one update) with in-batch hard negatives instead of 399
sampled candidates. ``lambda(t) = exp(5 (t/T - 1))`` is set by ``IAISWeightCallback`` at every step.

For evaluation on an ``ImageTextGrid`` it returns, per pair, the matching logit and the ISD, so that
``compute_metrics=retrieval_compute_metrics`` reports recall@1/5/10 in both directions and the mean ISD.
"""

from __future__ import annotations

import math
from collections import defaultdict
from contextlib import nullcontext

import torch
from transformers import Trainer, TrainerCallback

from ..data.pairs import collate_pairs
from ..evaluation.retrieval import MODEL_INPUTS, score_pairs
from ..losses.capture import ViltQueryKeyCapture
from ..losses.iais import ALIGNMENTS, IAISLoss
from ..losses.ranking import hardest_negatives, hinge_ranking_loss
from ..modeling.validation import check_choice, check_float, check_int

SCHEDULES = ("exp", "constant")
PAIR_COLUMNS = ("caption_id", "pair_labels")


def exp_schedule(step: int, total_steps: int, scale: float = 5.0) -> float:
    """The "exp" training-signal annealing of the official code: ``exp(scale * (step / total_steps - 1))``, rising
    from ``exp(-scale)`` (0.0067 for 5) at step 0 to 1 at the last step."""
    if total_steps < 1:
        raise ValueError(f"total_steps={total_steps} is out of range; allowed: >= 1")
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


class IAISTrainer(Trainer):
    """A ``Trainer`` for single-stream retrieval with hard negatives and the IAIS regulariser (see the module doc).

    Args (besides ``Trainer``'s):
        iais_alignment: ``"singular"``, ``"distributed"``, or ``None`` for the baseline without IAIS.
        num_hard_negatives: ``k`` hardest in-batch negatives per anchor and direction (< the batch size). From
            scratch, ``k`` = batch size - 1 (all in-batch negatives): with a few hardest ones a small ViLT collapsed
            to scores that do not depend on the pair (ranking loss stuck at 2 x margin).
        margin: of the hinge ranking loss.
        iais_schedule: ``"exp"`` (lambda(t) = exp(5 (t/T - 1)), official) or ``"constant"`` (lambda = 1).
        isd_alignment: the alignment of the ISD reported by evaluation.
    """

    loss_is_scaled_for_ga = False  # compute_loss returns a per-batch mean; training_step divides by the GA steps

    def __init__(
        self,
        *args,
        iais_alignment: str | None = "singular",
        num_hard_negatives: int = 3,
        margin: float = 0.2,
        iais_schedule: str = "exp",
        isd_alignment: str = "singular",
        **kwargs,
    ):
        if iais_alignment is not None:
            check_choice("iais_alignment", iais_alignment, ALIGNMENTS)
        check_int("num_hard_negatives", num_hard_negatives, 1)
        check_float("margin", margin, 0.0)
        check_choice("iais_schedule", iais_schedule, SCHEDULES)
        check_choice("isd_alignment", isd_alignment, ALIGNMENTS)
        kwargs.setdefault("data_collator", collate_pairs)
        super().__init__(*args, **kwargs)
        if num_hard_negatives >= self.args.per_device_train_batch_size:
            raise ValueError(
                f"num_hard_negatives={num_hard_negatives} is out of range; allowed: < per_device_train_batch_size="
                f"{self.args.per_device_train_batch_size} (negatives are mined in the batch)"
            )
        self.num_hard_negatives = num_hard_negatives
        self.margin = margin
        self.isd_alignment = isd_alignment
        self.iais_losses = {mode: IAISLoss(iais_alignment, mode) for mode in ("L", "V")} if iais_alignment else {}
        self.iais_weight = 1.0
        if self.iais_losses and iais_schedule == "exp":
            self.add_callback(IAISWeightCallback(self))
        self._loss_parts: dict[str, list[float]] = defaultdict(list)

    def _set_signature_columns_if_needed(self) -> None:
        """Keep the pair columns (``caption_id``, ``pair_labels``) when ``remove_unused_columns`` drops the inputs
        ViLT's ``forward`` does not take."""
        super()._set_signature_columns_if_needed()
        self._signature_columns += [name for name in PAIR_COLUMNS if name not in self._signature_columns]

    @torch.no_grad()
    def _score_all_combinations(self, model, batch: dict[str, torch.Tensor], chunk: int = 1024) -> torch.Tensor:
        """``scores[t, i]``: the logit of caption ``t`` with image ``i``, for all pairs of the batch, in eval mode."""
        n = batch["input_ids"].shape[0]
        text_index = torch.arange(n, device=batch["input_ids"].device).repeat_interleave(n)
        image_index = torch.arange(n, device=batch["input_ids"].device).repeat(n)
        was_training = model.training
        model.eval()
        logits = [
            model(**_combine(batch, text_index[start : start + chunk], image_index[start : start + chunk])).logits[:, 0]
            for start in range(0, n * n, chunk)
        ]
        model.train(was_training)
        return torch.cat(logits).view(n, n)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        groups = inputs["caption_id"]
        batch = {key: inputs[key] for key in MODEL_INPUTS if key in inputs}
        n, k = groups.shape[0], self.num_hard_negatives
        relevant = groups[:, None] == groups[None, :]
        scores = self._score_all_combinations(model, batch)
        negative_images, images_valid = hardest_negatives(scores, relevant, min(k, n))
        negative_texts, texts_valid = hardest_negatives(scores.T, relevant.T, min(k, n))
        anchors = torch.arange(n, device=groups.device)
        repeated = anchors.repeat_interleave(negative_images.shape[1])
        text_index = torch.cat([anchors, repeated, negative_texts.flatten()])
        image_index = torch.cat([anchors, negative_images.flatten(), repeated])

        capture = ViltQueryKeyCapture(self.accelerator.unwrap_model(model)) if self.iais_losses else nullcontext()
        with capture:
            outputs = model(**_combine(batch, text_index, image_index))
        logits = outputs.logits[:, 0]
        positives, against_images, against_texts = logits.split([n, repeated.numel(), repeated.numel()])
        rank_loss = hinge_ranking_loss(positives, against_images.view(n, -1), self.margin, images_valid) + hinge_ranking_loss(
            positives, against_texts.view(n, -1), self.margin, texts_valid
        )
        loss = rank_loss
        self._loss_parts["rank_loss"].append(rank_loss.item())
        if self.iais_losses:
            iais_inputs = capture.iais_inputs()
            positive = torch.arange(logits.shape[0], device=logits.device) < n
            iais_loss = sum(loss_fn(**iais_inputs, positive=positive) for loss_fn in self.iais_losses.values())
            loss = rank_loss + self.iais_weight * iais_loss
            self._loss_parts["iais_loss"].append(iais_loss.item())
            self._loss_parts["iais_weight"].append(self.iais_weight)
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        if "loss" in logs and self._loss_parts:
            logs.update({name: sum(values) / len(values) for name, values in self._loss_parts.items()})
            self._loss_parts.clear()
        super().log(logs, *args, **kwargs)

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        if "pair_labels" not in inputs:
            return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys)
        logits, distances = score_pairs(self.accelerator.unwrap_model(model), inputs, self.isd_alignment)
        return None, torch.stack([logits, distances], -1), inputs["pair_labels"]


def _combine(batch: dict[str, torch.Tensor], text_index: torch.Tensor, image_index: torch.Tensor) -> dict[str, torch.Tensor]:
    """Model inputs pairing caption ``text_index[j]`` with image ``image_index[j]``."""
    combined = {}
    for key, value in batch.items():
        combined[key] = value.index_select(0, text_index if key in ("input_ids", "attention_mask") else image_index)
    return combined
