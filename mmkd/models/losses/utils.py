"""mmdet's ``weight`` / ``avg_factor`` / ``reduction`` conventions, for the losses of this
package: per-row losses (one value per RoI or prior) and multi-level feature losses (one
unreduced tensor per feature level, the levels summed); and the float32 every loss
computes in from half precision inputs."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmdet.models.losses.utils import weight_reduce_loss
from torch import Tensor

LevelWeights = Optional[Sequence[Optional[Tensor]]]
HALF_DTYPES = (torch.float16, torch.bfloat16)


def full_precision(*tensors: Tensor) -> Tuple[Tensor, ...]:
    """The tensors in float32 where they are in a half precision type (float16, bfloat16),
    others as they are (no copy, no operator).

    Every loss of this package computes in float32 whatever precision its inputs come in:
    under mixed precision (``torch.autocast``, mmengine's ``AmpOptimWrapper``) student
    features, adapter outputs and logits are float16 or bfloat16. In those types the
    losses' sums over many elements overflow (float16's largest value is 65504) or lose
    their low digits, and softmaxes, logs and divisions by a temperature keep 8
    significant bits (bfloat16), too few for divergences between close distributions.
    Autocast leaves float32 inputs of these operations in float32 (it lowers only matrix
    products and convolutions, which the losses do not use), and the gradient flows back
    to the half precision input through the cast.
    """
    return tuple(t.float() if t.dtype in HALF_DTYPES else t for t in tensors)


def check_reduction(owner: str, reduction: str) -> str:
    """The constructor's ``reduction``: ``'mean'`` or ``'sum'``.

    ``'none'`` is refused here because a loss built from a config returns the value a
    distiller puts in the detector's loss dict, where mmengine would silently average a
    non-scalar; a caller that reduces the result itself asks for it per call with
    ``reduction_override='none'``.
    """
    if reduction not in ('mean', 'sum'):
        raise ValueError(f"{owner} reduction must be 'mean' or 'sum', got {reduction!r}; "
                         "for unreduced values pass reduction_override='none' to the call.")
    return reduction


def resolve_reduction(owner: str, reduction: str, reduction_override: Optional[str]) -> str:
    """The reduction of one call: ``reduction_override`` when given, else ``reduction``."""
    if reduction_override not in (None, 'none', 'mean', 'sum'):
        raise ValueError(f"{owner} reduction_override must be None, 'none', 'mean' or 'sum', "
                         f'got {reduction_override!r}')
    return reduction_override or reduction


def check_weight(owner: str, weight: Optional[Tensor], loss_shape, what: str) -> None:
    """Refuse a weight that would broadcast the unreduced loss to another shape (an (N,)
    weight against (N, C) values silently becomes (N, N) when N == C)."""
    if weight is None:
        return
    shape = tuple(loss_shape)
    try:
        broadcast = tuple(weight.broadcast_to(shape).shape)
    except RuntimeError:
        broadcast = None
    if broadcast != shape:
        raise ValueError(f'{owner}: weight of shape {tuple(weight.shape)} does not fit the '
                         f'unreduced loss of shape {shape}; give {what}.')


def check_levels(owner: str, **levels: Sequence) -> int:
    """The common, non-zero number of levels of the given per-level sequences."""
    counts = {name: len(seq) for name, seq in levels.items() if seq is not None}
    if len(set(counts.values())) != 1 or not next(iter(counts.values())):
        listed = ', '.join(f'{count} {name}' for name, count in counts.items())
        raise ValueError(f'{owner} got {listed} level(s); give the same non-zero number of '
                         'levels for each.')
    return next(iter(counts.values()))


def reduce_level(loss: Tensor, weight: Optional[Tensor], reduction: str,
                 avg_factor: Optional[float]) -> Tensor:
    """mmdet's :func:`weight_reduce_loss` on one level's unreduced loss, except that the
    mean of a level without elements is 0 (kept in the graph), not NaN."""
    if loss.numel() == 0 and reduction == 'mean' and avg_factor is None:
        return loss.sum()
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


def weight_reduce_levels(losses: Sequence[Tensor], weights: LevelWeights, reduction: str,
                         avg_factor: Optional[float]) -> Union[Tensor, List[Tensor]]:
    """Weight and reduce each level's unreduced loss as mmdet does; sum the levels.

    ``'mean'`` averages each level over its own elements and sums the levels; with
    ``avg_factor``, each level's weighted sum is divided by it instead, so the result is
    the weighted sum over all levels divided by ``avg_factor``. ``'sum'`` adds up every
    element of every level. ``'none'`` returns the list of weighted per-level losses.
    """
    if weights is None:
        weights = [None] * len(losses)
    reduced = [reduce_level(loss, weight, reduction, avg_factor)
               for loss, weight in zip(losses, weights)]
    return reduced if reduction == 'none' else sum(reduced)
