"""Hinton et al. (2015) knowledge-distillation loss on class logits."""
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import MODELS


@MODELS.register_module()
class KDLoss(nn.Module):
    """``loss_weight * T^2 * KL(softmax(t / T) || softmax(s / T))`` per row, averaged.

    The teacher's distribution is the target: its logits are detached. The ``T^2``
    factor keeps the gradient's magnitude independent of the temperature (Hinton et
    al., 2015), so ``loss_weight`` means the same thing for every ``temperature``.

    Args:
        temperature: softmax temperature ``T`` (> 0), applied to both sides.
        loss_weight: multiplier of the loss.
        reduction: ``'mean'`` averages the per-row KL over the rows (RoIs), ``'sum'``
            adds them up.
    """

    def __init__(self, temperature: float = 1.0, loss_weight: float = 1.0,
                 reduction: str = 'mean'):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f'KDLoss temperature must be > 0, got {temperature!r}')
        if reduction not in ('mean', 'sum'):
            raise ValueError(f"KDLoss reduction must be 'mean' or 'sum', got {reduction!r}")
        self.temperature = float(temperature)
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self, student_logits: Tensor, teacher_logits: Tensor) -> Tensor:
        """student_logits / teacher_logits: (N, num_classes) logits of the same N rows
        (for detection: the same RoIs, background column included)."""
        if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
            raise ValueError(
                'KDLoss needs (N, C) student and teacher logits of the same shape, got '
                f'{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}: '
                'teacher and student must score the same rows with the same classes.')
        if student_logits.shape[0] == 0:  # no RoI: zero, not NaN, still in the graph
            return student_logits.sum() * 0.
        t = self.temperature
        log_p_student = F.log_softmax(student_logits / t, dim=1)
        log_p_teacher = F.log_softmax(teacher_logits.detach() / t, dim=1)
        kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1)
        kl = kl.mean() if self.reduction == 'mean' else kl.sum()
        return self.loss_weight * t * t * kl
