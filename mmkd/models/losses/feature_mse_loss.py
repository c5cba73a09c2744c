"""FitNet's hint loss (Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015)."""
from typing import List, Optional, Sequence, Union

import torch.nn.functional as F
from mmdet.models.losses.utils import weighted_loss
from torch import Tensor, nn

from ...registry import MODELS
from .utils import (LevelWeights, check_levels, check_reduction, check_weight,
                    resolve_reduction, weight_reduce_levels)


@weighted_loss
def feature_mse_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Squared error of each element of one level: (N, C, H, W) -> (N, C, H, W)."""
    return F.mse_loss(pred, target, reduction='none')


@MODELS.register_module()
class FeatureMSELoss(nn.Module):
    """Mean squared error per level, summed over levels::

        loss = loss_weight * sum_l mean((s_l - t_l)^2)

    Args:
        loss_weight: multiplier of the summed loss.
        reduction: ``'mean'`` averages each level over its elements, ``'sum'`` adds them
            up; either way the levels are summed.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean'):
        super().__init__()
        self.loss_weight = loss_weight
        self.reduction = check_reduction('FeatureMSELoss', reduction)

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor],
                weight: LevelWeights = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Union[Tensor, List[Tensor]]:
        """
        Args:
            student / teacher: per-level (N, C, H, W) tensors of equal shapes.
            weight: per level, a weight of each element, broadcastable to (N, C, H, W)
                (e.g. an (N, 1, H, W) spatial mask).
            avg_factor: divides each level's weighted sum instead of its element count
                (``'mean'``), i.e. the result is the weighted sum of all levels over it.
            reduction_override: ``'none'``, ``'mean'`` or ``'sum'`` for this call.

        Returns:
            The loss, or for ``'none'`` the list of per-level (N, C, H, W) weighted
            squared errors (times ``loss_weight``).
        """
        reduction = resolve_reduction('FeatureMSELoss', self.reduction, reduction_override)
        check_levels('FeatureMSELoss', student=student, teacher=teacher, weight=weight)
        losses = []
        for level, (s, t) in enumerate(zip(student, teacher)):
            if s.shape != t.shape:
                raise ValueError(f'FeatureMSELoss level {level}: student {tuple(s.shape)} and '
                                 f'teacher {tuple(t.shape)} features differ in shape.')
            loss = feature_mse_loss(s, t, reduction='none')
            if weight is not None:
                check_weight(f'FeatureMSELoss level {level}', weight[level], loss.shape,
                             'a weight broadcastable to (N, C, H, W)')
            losses.append(loss)
        loss = weight_reduce_levels(losses, weight, reduction, avg_factor)
        if reduction == 'none':
            return [self.loss_weight * level_loss for level_loss in loss]
        return self.loss_weight * loss
