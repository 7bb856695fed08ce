"""Normalisation layers of "Understanding and Improving Layer Normalization" (Xu et al., NeurIPS 2019).

All three variants follow the official code (``lancopku/AdaNorm``, ``fairseq/modules/layer_norm.py``):
the statistics are the mean and the *unbiased* standard deviation over the last dimension, and
``eps`` is added to sigma, not to the variance: ``y = (x - mu) / (sigma + eps)``.

- ``LayerNormSimple``: ``z = y`` (no gain, no bias).
- ``DetachNorm``: ``z = (x - sg(mu)) / sg(sigma)``; ``detach_mean`` / ``detach_std`` pick which one.
- ``AdaNorm``: ``z = C * y * (1 - sg(k * y))``, i.e. ``phi(y) = C (1 - k y)`` with phi detached.

``swap_norms(model, norm_type)`` replaces every ``nn.LayerNorm`` of any PyTorch / transformers model.
"""

from __future__ import annotations

import torch
from torch import nn

NORM_TYPES = ("layernorm", "layernorm_simple", "adanorm", "detachnorm")


def _standardize(x: torch.Tensor, eps: float, detach_mean: bool = False, detach_std: bool = False) -> torch.Tensor:
    mean = x.mean(dim=-1, keepdim=True)
    std = x.std(dim=-1, keepdim=True)
    if detach_mean:
        mean = mean.detach()
    if detach_std:
        std = std.detach()
    return (x - mean) / (std + eps)


class LayerNormSimple(nn.Module):
    """LayerNorm without gain and bias: ``(x - mu) / (sigma + eps)`` with the unbiased std."""

    def __init__(self, normalized_shape: int, eps: float = 1e-5):
        super().__init__()
        self.normalized_shape = normalized_shape
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _standardize(x, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"


class DetachNorm(LayerNormSimple):
    """LayerNorm-simple whose mean and/or std are treated as constants in the backward pass."""

    def __init__(self, normalized_shape: int, eps: float = 1e-5, detach_mean: bool = True, detach_std: bool = True):
        super().__init__(normalized_shape, eps)
        self.detach_mean = detach_mean
        self.detach_std = detach_std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _standardize(x, self.eps, self.detach_mean, self.detach_std)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, detach_mean={self.detach_mean}, detach_std={self.detach_std}"


class AdaNorm(LayerNormSimple):
    """Adaptive normalisation ``z = C * y * (1 - sg(k * y))`` with ``y`` the LayerNorm-simple output.

    Defaults ``C = 2`` (the repository's ``adanorm_scale``) and ``k = 0.1``. ``phi`` stays positive only
    while ``|y| < 1/k``, which is guaranteed for hidden sizes up to ``1/k**2 + 1``.
    """

    def __init__(self, normalized_shape: int, eps: float = 1e-5, scale: float = 2.0, k: float = 0.1):
        super().__init__(normalized_shape, eps)
        self.scale = scale
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = _standardize(x, self.eps)
        return self.scale * y * (1.0 - (self.k * y).detach())

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, scale={self.scale}, k={self.k}"


def build_norm(
    norm_type: str, dim: int, eps: float = 1e-5, adanorm_scale: float = 2.0, adanorm_k: float = 0.1
) -> nn.Module:
    """The normalisation layer named by ``norm_type`` (one of ``NORM_TYPES``)."""
    if norm_type == "layernorm":
        return nn.LayerNorm(dim, eps=eps)
    if norm_type == "layernorm_simple":
        return LayerNormSimple(dim, eps=eps)
    if norm_type == "adanorm":
        return AdaNorm(dim, eps=eps, scale=adanorm_scale, k=adanorm_k)
    if norm_type == "detachnorm":
        return DetachNorm(dim, eps=eps)
    raise ValueError(f"norm_type={norm_type!r} is not supported; allowed values: {', '.join(NORM_TYPES)}")


def swap_norms(model: nn.Module, norm_type: str, **norm_kwargs) -> nn.Module:
    """Replace every ``nn.LayerNorm`` inside ``model`` (in place) by ``norm_type`` and return ``model``.

    Works on any PyTorch or transformers model. The replaced layers keep their ``eps``; their gain and
    bias are discarded, as in the paper (these norms are meant for training from scratch). Returns the
    model so that ``model = swap_norms(AutoModel.from_config(cfg), "adanorm")`` reads naturally.
    """
    if norm_type not in NORM_TYPES:
        raise ValueError(f"norm_type={norm_type!r} is not supported; allowed values: {', '.join(NORM_TYPES)}")
    targets = [(name, module) for name, module in model.named_modules() if name and isinstance(module, nn.LayerNorm)]
    for name, module in targets:
        if len(module.normalized_shape) != 1:
            raise ValueError(
                f"swap_norms supports LayerNorms over one dimension; {name} normalises {module.normalized_shape}"
            )
        new = build_norm(norm_type, module.normalized_shape[0], eps=module.eps, **norm_kwargs)
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, new.to(device=_device_of(module)))
    return model


def _device_of(module: nn.Module) -> torch.device:
    param = next(module.parameters(), None)
    return param.device if param is not None else torch.device("cpu")
