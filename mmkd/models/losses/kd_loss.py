"""Hinton et al. (2015) knowledge-distillation loss on class logits."""
from typing import Callable, Optional

import torch.nn.functional as F
from mmdet.models.losses.utils import weighted_loss
from torch import Tensor, nn

from ...registry import MODELS
from .utils import check_reduction, check_weight, full_precision, resolve_reduction


@weighted_loss
def kd_loss(pred: Tensor, target: Tensor, temperature: float = 1.0) -> Tensor:
    """``T^2 * KL(softmax(target / T) || softmax(pred / T))`` of each row.

    Args:
        pred: (N, C) student logits.
        target: (N, C) teacher logits, detached here: the teacher is the target.
        temperature: ``T`` (> 0), dividing both sides' logits.

    Returns:
        (N,) per-row losses (``weighted_loss`` adds ``weight``, ``reduction``,
        ``avg_factor``).
    """
    log_p_student = F.log_softmax(pred / temperature, dim=1)
    log_p_teacher = F.log_softmax(target.detach() / temperature, dim=1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1)
    return kl * (temperature * temperature)


class LogitKDLoss(nn.Module):
    """A distillation loss on the logits of the same ``N`` rows (RoIs or priors) of student
    and teacher, at a temperature ``T``: :attr:`row_loss` (a ``weighted_loss`` function
    giving (N,) per-row values) times ``loss_weight``, with mmdet's ``weight``,
    ``avg_factor`` and ``reduction_override`` at call time.

    Args:
        temperature: ``T`` (> 0), dividing both sides' logits.
        loss_weight: multiplier of the loss.
        reduction: ``'mean'`` averages the per-row values over the rows, ``'sum'`` adds
            them up.
    """

    row_loss: Callable[..., Tensor]
    rows = 'rows'  # what the rows are, for the error messages

    def __init__(self, temperature: float = 1.0, loss_weight: float = 1.0,
                 reduction: str = 'mean'):
        super().__init__()
        name = type(self).__name__
        if not temperature > 0:
            raise ValueError(f'{name} temperature must be > 0, got {temperature!r}')
        self.temperature = float(temperature)
        self.loss_weight = loss_weight
        self.reduction = check_reduction(name, reduction)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor,
                weight: Optional[Tensor] = None, avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """
        Args:
            student_logits / teacher_logits: (N, num_classes) logits of the same N rows.
            weight: (N,) weight of each row.
            avg_factor: divides the weighted sum of the rows instead of N (``'mean'``).
            reduction_override: ``'none'``, ``'mean'`` or ``'sum'`` for this call.

        Returns:
            The reduced loss, or the (N,) per-row losses for ``'none'``.
        """
        name = type(self).__name__
        reduction = resolve_reduction(name, self.reduction, reduction_override)
        if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
            raise ValueError(
                f'{name} needs (N, C) student and teacher logits of the same shape, got '
                f'{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}: '
                f'teacher and student must score the same {self.rows} with the same classes.')
        check_weight(name, weight, student_logits.shape[:1], 'one weight per row, (N,)')
        if student_logits.shape[0] == 0 and reduction != 'none':
            return student_logits.float().sum() * 0.  # no row: zero, not NaN, in the graph
        # float32: the temperature's division, the softmax / sigmoid and the log lose
        # too much in half precision (see full_precision)
        student_logits, teacher_logits = full_precision(student_logits, teacher_logits)
        return self.loss_weight * self.row_loss(
            student_logits, teacher_logits, weight, reduction=reduction,
            avg_factor=avg_factor, temperature=self.temperature)


@MODELS.register_module()
class KDLoss(LogitKDLoss):
    """``loss_weight * T^2 * KL(softmax(t / T) || softmax(s / T))`` per row, averaged.

    The teacher's distribution is the target: its logits are detached. The ``T^2``
    factor keeps the gradient's magnitude independent of the temperature (Hinton et
    al., 2015), so ``loss_weight`` means the same thing for every ``temperature``.
    For detection the rows are RoIs, the background column included (see
    :class:`LogitKDLoss` for the arguments).
    """

    row_loss = staticmethod(kd_loss)
