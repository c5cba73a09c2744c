"""CWD's loss (Shu et al., "Channel-wise Knowledge Distillation for Dense Prediction",
ICCV 2021)."""
from typing import List, Optional, Sequence, Union

import torch.nn.functional as F
from mmdet.models.losses.utils import weighted_loss
from torch import Tensor, nn

from ...registry import MODELS
from .utils import (LevelWeights, check_levels, check_reduction, check_weight,
                    resolve_reduction, weight_reduce_levels)


@weighted_loss
def channel_wise_divergence(pred: Tensor, target: Tensor, tau: float = 1.0) -> Tensor:
    """``tau^2 * KL(p_t || p_s)`` of each channel of each image of one level, where
    ``p = softmax_hw(x / tau)``: (N, C, H, W) -> (N, C)."""
    log_p_s = F.log_softmax(pred.flatten(2) / tau, dim=2)  # (N, C, H*W)
    log_p_t = F.log_softmax(target.flatten(2) / tau, dim=2)
    return (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=2) * tau**2


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
        reduction: ``'mean'`` averages each level over its N*C channel distributions,
            ``'sum'`` adds them up; either way the levels are summed.
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0, reduction: str = 'mean'):
        super().__init__()
        if tau <= 0:
            raise ValueError(f'ChannelWiseDivergenceLoss: tau must be > 0, got {tau}.')
        self.tau = tau
        self.loss_weight = loss_weight
        self.reduction = check_reduction('ChannelWiseDivergenceLoss', reduction)

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor],
                weight: LevelWeights = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Union[Tensor, List[Tensor]]:
        """
        Args:
            student / teacher: per-level (N, C, H, W) tensors of equal shapes.
            weight: per level, a weight of each channel distribution, broadcastable to
                (N, C).
            avg_factor: divides each level's weighted sum instead of N*C (``'mean'``),
                i.e. the result is the weighted sum of all levels over it.
            reduction_override: ``'none'``, ``'mean'`` or ``'sum'`` for this call.

        Returns:
            The loss, or for ``'none'`` the list of per-level (N, C) weighted divergences
            (times ``loss_weight``).
        """
        owner = 'ChannelWiseDivergenceLoss'
        reduction = resolve_reduction(owner, self.reduction, reduction_override)
        check_levels(owner, student=student, teacher=teacher, weight=weight)
        losses = []
        for level, (s, t) in enumerate(zip(student, teacher)):
            if s.shape != t.shape:
                raise ValueError(f'{owner}: student {tuple(s.shape)} and teacher '
                                 f'{tuple(t.shape)} features differ in shape.')
            loss = channel_wise_divergence(s, t, reduction='none', tau=self.tau)
            if weight is not None:
                check_weight(f'{owner} level {level}', weight[level], loss.shape,
                             'a weight broadcastable to (N, C)')
            losses.append(loss)
        loss = weight_reduce_levels(losses, weight, reduction, avg_factor)
        if reduction == 'none':
            return [self.loss_weight * level_loss for level_loss in loss]
        return self.loss_weight * loss
