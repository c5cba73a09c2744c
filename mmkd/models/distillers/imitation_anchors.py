"""The anchors FGFI's imitation masks are built from: the student's own prior generator.

Two-stage students have anchors in their RPN (``rpn_head.prior_generator``); one-stage
students in their dense head (``bbox_head.prior_generator``). Anchor-based heads
(RetinaNet, ATSS, GFL; mmdet's ``AnchorGenerator``) give boxes, used as they are.
Anchor-free heads (FCOS, RTMDet; ``MlvlPointGenerator``) give points: each point gets one
*virtual square anchor* centred on it, of side ``point_anchor_scale * stride``. The
default scale, 4, is RetinaNet's base anchor (``octave_base_scale=4`` times the octave
scale ``2^0``, ratio 1), so a point-based student marks the locations a RetinaNet with
the same strides would; FCOS assigns objects of about 4 to 8 strides to a level, so the
default also sits at the small end of the sizes each level learns.
"""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

#: Where the student's prior generator is looked for, in order, when none is configured.
PRIOR_GENERATOR_PATHS = ('rpn_head.prior_generator', 'bbox_head.prior_generator')

#: Default side of a point's virtual square anchor, in strides (RetinaNet's base anchor).
POINT_ANCHOR_SCALE = 4.0

_PROBE_GRID = (2, 3)  # (H, W) of the grid the build-time check asks the generator for


def find_prior_generator(student: nn.Module, path: Optional[str] = None) -> Tuple[str, object]:
    """``(path, generator)`` of the student's prior generator.

    Args:
        student: the student detector.
        path: attribute path such as ``'bbox_head.prior_generator'``; ``None`` tries
            :data:`PRIOR_GENERATOR_PATHS` in order.

    Raises:
        ValueError: nothing with ``single_level_grid_priors`` at the path(s).
    """
    for candidate in [path] if path else PRIOR_GENERATOR_PATHS:
        generator = student
        for name in candidate.split('.'):
            generator = getattr(generator, name, None)
        if generator is not None and hasattr(generator, 'single_level_grid_priors'):
            return candidate, generator
    looked = f"'{path}'" if path else ' or '.join(f"'{p}'" for p in PRIOR_GENERATOR_PATHS)
    raise ValueError(
        f"FGFI builds its imitation masks from the student's priors, but the student "
        f'({type(student).__name__}) has no anchor generator at {looked} (an mmdet '
        'AnchorGenerator or MlvlPointGenerator). Set prior_generator= to the attribute path '
        "of the student's prior generator, or use a distiller without masks (FitNet, "
        'ReviewKD).')


class ImitationAnchors:
    """Per distilled level, the ``(H * W * A, 4)`` boxes of the student's priors.

    Args:
        generator: the student's prior generator (mmdet ``AnchorGenerator`` or
            ``MlvlPointGenerator``, or any object with ``strides`` and
            ``single_level_grid_priors(featmap_size, level_idx, device=...)``).
        path: where it was found, for messages.
        level_strides: stride of every distilled level (shallow to deep).
        point_anchor_scale: side of a point's virtual square anchor, in strides.

    Raises:
        ValueError: a distilled stride without priors, or priors that are neither boxes
            nor points (checked once here, so training never fails on them later).
    """

    def __init__(self, generator, path: str, level_strides: Sequence[int],
                 point_anchor_scale: float = POINT_ANCHOR_SCALE):
        if not point_anchor_scale > 0:
            raise ValueError(f'FGFI: point_anchor_scale must be > 0, got {point_anchor_scale}')
        self.generator = generator
        self.path = path
        self.point_anchor_scale = float(point_anchor_scale)
        self.prior_strides = [_as_pair(stride) for stride in generator.strides]
        self.levels = [self._match(level, stride) for level, stride in enumerate(level_strides)]
        self.points = [self._prior_kind(level) == 'points' for level in self.levels]

    def _match(self, level: int, stride: int) -> int:
        for index, (width, height) in enumerate(self.prior_strides):
            if abs(width - stride) < 1e-6 and abs(height - stride) < 1e-6:
                return index
        strides = ', '.join(f'{w:g}' if w == h else f'{w:g}x{h:g}'
                            for w, h in self.prior_strides)
        raise ValueError(
            f'FGFI: distilled level {level} has stride {stride} but the student\'s prior '
            f"generator ('{self.path}') only has strides [{strides}]. Distil levels whose "
            "stride has priors, e.g. 'neck' (or a slice such as 'neck[:3]').")

    def _prior_kind(self, level: int) -> str:
        height, width = _PROBE_GRID
        priors = self.generator.single_level_grid_priors(_PROBE_GRID, level, device='cpu')
        shape = tuple(priors.shape) if isinstance(priors, Tensor) else type(priors).__name__
        if (not isinstance(priors, Tensor) or priors.dim() != 2 or priors.shape[1] not in (2, 4)
                or priors.shape[0] == 0 or priors.shape[0] % (height * width)):
            raise ValueError(
                f"FGFI: the student's prior generator ('{self.path}', "
                f'{type(self.generator).__name__}) gives priors of shape {shape} for a '
                f'{height}x{width} grid; imitation masks need anchor boxes (K, 4) or points '
                '(K, 2), a whole number per location.')
        return 'points' if priors.shape[1] == 2 else 'boxes'

    def __len__(self) -> int:
        return len(self.levels)

    def __call__(self, featmap_size: Tuple[int, int], level: int, device) -> Tensor:
        """The ``(H * W * A, 4)`` boxes of distilled level ``level`` on a grid of
        ``featmap_size`` = (H, W), in mmdet's layout (row-major, priors of a location
        consecutive)."""
        index = self.levels[level]
        priors = self.generator.single_level_grid_priors(featmap_size, index, device=device)
        if not self.points[level]:
            return priors
        width, height = self.prior_strides[index]
        half = priors.new_tensor([width, height]) * (self.point_anchor_scale / 2)
        return torch.cat([priors - half, priors + half], dim=1)


def _as_pair(stride) -> Tuple[float, float]:
    if isinstance(stride, (tuple, list)):
        return float(stride[0]), float(stride[1])
    return float(stride), float(stride)
