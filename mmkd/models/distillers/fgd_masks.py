"""FGD's ground-truth masks: which feature positions are foreground (weighted by the
inverse box area) and which are background."""
import math
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

from .gt_boxes import pad_boxes


@torch.no_grad()
def fgd_masks(featmap_size: Tuple[int, int], boxes: Sequence[Tensor],
              img_shapes: Sequence[Tuple[int, int]], batch_input_shape: Tuple[int, int],
              device=None) -> Tuple[Tensor, Tensor]:
    """Foreground and background masks of one level, each (N, H, W).

    A box (x1, y1, x2, y2) in input pixels covers the cells ``floor(x1 * W / W_in) ..
    ceil(x2 * W / W_in)`` (inclusive; rows likewise), where ``(H_in, W_in)`` is the padded
    batch input the (H, W) map was computed from, clipped to the image's own (unpadded)
    area. Each of its cells gets ``1 / (number of cells of the box)``, so every box has
    the same total weight whatever its size; where boxes overlap, the larger value (the
    smaller box) wins. The background mask is 1 on the image's cells that no box covers,
    divided by their count; padding cells are neither foreground nor background, and an
    image without boxes is all background.

    Unlike the authors' code, which scales boxes by the unpadded ``img_shape`` and so
    stretches them over the padding of images smaller than the batch, the boxes are
    mapped with the stride of the map; on unpadded images both agree.

    Args:
        featmap_size: (H, W) of the level.
        boxes: per image, (K, 4) boxes (x1, y1, x2, y2) in input pixels (K may be 0).
        img_shapes: per image, (height, width) of the image before padding.
        batch_input_shape: (H_in, W_in) of the padded batch.
    """
    fg, bg = fgd_level_masks([featmap_size], boxes, img_shapes, batch_input_shape, device)
    return fg[0], bg[0]


@torch.no_grad()
def fgd_level_masks(featmap_sizes: Sequence[Tuple[int, int]], boxes: Sequence[Tensor],
                    img_shapes: Sequence[Tuple[int, int]], batch_input_shape: Tuple[int, int],
                    device=None) -> Tuple[List[Tensor], List[Tensor]]:
    """:func:`fgd_masks` of several levels: per level, the (N, H, W) foreground and
    background masks. The boxes of all images are padded into one tensor once, and each
    level computes every image and box at once."""
    boxes, filled = pad_boxes(boxes, device)  # (N, G, 4), (N, G)
    # Per level and image, the (height, width) of the image's own cells: computed on the
    # host, as the boxes' scales, and copied over once.
    sizes = [tuple(int(v) for v in size) for size in featmap_sizes]
    scales = [(height / batch_input_shape[0], width / batch_input_shape[1])
              for height, width in sizes]
    valid = torch.tensor([[(min(height, math.ceil(img_h * scale_y)),
                            min(width, math.ceil(img_w * scale_x)))
                           for img_h, img_w in img_shapes]
                          for (height, width), (scale_y, scale_x) in zip(sizes, scales)],
                         device=device).view(len(sizes), len(img_shapes), 2)
    fg_masks, bg_masks = [], []
    for (height, width), scale, level_valid in zip(sizes, scales, valid):
        fg, bg = _level_masks(height, width, boxes, filled, *level_valid.unbind(1), *scale)
        fg_masks.append(fg)
        bg_masks.append(bg)
    return fg_masks, bg_masks


def _level_masks(height: int, width: int, boxes: Tensor, filled: Tensor, valid_h: Tensor,
                 valid_w: Tensor, scale_y: float, scale_x: float) -> Tuple[Tensor, Tensor]:
    """The (N, H, W) masks of one level from the padded (N, G, 4) boxes, the (N, G) mask
    of the real ones and the (N,) height and width of each image's cells."""
    rows = torch.arange(height, device=boxes.device).view(1, 1, -1, 1)
    cols = torch.arange(width, device=boxes.device).view(1, 1, 1, -1)
    last_row, last_col = (valid_h - 1).view(-1, 1), (valid_w - 1).view(-1, 1)  # (N, 1)
    x1 = (boxes[..., 0] * scale_x).floor().clamp(min=0).minimum(last_col)  # (N, G)
    y1 = (boxes[..., 1] * scale_y).floor().clamp(min=0).minimum(last_row)
    x2 = (boxes[..., 2] * scale_x).ceil().clamp(min=0).minimum(last_col)
    y2 = (boxes[..., 3] * scale_y).ceil().clamp(min=0).minimum(last_row)
    x1, y1, x2, y2 = (v[..., None, None] for v in (x1, y1, x2, y2))  # (N, G, 1, 1)
    inside = (rows >= y1) & (rows <= y2) & (cols >= x1) & (cols <= x2)  # (N, G, H, W)
    # padding rows weigh 0, which the maximum over boxes ignores (weights are >= 0)
    value = filled[..., None, None] / ((y2 - y1 + 1) * (x2 - x1 + 1))
    if boxes.shape[1]:
        fg = (inside * value).amax(dim=1)
    else:
        fg = boxes.new_zeros(boxes.shape[0], height, width)
    own_cells = (rows[0] < valid_h.view(-1, 1, 1)) & (cols[0] < valid_w.view(-1, 1, 1))
    bg = ((fg == 0) & own_cells).float()
    return fg, bg / bg.sum(dim=(1, 2), keepdim=True).clamp(min=1)
