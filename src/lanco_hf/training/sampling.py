"""Length-grouped batches that ``--resume`` reproduces in every epoch, in transformers' order or shuffled.

transformers' ``LengthGroupedSampler`` shuffles with the global RNG when an epoch's iterator is created. A run
resumed in epoch e > 0 creates it from the restored checkpoint's RNG state, not from the state an uninterrupted run
had at the start of epoch e, so it trains on other batches. Here each epoch's order is drawn from its own generator
seeded with (seed, epoch), which the Trainer sets through ``set_epoch`` before every epoch.

transformers sorts each megabatch of (up to) 50 batches by length and yields its batches from the longest to the
shortest, so training sweeps from long to short verses every 50 steps. ``batch_order="shuffled"`` keeps the same
batches (similar lengths, little padding) and draws them in random order, as fairseq's length-bucketed batches are."""

from __future__ import annotations

import torch
from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices

BATCH_ORDERS = ("descending", "shuffled")


class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
    def __init__(self, batch_size: int, lengths: list[int], seed: int, batch_order: str = "descending"):
        super().__init__(batch_size, lengths=lengths)
        self.seed = seed
        self.batch_order = batch_order
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.generator = torch.Generator().manual_seed(self.seed + epoch)

    def __iter__(self):
        indices = get_length_grouped_indices(self.lengths, self.batch_size, generator=self.generator)
        if self.batch_order == "descending":
            return iter(indices)
        batches = [indices[i : i + self.batch_size] for i in range(0, len(indices), self.batch_size)]
        full = [batch for batch in batches if len(batch) == self.batch_size]
        partial = [i for batch in batches if len(batch) < self.batch_size for i in batch]
        order = torch.randperm(len(full), generator=self.generator).tolist()
        # the partial batch stays last, so the DataLoader's batches are these batches
        return iter([i for position in order for i in full[position]] + partial)


class ResumableLengthGroupingMixin:
    """Put before a ``Trainer`` class: ``train_sampling_strategy="group_by_length"`` then draws each epoch's order
    from (``data_seed`` or ``seed``, epoch), its batches in ``batch_order`` (a keyword of the Trainer)."""

    def __init__(self, *args, batch_order: str = "descending", **kwargs):
        self.batch_order = batch_order
        super().__init__(*args, **kwargs)

    def _get_train_sampler(self, train_dataset=None):
        sampler = super()._get_train_sampler(train_dataset)
        if type(sampler) is LengthGroupedSampler:
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return EpochSeededLengthGroupedSampler(sampler.batch_size, sampler.lengths, seed, self.batch_order)
        return sampler
