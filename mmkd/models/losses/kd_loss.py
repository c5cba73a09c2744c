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


class RowKDLoss(nn.Module):
    """A distillation loss on ``N`` aligned rows of student and teacher outputs (logits of
    the same RoIs or priors, boxes, box-edge distributions): ``loss_weight`` times
    :meth:`reduced_loss` of the rows, with mmdet's ``weight`` (one per row),
    ``avg_factor`` and ``reduction_override`` at call time. Subclasses implement
    :meth:`reduced_loss` and may extend :meth:`check_rows`.

    Args:
        loss_weight: multiplier of the loss.
        reduction: ``'mean'`` averages the per-row values over the rows, ``'sum'`` adds
            them up.
    """

    rows = 'rows'  # what the rows are, for the error messages

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean'):
        super().__init__()
        self.loss_weight = loss_weight
        self.reduction = check_reduction(type(self).__name__, reduction)

    def reduced_loss(self, student: Tensor, teacher: Tensor, weight: Optional[Tensor],
                     reduction: str, avg_factor: Optional[float]) -> Tensor:
        """The rows' loss (a ``weighted_loss`` function's result), before ``loss_weight``."""
        raise NotImplementedError

    def check_rows(self, student: Tensor, teacher: Tensor) -> None:
        if student.shape != teacher.shape or student.dim() != 2:
            raise ValueError(f'{type(self).__name__} needs (N, K) student and teacher '
                             f'{self.rows} of the same shape, got {tuple(student.shape)} and '
                             f'{tuple(teacher.shape)}.')

    def forward(self, student: Tensor, teacher: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """
        Args:
            student / teacher: (N, K) rows (see the class).
            weight: (N,) weight of each row.
            avg_factor: divides the weighted sum of the rows instead of N (``'mean'``).
            reduction_override: ``'none'``, ``'mean'`` or ``'sum'`` for this call.

        Returns:
            The reduced loss, or the (N,) per-row losses for ``'none'``.
        """
        name = type(self).__name__
        reduction = resolve_reduction(name, self.reduction, reduction_override)
        self.check_rows(student, teacher)
        check_weight(name, weight, student.shape[:1], 'one weight per row, (N,)')
        if student.shape[0] == 0 and reduction != 'none':
            return student.float().sum() * 0.  # no row: zero, not NaN, in the graph
        # float32: a temperature's division, sigmoids, softmaxes, logs and box areas (up to
        # ~1e6 px^2, beyond float16's 65504) lose too much in half precision (see
        # full_precision)
        student, teacher = full_precision(student, teacher)
        return self.loss_weight * self.reduced_loss(student, teacher, weight, reduction,
                                                    avg_factor)


class LogitKDLoss(RowKDLoss):
    """A :class:`RowKDLoss` on the class logits of the same ``N`` rows (RoIs or priors) of
    student and teacher, at a temperature ``T``: :attr:`row_loss` (a ``weighted_loss``
    function giving (N,) per-row values) times ``loss_weight``.

    Args:
        temperature: ``T`` (> 0), dividing both sides' logits.
        loss_weight: multiplier of the loss.
        reduction: ``'mean'`` averages the per-row values over the rows, ``'sum'`` adds
            them up.
    """

    row_loss: Callable[..., Tensor]

    def __init__(self, temperature: float = 1.0, loss_weight: float = 1.0,
                 reduction: str = 'mean'):
        super().__init__(loss_weight, reduction)
        if not temperature > 0:
            raise ValueError(f'{type(self).__name__} temperature must be > 0, got '
                             f'{temperature!r}')
        self.temperature = float(temperature)

    def check_rows(self, student: Tensor, teacher: Tensor) -> None:
        if student.shape != teacher.shape or student.dim() != 2:
            raise ValueError(
                f'{type(self).__name__} needs (N, C) student and teacher logits of the same '
                f'shape, got {tuple(student.shape)} and {tuple(teacher.shape)}: teacher and '
                f'student must score the same {self.rows} with the same classes.')

    def reduced_loss(self, student, teacher, weight, reduction, avg_factor):
        return self.row_loss(student, teacher, weight, reduction=reduction,
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
