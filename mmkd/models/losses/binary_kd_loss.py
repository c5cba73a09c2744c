"""Knowledge distillation for sigmoid classifiers (one binary classifier per class)."""
from typing import Optional

import torch.nn.functional as F
from mmdet.models.losses.utils import weighted_loss
from torch import Tensor, nn

from ...registry import MODELS
from .utils import check_reduction, check_weight, resolve_reduction


@weighted_loss
def binary_kd_loss(pred: Tensor, target: Tensor, temperature: float = 1.0) -> Tensor:
    """``T^2 * sum_c BCE(sigmoid(pred / T), sigmoid(target / T))`` of each row.

    Args:
        pred: (N, C) student logits.
        target: (N, C) teacher logits, detached here: the teacher is the target.
        temperature: ``T`` (> 0), dividing both sides' logits.

    Returns:
        (N,) per-row losses, summed over the classes (``weighted_loss`` adds ``weight``,
        ``reduction``, ``avg_factor``).
    """
    soft_target = (target.detach() / temperature).sigmoid()
    bce = F.binary_cross_entropy_with_logits(pred / temperature, soft_target,
                                             reduction='none').sum(dim=1)
    return bce * (temperature * temperature)


@MODELS.register_module()
class BinaryKDLoss(nn.Module):
    """``loss_weight * T^2 * BCE(sigmoid(s / T), sigmoid(t / T))``, summed over the
    classes of a row and averaged over the rows.

    The counterpart of :class:`KDLoss` for the sigmoid classifiers of dense heads
    (RetinaNet, ATSS, GFL, FCOS, RTMDet), whose classes are independent binary
    problems: each student probability is trained towards the teacher's, with
    ``sigmoid(t / T)`` (teacher detached) as soft target. Its minimum, reached when the
    two agree, is the binary entropy of the teacher's probabilities, not 0. ``T^2``
    keeps the gradient's magnitude independent of the temperature, as in :class:`KDLoss`.

    Args:
        temperature: ``T`` (> 0), dividing both sides' logits.
        loss_weight: multiplier of the loss.
        reduction: ``'mean'`` averages the per-row sums over the rows (priors),
            ``'sum'`` adds them up.
    """

    def __init__(self, temperature: float = 1.0, loss_weight: float = 1.0,
                 reduction: str = 'mean'):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f'BinaryKDLoss temperature must be > 0, got {temperature!r}')
        self.temperature = float(temperature)
        self.loss_weight = loss_weight
        self.reduction = check_reduction('BinaryKDLoss', reduction)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor,
                weight: Optional[Tensor] = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """
        Args:
            student_logits / teacher_logits: (N, num_classes) logits of the same N rows
                (for a dense head: the same priors).
            weight: (N,) weight of each row (prior), e.g. a dense head's label weights.
            avg_factor: divides the weighted sum of the rows instead of N (``'mean'``).
            reduction_override: ``'none'``, ``'mean'`` or ``'sum'`` for this call.

        Returns:
            The reduced loss, or the (N,) per-row losses for ``'none'``.
        """
        reduction = resolve_reduction('BinaryKDLoss', self.reduction, reduction_override)
        if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
            raise ValueError(
                'BinaryKDLoss needs (N, C) student and teacher logits of the same shape, got '
                f'{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}: '
                'teacher and student must score the same priors with the same classes.')
        check_weight('BinaryKDLoss', weight, student_logits.shape[:1],
                     'one weight per row, (N,)')
        if student_logits.shape[0] == 0 and reduction != 'none':
            return student_logits.sum() * 0.  # no prior: zero, not NaN, still in the graph
        return self.loss_weight * binary_kd_loss(
            student_logits, teacher_logits, weight, reduction=reduction,
            avg_factor=avg_factor, temperature=self.temperature)
