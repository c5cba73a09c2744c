"""Distillation losses on the per-prior outputs of two dense heads: the quality-focal binary
classification KD of BCKD and CrossKD, IoU-based box KD, and LD's box-distribution KD."""
import torch.nn.functional as F
from mmdet.models.losses.utils import weighted_loss
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor

from ...registry import MODELS
from .kd_loss import RowKDLoss, kd_loss


@weighted_loss
def quality_focal_kd_loss(pred: Tensor, target: Tensor, beta: float = 1.0) -> Tensor:
    """``sum_c BCE(s_c, sigmoid(t_c)) * |sigmoid(t_c) - sigmoid(s_c)|^beta`` of each row.

    Args:
        pred: (N, C) student logits.
        target: (N, C) teacher logits, detached here.
        beta: exponent of the modulating factor, which is not detached: the gradient also
            flows through it, as in the published code.

    Returns:
        (N,) per-row losses, summed over the classes.
    """
    soft_target = target.detach().sigmoid()
    bce = F.binary_cross_entropy_with_logits(pred, soft_target, reduction='none')
    return (bce * (soft_target - pred.sigmoid()).abs().pow(beta)).sum(dim=1)


@weighted_loss
def iou_kd_loss(pred: Tensor, target: Tensor, mode: str = 'giou', eps: float = 1e-6) -> Tensor:
    """``1 - GIoU``, ``1 - IoU`` or ``-log IoU`` of aligned (N, 4) ``x1, y1, x2, y2`` boxes
    (student ``pred``, teacher ``target`` detached here); (N,) values."""
    target = target.detach()
    if mode == 'giou':
        return 1 - bbox_overlaps(pred, target, mode='giou', is_aligned=True, eps=eps)
    iou = bbox_overlaps(pred, target, mode='iou', is_aligned=True, eps=eps)
    return 1 - iou if mode == 'iou' else -iou.clamp(min=eps).log()


@weighted_loss
def localization_kd_loss(pred: Tensor, target: Tensor, temperature: float = 10.0,
                         bin_reduction: str = 'mean') -> Tensor:
    """``T^2 * KL(softmax(t / T) || softmax(s / T))`` of each row's distribution over the
    bins, divided by the number of bins for ``bin_reduction='mean'``; (N,) values."""
    kl = kd_loss(pred, target, reduction='none', temperature=temperature)
    return kl / pred.shape[1] if bin_reduction == 'mean' else kl


@MODELS.register_module()
class QualityFocalKDLoss(RowKDLoss):
    """Binary classification KD with a quality-focal modulation (BCKD's and CrossKD's
    classification KD)::

        loss_i = sum_c BCE(s_ic, sigmoid(t_ic)) * |sigmoid(t_ic) - sigmoid(s_ic)|^beta

    on (N, C) student and teacher logits of the same priors (teacher detached), summed
    over the rows with ``weight`` and divided by ``avg_factor`` (BCKD: #positives), times
    ``loss_weight``. The factor down-weights the priors both already agree on.

    Args:
        beta: exponent of the modulating factor (1 in BCKD and CrossKD).
        loss_weight: multiplier of the loss.
        reduction: ``'mean'`` or ``'sum'`` over the rows.
    """

    rows = 'logits (one row of class logits per prior)'

    def __init__(self, beta: float = 1.0, loss_weight: float = 1.0, reduction: str = 'mean'):
        super().__init__(loss_weight, reduction)
        if not beta >= 0:
            raise ValueError(f'QualityFocalKDLoss beta must be >= 0, got {beta!r}')
        self.beta = float(beta)

    def reduced_loss(self, student, teacher, weight, reduction, avg_factor):
        return quality_focal_kd_loss(student, teacher, weight, reduction=reduction,
                                     avg_factor=avg_factor, beta=self.beta)


@MODELS.register_module()
class IoUKDLoss(RowKDLoss):
    """Box KD by overlap: ``1 - GIoU(b_s, b_t)`` (``mode='giou'``, BCKD), ``1 - IoU``
    (``'iou'``) or ``-log IoU`` (``'log_iou'``, mmdet's ``IoULoss`` default) of aligned
    (N, 4) ``x1, y1, x2, y2`` student and teacher boxes (teacher detached), weighted per
    row, times ``loss_weight``. GIoU and IoU do not depend on the unit of the boxes.

    Args:
        mode: ``'giou'``, ``'iou'`` or ``'log_iou'``.
        eps: added to the union (and enclosing area) against division by zero.
        loss_weight: multiplier of the loss.
        reduction: ``'mean'`` or ``'sum'`` over the rows.
    """

    rows = 'boxes (N, 4)'

    def __init__(self, mode: str = 'giou', eps: float = 1e-6, loss_weight: float = 1.0,
                 reduction: str = 'mean'):
        super().__init__(loss_weight, reduction)
        if mode not in ('giou', 'iou', 'log_iou'):
            raise ValueError(f"IoUKDLoss mode must be 'giou', 'iou' or 'log_iou', got {mode!r}")
        self.mode = mode
        self.eps = eps

    def check_rows(self, student: Tensor, teacher: Tensor) -> None:
        super().check_rows(student, teacher)
        if student.shape[1] != 4:
            raise ValueError(f'IoUKDLoss needs (N, 4) x1, y1, x2, y2 boxes, got '
                             f'{tuple(student.shape)}.')

    def reduced_loss(self, student, teacher, weight, reduction, avg_factor):
        return iou_kd_loss(student, teacher, weight, reduction=reduction,
                           avg_factor=avg_factor, mode=self.mode, eps=self.eps)


@MODELS.register_module()
class LocalizationKDLoss(RowKDLoss):
    """LD's box-distribution KD: for each box edge, the KL divergence from the teacher's
    distribution over the ``n + 1`` bins to the student's, at temperature ``T``::

        loss_i = T^2 * KL(softmax(t_i / T) || softmax(s_i / T))  [/ (n + 1) for 'mean']

    on (N, n + 1) logits (one row per edge; teacher detached), weighted per row, times
    ``loss_weight``. mmdet's ``KnowledgeDistillationKLDivLoss`` (LD) averages over the
    bins; CrossKD's GFL box KD sums them (``bin_reduction='sum'``).

    Args:
        temperature: ``T`` (> 0); LD uses 10.
        bin_reduction: ``'mean'`` (LD) or ``'sum'`` over the bins.
        loss_weight: multiplier of the loss (LD: 0.25).
        reduction: ``'mean'`` or ``'sum'`` over the rows.
    """

    rows = 'distribution logits (one row of n + 1 bins per box edge)'

    def __init__(self, temperature: float = 10.0, bin_reduction: str = 'mean',
                 loss_weight: float = 1.0, reduction: str = 'mean'):
        super().__init__(loss_weight, reduction)
        if not temperature > 0:
            raise ValueError(f'LocalizationKDLoss temperature must be > 0, got {temperature!r}')
        if bin_reduction not in ('mean', 'sum'):
            raise ValueError("LocalizationKDLoss bin_reduction must be 'mean' or 'sum', got "
                             f'{bin_reduction!r}')
        self.temperature = float(temperature)
        self.bin_reduction = bin_reduction

    def reduced_loss(self, student, teacher, weight, reduction, avg_factor):
        return localization_kd_loss(student, teacher, weight, reduction=reduction,
                                    avg_factor=avg_factor, temperature=self.temperature,
                                    bin_reduction=self.bin_reduction)
