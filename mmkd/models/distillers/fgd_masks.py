"""FGD's ground-truth masks: which feature positions are foreground (weighted by the
inverse box area) and which are background."""
import math
from typing import Sequence, Tuple

import torch
from torch import Tensor


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
    height, width = (int(v) for v in featmap_size)
    scale_y, scale_x = height / batch_input_shape[0], width / batch_input_shape[1]
    fg = torch.zeros(len(boxes), height, width, device=device)
    bg = torch.zeros_like(fg)
    rows = torch.arange(height, device=device).view(1, -1, 1)
    cols = torch.arange(width, device=device).view(1, 1, -1)
    for i, (image_boxes, (img_h, img_w)) in enumerate(zip(boxes, img_shapes)):
        valid_h = min(height, math.ceil(img_h * scale_y))
        valid_w = min(width, math.ceil(img_w * scale_x))
        image_boxes = image_boxes.to(device=device, dtype=torch.float32).view(-1, 4)
        if len(image_boxes):
            x1 = (image_boxes[:, 0] * scale_x).floor().clamp(0, valid_w - 1).view(-1, 1, 1)
            y1 = (image_boxes[:, 1] * scale_y).floor().clamp(0, valid_h - 1).view(-1, 1, 1)
            x2 = (image_boxes[:, 2] * scale_x).ceil().clamp(0, valid_w - 1).view(-1, 1, 1)
            y2 = (image_boxes[:, 3] * scale_y).ceil().clamp(0, valid_h - 1).view(-1, 1, 1)
            inside = (rows >= y1) & (rows <= y2) & (cols >= x1) & (cols <= x2)  # (K, H, W)
            value = 1. / ((y2 - y1 + 1) * (x2 - x1 + 1))
            fg[i] = (inside * value).amax(dim=0)
        bg[i, :valid_h, :valid_w] = (fg[i, :valid_h, :valid_w] == 0).float()
        bg[i] /= bg[i].sum().clamp(min=1)
    return fg, bg
