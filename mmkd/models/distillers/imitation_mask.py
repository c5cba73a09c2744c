"""FGFI imitation masks: the feature locations whose anchors lie near a ground-truth box.

For one image and one ground-truth box, the IoU of every anchor with the box is
computed and the box's largest IoU ``M`` is taken; the anchors with ``IoU > psi * M``
(strictly) are *near* the box. A feature location belongs to the mask when any of its
anchors is near any box (Wang et al., "Distilling Object Detectors with Fine-grained
Feature Imitation", CVPR 2019).

FPN has one anchor set per level, so ``M`` can be taken in two ways
(``max_iou_over``):

* ``'all'`` (default): the maximum over the anchors of all given levels together, as
  the original took it over all anchors of its single feature map (whose 9 anchors per
  location span the scales FPN spreads over its levels). A box marks mainly the level(s)
  whose anchors fit its size, i.e. the level the detector learns it on.
* ``'level'``: the maximum over each level's anchors separately, so every box marks
  locations on every level (large objects cover much of P2, small ones a few P6 cells).

Anchor layout is mmdet's: one level is an ``(H * W * A, 4)`` tensor of ``x1, y1, x2, y2``
boxes, locations in row-major order, the ``A`` anchors of a location consecutive.

Padding: a location is only eligible when its anchor centre lies inside the image
(``0 <= cx < img_w`` and ``0 <= cy < img_h``, ``img_shape`` before batch padding).
Anchors of locations in the padded border are dropped from both the maximum ``M`` and
the mask, even where they overlap a box that touches the border. This gives every
image the mask it would get alone (its feature map then ends at ``ceil(img / stride)``
locations, as in the original), whatever the other images of the batch pad it to, and
agrees with mmdet's RPN, which ignores the anchors of padded locations. A location
straddling the image border (centre inside) is eligible as usual.

Boxes: rows with non-finite coordinates or zero/negative width or height (padding rows,
degenerate boxes) are ignored; an image without valid boxes has an empty mask.
"""
from typing import List, Sequence, Tuple

import torch
from mmdet.structures.bbox import bbox_overlaps, get_box_tensor
from torch import Tensor

MAX_IOU_OVER = ('all', 'level')


def valid_gt_boxes(boxes) -> Tensor:
    """The rows of ``boxes`` ((G, 4) tensor or mmdet boxes) that are real boxes."""
    boxes = get_box_tensor(boxes)
    if boxes.numel() == 0:
        return boxes.reshape(0, 4)
    keep = torch.isfinite(boxes).all(dim=1) & (boxes[:, 2] > boxes[:, 0]) & \
        (boxes[:, 3] > boxes[:, 1])
    return boxes[keep]


def anchors_inside(anchors: Tensor, img_shape: Tuple[int, int]) -> Tensor:
    """(K,) bool: the anchor's centre lies inside the ``(h, w)`` image."""
    height, width = img_shape[:2]
    cx = (anchors[:, 0] + anchors[:, 2]) * 0.5
    cy = (anchors[:, 1] + anchors[:, 3]) * 0.5
    return (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)


@torch.no_grad()
def single_image_masks(anchors: Sequence[Tensor], featmap_sizes: Sequence[Tuple[int, int]],
                       gt_boxes, img_shape: Tuple[int, int], psi: float = 0.5,
                       max_iou_over: str = 'all') -> List[Tensor]:
    """Imitation masks of one image.

    Args:
        anchors: per level, the ``(H * W * A, 4)`` anchors of that level's grid.
        featmap_sizes: per level, ``(H, W)``.
        gt_boxes: ``(G, 4)`` ground-truth boxes (``x1, y1, x2, y2``), any G >= 0.
        img_shape: ``(h, w)`` of the image inside the padded batch.
        psi: threshold factor in (0, 1).
        max_iou_over: ``'all'`` or ``'level'`` (see the module docstring).

    Returns:
        list of ``(H, W)`` bool tensors, one per level.
    """
    device = anchors[0].device if len(anchors) else 'cpu'
    masks = [torch.zeros(tuple(size), dtype=torch.bool, device=device)
             for size in featmap_sizes]
    boxes = valid_gt_boxes(gt_boxes).to(device=device, dtype=torch.float32)
    if boxes.shape[0] == 0 or not len(anchors):
        return masks
    ious = []
    for level_anchors in anchors:
        level_anchors = get_box_tensor(level_anchors).float()
        iou = bbox_overlaps(level_anchors, boxes)  # (K_l, G)
        inside = anchors_inside(level_anchors, img_shape)
        ious.append(iou.masked_fill(~inside[:, None], 0.))
    level_max = torch.stack([iou.max(dim=0).values for iou in ious])  # (L, G)
    if max_iou_over == 'all':
        thresholds = (psi * level_max.max(dim=0).values).expand_as(level_max)
    else:
        thresholds = psi * level_max
    for level, (iou, size) in enumerate(zip(ious, featmap_sizes)):
        # An anchor with IoU 0 is never near: psi * M >= 0 and the comparison is strict.
        near = (iou > thresholds[level][None, :]).any(dim=1)  # (K_l,)
        height, width = size
        masks[level] = near.view(height, width, -1).any(dim=-1)
    return masks


@torch.no_grad()
def imitation_masks(anchors: Sequence[Tensor], featmap_sizes: Sequence[Tuple[int, int]],
                    gt_boxes: Sequence, img_shapes: Sequence[Tuple[int, int]],
                    psi: float = 0.5, max_iou_over: str = 'all') -> List[Tensor]:
    """Imitation masks of a batch whose images share the anchors of the padded batch.

    Args:
        anchors: per level, ``(H * W * A, 4)`` anchors (mmdet layout).
        featmap_sizes: per level, ``(H, W)`` of the feature map.
        gt_boxes: per image, ``(G_i, 4)`` boxes.
        img_shapes: per image, ``(h, w)`` before batch padding.
        psi / max_iou_over: see :func:`single_image_masks`.

    Returns:
        list of ``(N, H, W)`` bool tensors, one per level (no grad).
    """
    if not 0 < psi < 1:
        raise ValueError(f'psi must be in (0, 1) (the test IoU > psi * max IoU is strict, so '
                         f'psi = 1 marks nothing), got {psi}')
    if max_iou_over not in MAX_IOU_OVER:
        raise ValueError(f'max_iou_over must be one of {MAX_IOU_OVER}, got {max_iou_over!r}')
    if len(gt_boxes) != len(img_shapes):
        raise ValueError(f'{len(gt_boxes)} images of boxes but {len(img_shapes)} image shapes')
    for level, (level_anchors, (height, width)) in enumerate(zip(anchors, featmap_sizes)):
        count = get_box_tensor(level_anchors).shape[0]
        if count == 0 or count % (height * width):
            raise ValueError(f'level {level}: {count} anchors do not fill a {height}x{width} '
                             'grid with the same number of anchors per location.')
    if not len(gt_boxes):
        device = get_box_tensor(anchors[0]).device if len(anchors) else 'cpu'
        return [torch.zeros((0, *size), dtype=torch.bool, device=device)
                for size in featmap_sizes]
    per_image = [single_image_masks(anchors, featmap_sizes, boxes, shape, psi, max_iou_over)
                 for boxes, shape in zip(gt_boxes, img_shapes)]
    return [torch.stack([masks[level] for masks in per_image])
            for level in range(len(featmap_sizes))]
