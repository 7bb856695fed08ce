"""Length-grouped batches: transformers' order by default, the same batches in random order with
``length_grouped_batch_order="shuffled"``; every epoch's order follows from (seed, epoch) alone."""

import random

import torch
from transformers.trainer_pt_utils import LengthGroupedSampler

from lanco_hf.training.sampling import EpochSeededLengthGroupedSampler

BATCH = 8
LENGTHS = [random.Random(i).randint(1, 60) for i in range(8 * 120 + 5)]  # 120 full batches and a partial one


def batches(indices):
    return [indices[i : i + BATCH] for i in range(0, len(indices), BATCH)]


def epoch(sampler, number):
    sampler.set_epoch(number)
    return list(sampler)


def test_descending_is_transformers_order_for_the_epoch_seed():
    ours = EpochSeededLengthGroupedSampler(BATCH, LENGTHS, seed=3)
    theirs = LengthGroupedSampler(BATCH, lengths=LENGTHS, generator=torch.Generator().manual_seed(3 + 1))
    assert epoch(ours, 1) == list(theirs)


def test_shuffled_draws_the_same_batches_in_another_order():
    descending = EpochSeededLengthGroupedSampler(BATCH, LENGTHS, seed=3)
    shuffled = EpochSeededLengthGroupedSampler(BATCH, LENGTHS, seed=3, batch_order="shuffled")
    for number in (0, 1):
        reference, drawn = batches(epoch(descending, number)), batches(epoch(shuffled, number))
        # the DataLoader cuts the same batches (sets of indices), the partial one last
        assert sorted(map(sorted, drawn)) == sorted(map(sorted, reference))
        assert len(drawn[-1]) == len(LENGTHS) % BATCH and drawn[-1] == reference[-1]
        assert drawn != reference
        # transformers' order sweeps each megabatch from long to short; shuffled batches do not
        means = [sum(LENGTHS[i] for i in batch) / BATCH for batch in drawn[:30]]  # 30 batches: one megabatch here
        assert means != sorted(means, reverse=True)
        reference_means = [sum(LENGTHS[i] for i in batch) / BATCH for batch in reference[1:30]]
        assert reference_means == sorted(reference_means, reverse=True)  # (its first batch is the longest one)


def test_shuffled_order_follows_seed_and_epoch_alone():
    first = EpochSeededLengthGroupedSampler(BATCH, LENGTHS, seed=3, batch_order="shuffled")
    second = EpochSeededLengthGroupedSampler(BATCH, LENGTHS, seed=3, batch_order="shuffled")
    torch.manual_seed(123)  # the global RNG (what a resumed run restores) plays no part
    assert epoch(first, 2) == epoch(second, 2)
    assert epoch(first, 1) != epoch(first, 2)
