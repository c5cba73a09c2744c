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

from .gt_boxes import pad_boxes

MAX_IOU_OVER = ('all', 'level')


@torch.no_grad()
def imitation_masks(anchors: Sequence[Tensor], featmap_sizes: Sequence[Tuple[int, int]],
                    gt_boxes: Sequence, img_shapes: Sequence[Tuple[int, int]],
                    psi: float = 0.5, max_iou_over: str = 'all') -> List[Tensor]:
    """Imitation masks of a batch whose images share the anchors of the padded batch.

    All images and levels are computed together: one IoU matrix of every anchor of every
    level with every box of every image (the boxes padded to the largest count of an
    image, the padding rows and the invalid boxes masked out).

    Args:
        anchors: per level, ``(H * W * A, 4)`` anchors (mmdet layout).
        featmap_sizes: per level, ``(H, W)`` of the feature map.
        gt_boxes: per image, ``(G_i, 4)`` boxes (tensor or mmdet boxes, any G_i >= 0).
        img_shapes: per image, ``(h, w)`` before batch padding.
        psi: threshold factor in (0, 1).
        max_iou_over: ``'all'`` or ``'level'`` (see the module docstring).

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
    anchors = [get_box_tensor(level_anchors) for level_anchors in anchors]
    for level, (level_anchors, (height, width)) in enumerate(zip(anchors, featmap_sizes)):
        count = level_anchors.shape[0]
        if count == 0 or count % (height * width):
            raise ValueError(f'level {level}: {count} anchors do not fill a {height}x{width} '
                             'grid with the same number of anchors per location.')
    device = anchors[0].device if len(anchors) else 'cpu'
    num_images = len(gt_boxes)
    boxes, filled = pad_boxes(gt_boxes, device)  # (N, G, 4), (N, G)
    if boxes.shape[1] == 0 or not len(anchors):
        return [torch.zeros((num_images, *size), dtype=torch.bool, device=device)
                for size in featmap_sizes]
    # Padding rows, non-finite rows and boxes without area are no boxes.
    real = filled & torch.isfinite(boxes).all(dim=2) & (boxes[..., 2] > boxes[..., 0]) & \
        (boxes[..., 3] > boxes[..., 1])
    all_anchors = torch.cat(anchors).float()  # (K, 4), the levels one after the other
    iou = bbox_overlaps(all_anchors, boxes.view(-1, 4)).view(len(all_anchors), *real.shape)
    iou = iou.masked_fill(~(_inside(all_anchors, img_shapes)[:, :, None] & real), 0.)
    levels = iou.split([len(level_anchors) for level_anchors in anchors])  # (K_l, N, G) each
    # An anchor with IoU 0 is never near: psi * M >= 0 and the comparison is strict.
    if max_iou_over == 'all':
        near = (iou > psi * iou.amax(dim=0)).any(dim=2).split(
            [len(level_anchors) for level_anchors in anchors])
    else:
        near = [(level > psi * level.amax(dim=0)).any(dim=2) for level in levels]
    return [level_near.T.reshape(num_images, height, width, -1).any(dim=3)
            for level_near, (height, width) in zip(near, featmap_sizes)]


def single_image_masks(anchors: Sequence[Tensor], featmap_sizes: Sequence[Tuple[int, int]],
                       gt_boxes, img_shape: Tuple[int, int], psi: float = 0.5,
                       max_iou_over: str = 'all') -> List[Tensor]:
    """:func:`imitation_masks` of one image: per level an ``(H, W)`` bool mask."""
    return [masks[0] for masks in imitation_masks(anchors, featmap_sizes, [gt_boxes],
                                                  [img_shape], psi, max_iou_over)]


def _inside(anchors: Tensor, img_shapes: Sequence[Tuple[int, int]]) -> Tensor:
    """(K, N) bool: the centre of anchor k lies inside image n (``(h, w)`` before
    padding)."""
    limits = anchors.new_tensor([shape[:2] for shape in img_shapes])  # (N, 2): h, w
    cx = (anchors[:, 0] + anchors[:, 2]) * 0.5
    cy = (anchors[:, 1] + anchors[:, 3]) * 0.5
    return (cx[:, None] >= 0) & (cx[:, None] < limits[:, 1]) & (cy[:, None] >= 0) & \
        (cy[:, None] < limits[:, 0])
