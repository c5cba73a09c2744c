"""CWD's loss (Shu et al., "Channel-wise Knowledge Distillation for Dense Prediction",
ICCV 2021)."""
from typing import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import MODELS


@MODELS.register_module()
class ChannelWiseDivergenceLoss(nn.Module):
    """KL divergence between the spatial distributions of each channel, summed over levels.

    Each channel of each image becomes a distribution over its ``H*W`` positions,
    ``p = softmax_hw(x / tau)``; per level::

        loss_l = tau^2 * sum_{n,c} KL(p_t[n, c] || p_s[n, c]) / (N * C)

    and ``loss = loss_weight * sum_l loss_l``. The student is pushed hardest where the
    teacher's channel is most active (the KL is weighted by ``p_t``).

    Args:
        tau: softmax temperature (1 in the published configs).
        loss_weight: multiplier of the summed loss (10 on FPN levels in MMRazor's configs).
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0):
        super().__init__()
        if tau <= 0:
            raise ValueError(f'ChannelWiseDivergenceLoss: tau must be > 0, got {tau}.')
        self.tau = tau
        self.loss_weight = loss_weight

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor]) -> Tensor:
        """student / teacher: per-level (N, C, H, W) tensors of equal shapes."""
        total = 0.
        for s, t in zip(student, teacher):
            if s.shape != t.shape:
                raise ValueError(f'ChannelWiseDivergenceLoss: student {tuple(s.shape)} and '
                                 f'teacher {tuple(t.shape)} features differ in shape.')
            log_p_s = F.log_softmax(s.flatten(2) / self.tau, dim=2)  # (N, C, H*W)
            log_p_t = F.log_softmax(t.flatten(2) / self.tau, dim=2)
            kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum()
            total = total + self.tau**2 * kl / (s.shape[0] * s.shape[1])
        return self.loss_weight * total
