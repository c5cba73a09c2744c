"""FGFI's imitation loss (Wang et al., "Distilling Object Detectors with Fine-grained
Feature Imitation", CVPR 2019)."""
from typing import List, Optional, Sequence, Union

import torch
from mmdet.models.losses.utils import weighted_loss
from torch import Tensor, nn

from ...registry import MODELS
from .utils import (LevelWeights, check_levels, check_reduction, check_weight,
                    full_precision, resolve_reduction, weight_reduce_levels)


@weighted_loss
def imitation_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Half the squared distance of the feature vectors at each location of one level,
    in float32 so that mixed-precision features cannot overflow the sum over channels
    (see :func:`~.utils.full_precision`): (N, C, H, W) -> (N, H, W)."""
    pred, target = full_precision(pred, target)
    return (pred - target).pow(2).sum(dim=1) / 2


@MODELS.register_module()
class ImitationLoss(nn.Module):
    """FGFI's masked feature imitation loss over all levels together::

        loss = loss_weight * sum_l sum_{(n, h, w) in mask_l} sum_c (s - t)^2 / (2 * Np)

    where ``Np`` is the number of positive locations of all levels and images (channels
    not counted). With no positive location the loss is 0 (and keeps the graph).
    Locations outside the masks are not read, so non-finite values there do not reach
    the loss.

    Args:
        loss_weight: multiplier (``lambda``; 0.01 in the paper for one 512-channel VGG map).
        reduction: ``'mean'`` divides by ``Np``, ``'sum'`` does not.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean'):
        super().__init__()
        self.loss_weight = loss_weight
        self.reduction = check_reduction('ImitationLoss', reduction)

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor],
                masks: Sequence[Tensor], weight: LevelWeights = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Union[Tensor, List[Tensor]]:
        """
        Args:
            student / teacher: per-level (N, C, H, W) tensors of equal shapes.
            masks: per-level (N, H, W) bool tensors, the imitated locations.
            weight: per level, an (N, H, W) weight of each location (read at the masked
                locations only); ``Np`` still counts the masked locations.
            avg_factor: divides the weighted sum instead of ``Np`` (``'mean'``).
            reduction_override: ``'none'``, ``'mean'`` or ``'sum'`` for this call.

        Returns:
            The loss, or for ``'none'`` the list of per-level (N, H, W) weighted
            location losses, 0 outside the masks (times ``loss_weight``).
        """
        reduction = resolve_reduction('ImitationLoss', self.reduction, reduction_override)
        check_levels('ImitationLoss', student=student, teacher=teacher, masks=masks,
                     weight=weight)
        levels = []
        for level, (s, t, m) in enumerate(zip(student, teacher, masks)):
            if s.shape != t.shape or s.shape[:1] + s.shape[2:] != m.shape:
                raise ValueError(f'ImitationLoss level {level}: student {tuple(s.shape)}, '
                                 f'teacher {tuple(t.shape)} and mask {tuple(m.shape)} do not '
                                 'match as (N, C, H, W), (N, C, H, W), (N, H, W).')
            w = None if weight is None else weight[level]
            check_weight(f'ImitationLoss level {level}', w, m.shape,
                         'a weight of each location, (N, H, W)')
            levels.append((imitation_loss(s, t, reduction='none'), m.bool(), w))
        if reduction == 'none':
            return [self.loss_weight * torch.where(m, loss if w is None else loss * w,
                                                   loss.new_zeros(()))
                    for loss, m, w in levels]
        # Index, not multiply: a non-finite value outside the mask times 0 is NaN.
        selected = [loss[m] for loss, m, _ in levels]
        weights = None if weight is None else [
            None if w is None else w.broadcast_to(m.shape)[m] for _, m, w in levels]
        if reduction == 'mean' and avg_factor is None:
            # a tensor: counting on the host would wait for the device at every level
            num_pos = sum(m.sum() for _, m, _ in levels)
            loss = weight_reduce_levels(selected, weights, 'sum', None) / num_pos.clamp(min=1)
        else:
            loss = weight_reduce_levels(selected, weights, reduction, avg_factor)
        return self.loss_weight * loss
