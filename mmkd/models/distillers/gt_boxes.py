"""The ground-truth boxes of a batch as one padded tensor, so that the mask builders (FGFI's,
FGD's) work on all images at once instead of looping over them."""
from typing import Sequence, Tuple

import torch
from mmdet.structures.bbox import get_box_tensor
from torch import Tensor


def pad_boxes(boxes: Sequence, device) -> Tuple[Tensor, Tensor]:
    """The per-image boxes of a batch as one (N, G, 4) float32 tensor on ``device``, G the
    largest number of boxes of an image, and the (N, G) bool mask of the rows that hold
    one of an image's boxes (in order); the other rows are zeros.

    Args:
        boxes: per image, a (G_i, 4) tensor or mmdet boxes (G_i may be 0).
        device: where the result goes.
    """
    tensors = [get_box_tensor(b) for b in boxes]
    tensors = [t if t.dim() == 2 else t.reshape(-1, 4) for t in tensors]
    counts = [t.shape[0] for t in tensors]
    padded = torch.zeros(len(tensors), max(counts, default=0), 4, device=device)
    filled = torch.zeros(padded.shape[:2], dtype=torch.bool, device=device)
    if padded.numel():
        # (image, row) of every box, built on the host and copied over once
        image, row = torch.tensor([[i, j] for i, count in enumerate(counts)
                                   for j in range(count)], device=device).unbind(1)
        padded[image, row] = torch.cat(tensors).to(device=device, dtype=torch.float32)
        filled[image, row] = True
    return padded, filled
