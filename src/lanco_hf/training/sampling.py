"""Length-grouped batches that ``--resume`` reproduces in every epoch.

transformers' ``LengthGroupedSampler`` shuffles with the global RNG when an epoch's iterator is created. A run
resumed in epoch e > 0 creates it from the restored checkpoint's RNG state, not from the state an uninterrupted run
had at the start of epoch e, so it trains on other batches. Here each epoch's order is drawn from its own generator
seeded with (seed, epoch), which the Trainer sets through ``set_epoch`` before every epoch."""

from __future__ import annotations

import torch
from transformers.trainer_pt_utils import LengthGroupedSampler


class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
    def __init__(self, batch_size: int, lengths: list[int], seed: int):
        super().__init__(batch_size, lengths=lengths)
        self.seed = seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.generator = torch.Generator().manual_seed(self.seed + epoch)


class ResumableLengthGroupingMixin:
    """Put before a ``Trainer`` class: ``train_sampling_strategy="group_by_length"`` then draws each epoch's order
    from (``data_seed`` or ``seed``, epoch)."""

    def _get_train_sampler(self, train_dataset=None):
        sampler = super()._get_train_sampler(train_dataset)
        if type(sampler) is LengthGroupedSampler:
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return EpochSeededLengthGroupedSampler(sampler.batch_size, sampler.lengths, seed)
        return sampler
