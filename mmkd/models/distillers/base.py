"""Base class of the distillation losses that :class:`DistillationDetector` plugs in, and
the context they are set up from."""
import dataclasses
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Sequence

import torch
from mmdet.structures import OptSampleList
from mmdet.utils import OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..loss_balance import PREDICTION_RATIO
from ..recorder import FeatureLevel, FeatureSpec, parse_specs

Levels = Optional[Sequence[FeatureLevel]]


@dataclasses.dataclass(frozen=True)
class DistillerContext:
    """Everything a distiller is set up from, given once when its host is built.

    Args:
        student: the learning detector (the teacher model for a
            :class:`ReverseDistiller`'s inner distiller).
        teacher: the target detector.
        student_specs / teacher_specs: the features the host records for the distiller:
            its configured specs, narrowed to the strides both sides share when it names
            the same whole module on both (see :mod:`mmkd.models.level_pairing`).
        student_levels / teacher_levels: channels and stride of every level of those
            specs (specs in order, each shallow to deep), or ``None`` where a spec lies
            outside backbone + neck and could not be probed.
    """
    student: nn.Module
    teacher: nn.Module
    student_specs: Sequence[FeatureSpec]
    teacher_specs: Sequence[FeatureSpec]
    student_levels: Levels
    teacher_levels: Levels

    def swapped(self) -> 'DistillerContext':
        """The same context with the roles of student and teacher exchanged."""
        return DistillerContext(self.teacher, self.student, self.teacher_specs,
                                self.student_specs, self.teacher_levels, self.student_levels)


class BaseDistiller(BaseModule, metaclass=ABCMeta):
    """One distillation loss between recorded student and teacher features.

    ``balance_ratio`` is the ratio :mod:`~mmkd.models.loss_balance` scales the loss to
    when the host's ``loss_balance`` sets none: :data:`.PREDICTION_RATIO` here and for the
    losses between predictions, :data:`.FEATURE_RATIO` for those between features.

    Subclasses implement :meth:`forward`, and extend :meth:`setup` when they own layers
    (adapters, ...) or read the detectors. ``DistillationDetector`` probes the features
    named by ``student`` / ``teacher``, calls :meth:`setup` once with a
    :class:`DistillerContext`, records the specs the distiller holds after it
    (:attr:`student_specs` / :attr:`teacher_specs`), calls :meth:`forward` with them as
    flat lists of tensors (shallow to deep) and scales the returned losses by
    :meth:`schedule_factor`.

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
    balance_ratio: float = PREDICTION_RATIO

    def __init__(self,
                 student,
                 teacher=None,
                 warmup_iters: int = 0,
                 warmup: str = 'linear',
                 end_iter: Optional[int] = None,
                 end_epoch: Optional[int] = None,
                 init_cfg: OptMultiConfig = None):
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
        self._context: Optional[DistillerContext] = None
        self.register_forward_pre_hook(_check_set_up)

    def setup(self, context: DistillerContext) -> None:
        """Set the distiller up for two detectors, once, when the host is built.

        The base takes the context's specs as the ones recorded and keeps the context,
        so :attr:`context` gives the detectors without making them submodules (their
        weights stay out of the distiller's ``state_dict``). Subclasses extend it to
        check the levels and create their layers from ``context.student_levels`` /
        ``context.teacher_levels``, calling ``super().setup(context)`` first. Specs a
        subclass sets here instead (KD's, chosen from the detectors' heads) are recorded
        as they are, without levels.
        """
        self.student_specs = list(context.student_specs)
        self.teacher_specs = list(context.teacher_specs)
        self._context = context

    @property
    def context(self) -> DistillerContext:
        """The context of :meth:`setup`."""
        self.check_set_up()
        return self._context

    def check_set_up(self) -> None:
        """Raise when :meth:`setup` has not run (checked before every forward)."""
        if self._context is None:
            raise RuntimeError(
                f'{type(self).__name__} is not set up: mmkd.DistillationDetector calls its '
                'setup(context) when it is built; a distiller used on its own needs '
                'setup(DistillerContext(...)) first.')

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
                batch_data_samples: OptSampleList) -> Dict[str, Tensor]:
        """Compute the (weighted) distillation losses.

        Args:
            student_feats: recorded student features, levels in spec order.
            teacher_feats: recorded teacher features, levels in spec order.
            batch_data_samples: the batch's ``DetDataSample`` list (ground truth and
                image metainfo), for the methods that read it.

        Returns:
            dict: losses named by :meth:`loss_names`.
        """


def _check_set_up(distiller: BaseDistiller, args) -> None:
    distiller.check_set_up()
