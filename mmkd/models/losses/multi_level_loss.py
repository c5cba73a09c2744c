"""Base of the feature losses that compare student and teacher level by level."""
from typing import List, Optional, Sequence, Tuple, Union

from torch import Tensor, nn

from .utils import (LevelWeights, check_levels, check_reduction, check_weight,
                    full_precision, resolve_reduction, weight_reduce_levels)


class MultiLevelLoss(nn.Module):
    """A loss computed per level as an unreduced tensor, then weighted and reduced with
    mmdet's conventions, the levels summed::

        loss = loss_weight * sum_l reduce(weight_l * level_loss(s_l, t_l))

    Subclasses define :meth:`level_loss` (and :meth:`align` where the levels may differ
    in shape); their docstrings give the unreduced shape that ``weight`` refers to. They
    get the levels in float32 where these come in half precision (see
    :func:`~.utils.full_precision`).

    Args:
        loss_weight: multiplier of the summed loss.
        reduction: ``'mean'`` averages each level over its unreduced elements, ``'sum'``
            adds them up; either way the levels are summed.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean'):
        super().__init__()
        self.loss_weight = loss_weight
        self.reduction = check_reduction(type(self).__name__, reduction)

    def align(self, student: Tensor, teacher: Tensor) -> Tuple[Tensor, Tensor]:
        """The pair of one level that :meth:`level_loss` compares: by default the
        features as given, which must then have the same shape."""
        return student, teacher

    def level_loss(self, student: Tensor, teacher: Tensor) -> Tensor:
        """The unreduced loss of one level."""
        raise NotImplementedError

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor],
                weight: LevelWeights = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Union[Tensor, List[Tensor]]:
        """
        Args:
            student / teacher: per-level (N, C, H, W) features.
            weight: per level, a weight broadcastable to the level's unreduced loss.
            avg_factor: divides each level's weighted sum instead of its element count
                (``'mean'`` only), i.e. the result is the weighted sum of all levels over
                ``avg_factor``.
            reduction_override: ``'none'``, ``'mean'`` or ``'sum'`` for this call.

        Returns:
            The loss, or for ``'none'`` the list of the weighted unreduced per-level
            losses (times ``loss_weight``).
        """
        name = type(self).__name__
        reduction = resolve_reduction(name, self.reduction, reduction_override)
        check_levels(name, student=student, teacher=teacher, weight=weight)
        losses = []
        for level, (s, t) in enumerate(zip(student, teacher)):
            s, t = self.align(*full_precision(s, t))
            if s.shape != t.shape:
                raise ValueError(f'{name} level {level}: student {tuple(s.shape)} and teacher '
                                 f'{tuple(t.shape)} features differ in shape.')
            loss = self.level_loss(s, t)
            if weight is not None:
                check_weight(f'{name} level {level}', weight[level], loss.shape,
                             f'a weight broadcastable to {tuple(loss.shape)}')
            losses.append(loss)
        loss = weight_reduce_levels(losses, weight, reduction, avg_factor)
        if reduction == 'none':
            return [self.loss_weight * level_loss for level_loss in loss]
        return self.loss_weight * loss
