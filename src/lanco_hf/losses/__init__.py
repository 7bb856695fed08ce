"""Losses of the lanco methods: small documented ``nn.Module`` classes with their citation and a ``to_dict()``
for the model card."""

from .encouraging import EncouragingLoss, effective_number_weights
from .renode import ReNodeLoss, renode_weights

__all__ = ["EncouragingLoss", "ReNodeLoss", "effective_number_weights", "renode_weights"]
