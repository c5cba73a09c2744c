"""The assignment a dense head's own loss uses, and its box predictions decoded to image
pixels, for the distillers that weight or normalise by them (BCKD, LD, CrossKD).

Nothing here re-implements an assigner: :func:`dense_targets` calls the head's own
``prior_generator`` / ``get_anchors`` and ``get_targets`` with the batch's ground truth,
exactly as the head's ``loss_by_feat`` does, and returns the result per level in the
head's prior order, which is the order of ``score.permute(0, 2, 3, 1).reshape(B, -1, C)``
(location-major, then the ``A`` anchors of a location).

Supported heads (exact types: a subclass may assign or normalise otherwise):

* ``'anchor'``: ``AnchorHead``, ``RetinaHead``, ``RetinaSepBNHead`` (max-IoU assigner);
* ``'atss'``: ``ATSSHead``;
* ``'gfl'``: ``GFLHead``, ``LDHead`` (ATSS assignment, box as a distribution);
* ``'fcos'``: ``FCOSHead``, ``NASFCOSHead`` (points, regress ranges).

TOOD and RTMDet assign with the predictions themselves (task-aligned / dynamic soft
assigners), which needs the head's decoded outputs at assignment time: they are refused
with a :class:`ValueError` naming the supported heads.
"""
import dataclasses
from typing import Dict, List, Optional, Sequence

import torch
from mmdet.models.dense_heads import (AnchorHead, ATSSHead, FCOSHead, GFLHead, LDHead,
                                      NASFCOSHead, RetinaHead, RetinaSepBNHead)
from mmdet.models.utils import unpack_gt_instances
from mmdet.structures import SampleList
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import reduce_mean
from torch import Tensor, nn

#: Dense head type -> kind of assignment and box encoding (see the module docstring).
DENSE_HEAD_KINDS: Dict[type, str] = {
    AnchorHead: 'anchor', RetinaHead: 'anchor', RetinaSepBNHead: 'anchor',
    ATSSHead: 'atss', GFLHead: 'gfl', LDHead: 'gfl', FCOSHead: 'fcos', NASFCOSHead: 'fcos'}

SUPPORTED_HEADS = ', '.join(sorted(cls.__name__ for cls in DENSE_HEAD_KINDS))


@dataclasses.dataclass
class DenseTargets:
    """One batch's assignment as the head's loss sees it; per-level lists, shallow to deep.

    ``B`` images, ``N_l = H_l * W_l * A`` priors on level ``l`` (``A`` anchors per location,
    1 for points).

    Attributes:
        kind: ``'anchor'``, ``'atss'``, ``'gfl'`` or ``'fcos'``.
        num_classes: the background label (labels are in ``[0, num_classes]``).
        priors: (N_l, 4) anchors ``x1, y1, x2, y2`` or (N_l, 2) points ``x, y``, in
            input-image pixels, shared by the images.
        strides: input pixels per feature-map cell of each level.
        labels: (B, N_l) long, the class of a positive prior, ``num_classes`` elsewhere.
        label_weights: (B, N_l) weight of each prior in the head's classification loss
            (0 for anchors outside the padded image or ignored; all 1 for FCOS).
        bbox_targets: (B, N_l, 4) as the head produces them: encoded deltas
            (RetinaNet), boxes in pixels (ATSS, GFL: ``reg_decoded_bbox``), or distances
            ``left, top, right, bottom`` to the point (FCOS; in stride units when
            ``norm_on_bbox``); zero at negatives.
        bbox_weights: (B, N_l, 4) box-loss weights of anchor heads; ``None`` for FCOS.
        avg_factor: what the head's classification loss divides by (RetinaNet: this
            rank's positives; ATSS/GFL: positives averaged over ranks; FCOS: that, at
            least 1).
        num_pos: positives averaged over ranks (mmdet's ``reduce_mean``), at least 1:
            the normaliser of BCKD's and CrossKD's losses.
        centerness_targets: (B, N_l) the head's centerness target at positives, 0
            elsewhere (ATSS and FCOS; ``None`` otherwise).
        centerness_sum: the normaliser of the head's box loss: the positives'
            centerness targets summed and averaged over ranks, at least 1e-6 (FCOS) or 1
            (ATSS); ``None`` otherwise.
    """
    kind: str
    num_classes: int
    priors: List[Tensor]
    strides: List[int]
    labels: List[Tensor]
    label_weights: List[Tensor]
    bbox_targets: List[Tensor]
    bbox_weights: Optional[List[Tensor]]
    avg_factor: float
    num_pos: float
    centerness_targets: Optional[List[Tensor]] = None
    centerness_sum: Optional[float] = None

    @property
    def pos_masks(self) -> List[Tensor]:
        """(B, N_l) bool: the positive priors of each level."""
        return [(labels >= 0) & (labels < self.num_classes) for labels in self.labels]


def head_kind(head: nn.Module, owner: str = 'student', method: str = 'This method') -> str:
    """The kind of a supported dense head (see :data:`DENSE_HEAD_KINDS`).

    Raises:
        ValueError: any other head, naming it and the supported ones.
    """
    kind = DENSE_HEAD_KINDS.get(type(head))
    if kind is None:
        raise ValueError(
            f"{method} needs the {owner}'s dense head assignment (labels, label weights, "
            f'positives) from the head itself, and supports {SUPPORTED_HEADS}; the '
            f'{owner} has {type(head).__name__}. Use KD (per-prior logits of two heads '
            "with the same priors) or a feature distiller on 'neck' (PKD, CWD, FGD).")
    return kind


def dense_head_kind(detector: nn.Module, owner: str = 'student',
                    method: str = 'This method') -> str:
    """The kind of ``detector``'s dense head (``detector.bbox_head``).

    Raises:
        ValueError: a two-stage detector (RoI head), a detector without ``bbox_head`` or
            with an unsupported dense head; the message names the head and points to the
            methods that fit it.
    """
    roi_head = getattr(detector, 'roi_head', None)
    if roi_head is not None:
        box_head = getattr(roi_head, 'bbox_head', None)
        box_head = box_head[0] if isinstance(box_head, nn.ModuleList) else box_head
        raise ValueError(
            f'{method} distils the per-prior outputs of a dense (one-stage) head; the '
            f'{owner} ({type(detector).__name__}) is a two-stage detector with an RoI head '
            f'({type(roi_head).__name__}, box head {type(box_head).__name__}). Use KD (RoI '
            "logits) or a feature distiller on 'neck' (PKD, FitNet, FGD) instead.")
    head = getattr(detector, 'bbox_head', None)
    if head is None:
        raise ValueError(f'{method} distils a dense head, and the {owner} '
                         f'({type(detector).__name__}) has no bbox_head. Use a feature '
                         "distiller on 'neck' (PKD, FitNet, FGD) instead.")
    return head_kind(head, owner, method)


def dense_priors(head: nn.Module, featmaps: Sequence[Tensor]) -> List[Tensor]:
    """Per-level priors of ``head`` for feature maps (B, *, H_l, W_l): (N_l, 4) anchors or
    (N_l, 2) points in input-image pixels, as the head's own loss generates them."""
    sizes = [tuple(featmap.shape[-2:]) for featmap in featmaps]
    priors = head.prior_generator.grid_priors(sizes, dtype=featmaps[0].dtype,
                                              device=featmaps[0].device)
    return [get_box_tensor(level) for level in priors]


def dense_targets(head: nn.Module, featmaps: Sequence[Tensor],
                  batch_data_samples: SampleList) -> DenseTargets:
    """The assignment of ``head``'s own loss for one batch.

    Args:
        head: a supported dense head (see :func:`head_kind`) with its ``train_cfg``.
        featmaps: one (B, *, H_l, W_l) map per level of the head (e.g. its class
            scores): they give the level sizes, device and dtype.
        batch_data_samples: the batch's ``DetDataSample`` list (``gt_instances``,
            optional ``ignored_instances``, metainfo with ``img_shape``/``pad_shape``).

    Returns:
        :class:`DenseTargets` per level, in the head's prior order.
    """
    kind = head_kind(head)
    num_levels = head.prior_generator.num_levels
    if len(featmaps) != num_levels:
        raise ValueError(f'{type(head).__name__} has {num_levels} levels, got '
                         f'{len(featmaps)} feature maps.')
    if not batch_data_samples or len(batch_data_samples) != featmaps[0].shape[0]:
        raise ValueError(
            f'The dense-head assignment needs one data sample per image ({featmaps[0].shape[0]}'
            f' image(s)), got {0 if not batch_data_samples else len(batch_data_samples)}.')
    if any('gt_instances' not in sample for sample in batch_data_samples):
        raise ValueError('The dense-head assignment needs ground truth (gt_instances) in '
                         "every data sample: load it with dict(type='LoadAnnotations', "
                         'with_bbox=True) and pack it with PackDetInputs.')
    gt_instances, gt_ignore, img_metas = unpack_gt_instances(batch_data_samples)
    priors = dense_priors(head, featmaps)
    strides = [int(stride[0]) for stride in head.prior_generator.strides]
    if kind == 'fcos':
        targets = _point_targets(head, priors, gt_instances, len(img_metas))
    else:
        targets = _anchor_targets(head, kind, featmaps, gt_instances, img_metas, gt_ignore)
    positives = sum(mask.sum() for mask in _pos_masks(targets['labels'], head.num_classes))
    num_pos = max(reduce_mean(positives.float()).item(), 1.)
    return DenseTargets(kind=kind, num_classes=head.num_classes, priors=priors,
                        strides=strides, num_pos=num_pos, **targets)


def _pos_masks(labels: List[Tensor], num_classes: int) -> List[Tensor]:
    return [(level >= 0) & (level < num_classes) for level in labels]


def _anchor_targets(head: nn.Module, kind: str, featmaps: Sequence[Tensor], gt_instances,
                    img_metas: List[dict], gt_ignore) -> dict:
    """Targets of the anchor heads, from their ``get_anchors`` + ``get_targets``."""
    sizes = [featmap.shape[-2:] for featmap in featmaps]
    device = featmaps[0].device
    anchor_list, valid_flags = head.get_anchors(sizes, img_metas, device=device)
    targets = head.get_targets(anchor_list, valid_flags, gt_instances, img_metas,
                               batch_gt_instances_ignore=gt_ignore)
    if kind == 'anchor':
        labels, label_weights, bbox_targets, bbox_weights, avg_factor = targets
        return dict(labels=labels, label_weights=label_weights, bbox_targets=bbox_targets,
                    bbox_weights=bbox_weights, avg_factor=float(avg_factor))
    # ATSS and GFL return the anchors first (per level (B, N_l, 4)) and average the
    # positives over the ranks for the classification loss.
    anchors, labels, label_weights, bbox_targets, bbox_weights, avg_factor = targets
    avg_factor = reduce_mean(torch.tensor(avg_factor, dtype=torch.float,
                                          device=device)).item()
    result = dict(labels=labels, label_weights=label_weights, bbox_targets=bbox_targets,
                  bbox_weights=bbox_weights, avg_factor=avg_factor)
    if kind == 'atss':
        centerness = []
        for level_anchors, level_targets, pos in zip(
                anchors, bbox_targets, _pos_masks(labels, head.num_classes)):
            values = level_targets.new_zeros(pos.shape)
            if pos.any():
                values[pos] = head.centerness_target(level_anchors[pos], level_targets[pos])
            centerness.append(values)
        total = sum(level.sum() for level in centerness)
        result.update(centerness_targets=centerness,
                      centerness_sum=reduce_mean(total).clamp(min=1).item())
    return result


def _point_targets(head: nn.Module, points: List[Tensor], gt_instances,
                   num_images: int) -> dict:
    """FCOS's targets from its ``get_targets``, which concatenates the images of a level
    (image-major): here (B, N_l) per level."""
    labels, bbox_targets = head.get_targets(points, gt_instances)
    labels = [level.view(num_images, -1) for level in labels]
    bbox_targets = [level.view(num_images, -1, 4) for level in bbox_targets]
    pos_masks = _pos_masks(labels, head.num_classes)
    centerness = []
    for level_targets, pos in zip(bbox_targets, pos_masks):
        values = level_targets.new_zeros(pos.shape)
        values[pos] = head.centerness_target(level_targets[pos])
        centerness.append(values)
    positives = sum(pos.sum() for pos in pos_masks).float()
    total = sum(level.sum() for level in centerness)
    return dict(labels=labels, label_weights=[torch.ones_like(p, dtype=torch.float)
                                              for p in pos_masks],
                bbox_targets=bbox_targets, bbox_weights=None,
                avg_factor=max(reduce_mean(positives).item(), 1.),
                centerness_targets=centerness,
                centerness_sum=max(reduce_mean(total).item(), 1e-6))


def decode_boxes(head: nn.Module, bbox_preds: Sequence[Tensor],
                 priors: Sequence[Tensor]) -> List[Tensor]:
    """The boxes a head's per-level box outputs predict, in input-image pixels.

    Args:
        head: the supported dense head (see :func:`head_kind`) that produced
            ``bbox_preds``, in the mode (train/eval) it ran in: an FCOS head with
            ``norm_on_bbox`` outputs distances in stride units in training and in pixels
            in eval mode.
        bbox_preds: per level (B, A * K, H_l, W_l): ``K = 4`` deltas (anchor heads,
            decoded with the head's ``bbox_coder``) or distances (FCOS), ``K = 4 *
            (reg_max + 1)`` distribution logits (GFL: the integral of each edge's
            distribution, times the stride, from the anchor centre).
        priors: per level (N_l, 4) anchors or (N_l, 2) points (:func:`dense_priors`).

    Returns:
        Per level (B, N_l, 4) boxes ``x1, y1, x2, y2``, differentiable in ``bbox_preds``.
    """
    kind = head_kind(head)
    boxes = []
    for pred, level_priors, stride in zip(bbox_preds, priors, head.prior_generator.strides):
        batch = pred.shape[0]
        flat = pred.permute(0, 2, 3, 1).reshape(batch * level_priors.shape[0], -1)
        repeated = level_priors.repeat(batch, 1)
        if kind == 'gfl':
            distances = head.integral(flat) * stride[0]
            decoded = head.bbox_coder.decode(head.anchor_center(repeated), distances)
        elif kind == 'fcos':
            scale = stride[0] if head.norm_on_bbox and head.training else 1
            decoded = head.bbox_coder.decode(repeated, flat * scale)
        else:
            decoded = head.bbox_coder.decode(repeated, flat)
        boxes.append(get_box_tensor(decoded).view(batch, -1, 4))
    return boxes
