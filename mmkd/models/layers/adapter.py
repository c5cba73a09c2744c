"""The conv that maps student features to the teacher's channels (FitNet, FGFI, ...)."""
from typing import Optional

from torch import nn


def build_adapter(in_channels: int, out_channels: int, kernel_size: Optional[int] = 1,
                  init_std: Optional[float] = None, relu: bool = False) -> nn.Module:
    """A ``kernel_size`` conv (padding ``k // 2``) from student to teacher channels.

    Args:
        in_channels / out_channels: student / teacher channels.
        kernel_size: odd kernel size; ``None`` compares features directly
            (``nn.Identity``, which needs equal channels).
        init_std: normal init of the weights with this std and a zero bias (FGFI starts
            its adapters near zero); ``None`` keeps PyTorch's default init.
        relu: append a ReLU (for post-ReLU teacher features).

    Raises:
        ValueError: an even or non-positive kernel, or different channels without a conv.
    """
    if kernel_size is None:
        if in_channels != out_channels:
            raise ValueError(f'No adapter (kernel_size=None) needs equal channels, got '
                             f'student {in_channels} and teacher {out_channels}.')
        return nn.Identity()
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f'Adapter kernel_size must be an odd size >= 1 (or None for no '
                         f'adapter), got {kernel_size}.')
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
    if init_std is not None:
        nn.init.normal_(conv.weight, std=init_std)
        nn.init.zeros_(conv.bias)
    return nn.Sequential(conv, nn.ReLU()) if relu else conv


def build_adapters(student_levels, teacher_levels, kernel_size: Optional[int] = 1,
                   where_channels_differ: bool = False, **kwargs) -> nn.ModuleList:
    """One :func:`build_adapter` per (student, teacher) level pair.

    Args:
        student_levels / teacher_levels: the distiller's ``FeatureLevel`` lists.
        kernel_size: adapter kernel; ``None`` for none (equal channels needed).
        where_channels_differ: adapt only the levels whose channels differ (methods
            that compare features directly and project only to make them comparable);
            ``False`` gives every level a learnt adapter (FitNet's regressor).
        **kwargs: ``init_std`` and ``relu`` of :func:`build_adapter`.
    """
    return nn.ModuleList(
        build_adapter(s.channels, t.channels,
                      None if where_channels_differ and s.channels == t.channels
                      else kernel_size, **kwargs)
        for s, t in zip(student_levels, teacher_levels))
