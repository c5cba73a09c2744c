"""MGD's loss (Yang et al., "Masked Generative Distillation", ECCV 2022)."""
from typing import List, Optional, Sequence, Union

from mmdet.models.losses.utils import weighted_loss
from torch import Tensor, nn

from ...registry import MODELS
from .utils import (LevelWeights, check_levels, check_reduction, check_weight,
                    resolve_reduction, weight_reduce_levels)


@weighted_loss
def mgd_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Squared error summed over each image of one level: (N, C, H, W) -> (N,)."""
    return (pred - target).pow(2).flatten(1).sum(dim=1)


@MODELS.register_module()
class MGDLoss(nn.Module):
    """Squared error of the generated features to the teacher's, per image, summed over
    levels::

        loss = loss_weight * sum_l sum_{c,h,w,n} (g_l - t_l)^2 / N

    where ``g_l`` is the generator's output from the masked student feature
    (:class:`MGDGenerator`). The sum, not a mean, over C*H*W is why the weights are small.

    Args:
        loss_weight: ``alpha``: 2e-5 for one-stage and 5e-7 for two-stage detectors in
            the published configs.
        reduction: ``'mean'`` averages each level's per-image sums over the N images,
            ``'sum'`` adds them up; either way the levels are summed.
    """

    def __init__(self, loss_weight: float = 2e-5, reduction: str = 'mean'):
        super().__init__()
        self.loss_weight = loss_weight
        self.reduction = check_reduction('MGDLoss', reduction)

    def forward(self, generated: Sequence[Tensor], teacher: Sequence[Tensor],
                weight: LevelWeights = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Union[Tensor, List[Tensor]]:
        """
        Args:
            generated / teacher: per-level (N, C, H, W) tensors of equal shapes.
            weight: per level, an (N,) weight of each image.
            avg_factor: divides each level's weighted sum instead of N (``'mean'``),
                i.e. the result is the weighted sum of all levels over it.
            reduction_override: ``'none'``, ``'mean'`` or ``'sum'`` for this call.

        Returns:
            The loss, or for ``'none'`` the list of per-level (N,) weighted per-image
            sums (times ``loss_weight``).
        """
        reduction = resolve_reduction('MGDLoss', self.reduction, reduction_override)
        check_levels('MGDLoss', generated=generated, teacher=teacher, weight=weight)
        losses = []
        for level, (g, t) in enumerate(zip(generated, teacher)):
            if g.shape != t.shape:
                raise ValueError(f'MGDLoss: generated {tuple(g.shape)} and teacher '
                                 f'{tuple(t.shape)} features differ in shape.')
            loss = mgd_loss(g, t, reduction='none')
            if weight is not None:
                check_weight(f'MGDLoss level {level}', weight[level], loss.shape,
                             'one weight per image, (N,)')
            losses.append(loss)
        loss = weight_reduce_levels(losses, weight, reduction, avg_factor)
        if reduction == 'none':
            return [self.loss_weight * level_loss for level_loss in loss]
        return self.loss_weight * loss
