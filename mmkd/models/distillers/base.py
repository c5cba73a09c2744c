"""Base class of the distillation losses that :class:`DistillationDetector` plugs in."""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor

from ..recorder import FeatureLevel, FeatureSpec, parse_specs


class BaseDistiller(BaseModule, metaclass=ABCMeta):
    """One distillation loss between recorded student and teacher features.

    Subclasses implement :meth:`forward` (and :meth:`build_layers` when they own
    layers such as adapters). ``DistillationDetector`` records the features named by
    ``student`` / ``teacher``, calls :meth:`forward` with them as flat lists of tensors
    (shallow to deep) and scales the returned losses by :meth:`schedule_factor`.

    Args:
        student: feature spec(s) recorded on the student, e.g. ``'neck'`` or
            ``['backbone.layer3', 'backbone.layer4']``.
        teacher: feature spec(s) recorded on the teacher; defaults to ``student``.
        warmup_iters: iterations before the loss reaches full weight.
        warmup: ``'linear'`` ramps the weight from 0 to 1 over ``warmup_iters``;
            ``'step'`` keeps the loss off until then (FGFI's original schedule).
        end_iter: turn the loss off from this iteration on (0-based, as mmengine counts).
        end_epoch: turn the loss off from this epoch on (0-based).
    """

    def __init__(self,
                 student,
                 teacher=None,
                 warmup_iters: int = 0,
                 warmup: str = 'linear',
                 end_iter: Optional[int] = None,
                 end_epoch: Optional[int] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if warmup not in ('linear', 'step'):
            raise ValueError(f"warmup must be 'linear' or 'step', got {warmup!r}")
        if warmup_iters < 0:
            raise ValueError(f'warmup_iters must be >= 0, got {warmup_iters}')
        self.student_specs: List[FeatureSpec] = parse_specs(student)
        self.teacher_specs: List[FeatureSpec] = parse_specs(student if teacher is None else teacher)
        self.warmup_iters = warmup_iters
        self.warmup = warmup
        self.end_iter = end_iter
        self.end_epoch = end_epoch

    def resolve_specs(self, student, teacher) -> None:
        """Choose the recorded features for these detectors, before anything is probed.

        For distillers whose features depend on the detectors' heads (KD: one RoI
        stage, a cascade or a dense head); feature distillers keep their configured
        specs.
        """

    def build_layers(self, student_levels: Optional[List[FeatureLevel]],
                     teacher_levels: Optional[List[FeatureLevel]]) -> None:
        """Create learnable layers and check compatibility, once, at model build.

        Args:
            student_levels / teacher_levels: channels and stride of every recorded level
                (specs in order, each shallow to deep), or ``None`` where a spec lies
                outside backbone + neck and could not be probed.
        """

    def attach_models(self, student, teacher) -> None:
        """Give access to the models, for losses that run model parts (e.g. KD)."""

    def schedule_factor(self, iteration: int, epoch: int) -> float:
        """Multiplier of the loss at this iteration/epoch, in [0, 1]."""
        if self.end_iter is not None and iteration >= self.end_iter:
            return 0.
        if self.end_epoch is not None and epoch >= self.end_epoch:
            return 0.
        if iteration >= self.warmup_iters:
            return 1.
        return 0. if self.warmup == 'step' else iteration / self.warmup_iters

    def zero_losses(self) -> Dict[str, Tensor]:
        """Losses for an inactive iteration: zero, but touching every parameter so
        distributed training sees the same graph each iteration."""
        params = list(self.parameters())
        total = sum(p.sum() for p in params) * 0. if params else torch.zeros(())
        return {name: total for name in self.loss_names()}

    def loss_names(self) -> Sequence[str]:
        """Keys of the dict returned by :meth:`forward`."""
        return ('loss', )

    @abstractmethod
    def forward(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                batch_data_samples) -> Dict[str, Tensor]:
        """Compute the (weighted) distillation losses.

        Args:
            student_feats: recorded student features, levels in spec order.
            teacher_feats: recorded teacher features, levels in spec order.
            batch_data_samples: the batch's ``DetDataSample`` list.

        Returns:
            dict: losses named by :meth:`loss_names`.
        """
