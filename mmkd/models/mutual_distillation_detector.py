"""Online (mutual) distillation: teacher and student are trained together and each can
learn from the other (deep mutual learning, Zhang et al., 2018)."""
from typing import Dict, List, Optional, Tuple

import torch
from mmdet.structures import SampleList
from mmdet.utils import ConfigType
from torch import Tensor, nn

from ..registry import MODELS
from .distillation_detector import DistillationDetector
from .distillers import BaseDistiller, ReverseDistiller
from .loss_balance import total_loss

DIRECTIONS = ('student<-teacher', 'teacher<-student')


def _detach(values):
    """Detach the tensors of a recorded value (tensors, or tuples/lists of them)."""
    if isinstance(values, Tensor):
        return values.detach()
    if isinstance(values, (tuple, list)):
        return type(values)(_detach(v) for v in values)
    return values


@MODELS.register_module()
class MutualDistillationDetector(DistillationDetector):
    """Online distillation: the teacher is trained at the same time as the student.

    Differences from :class:`DistillationDetector`:

    - the teacher is not frozen: it keeps the ``requires_grad`` flags its config gives
      (frozen stages, frozen norms), follows ``train()``/``eval()`` with the student, and
      runs its own full ``loss``; its detection losses are added as ``teacher_<key>``
      (e.g. ``teacher_loss_cls``) and it is optimised by the same optimizer.
    - each distiller entry takes an extra ``direction``:
      ``'student<-teacher'`` (default): the student learns from the teacher, as offline;
      ``'teacher<-student'``: the teacher learns from the student; the entry's
      ``student``/``teacher`` specs then name features of the learner (the teacher
      model) and of the target (the student model), i.e. the roles are swapped.
      Deep mutual learning is one entry of each direction.
    - the target side of every distiller is detached: a distillation loss only trains
      its learner (and the distiller's own layers), never pulls the target towards it.
      So the student gets gradients from its detection losses and the
      ``student<-teacher`` entries, the teacher from its detection losses and the
      ``teacher<-student`` entries.

    Both models are in the checkpoints (``student.*``, ``teacher.*``); the teacher may
    start from ``teacher_ckpt`` or from its config's initialisation (e.g. an ImageNet
    backbone). ``eval_model='teacher'`` evaluates the teacher.

    With ``loss_balance``, a ``'teacher<-student'`` entry is balanced against the
    teacher's detection loss (the model it trains), the others against the student's.

    Args: as :class:`DistillationDetector`, except ``teacher_precision``, which must be
    ``'fp32'``: the teacher trains, so its precision is the optimizer wrapper's (e.g.
    ``AmpOptimWrapper`` for mixed precision of both models).
    """

    distiller_options = ('direction', )

    def build_distiller(self, name: str, cfg: ConfigType,
                        direction: str = 'student<-teacher') -> BaseDistiller:
        if direction not in DIRECTIONS:
            raise ValueError(f"distiller '{name}': direction must be one of {DIRECTIONS}, "
                             f'got {direction!r}.')
        if direction == 'teacher<-student':
            cfg = dict(type='ReverseDistiller', distiller=cfg)
        return super().build_distiller(name, cfg)

    def _freeze_teacher(self) -> None:
        """Nothing to freeze: the teacher keeps the trainable flags its config gives."""

    @staticmethod
    def _teacher_autocast_dtype(precision: str) -> Optional[torch.dtype]:
        """Always None: a half precision forward of a teacher that trains would be
        mixed-precision training, which the optimizer wrapper owns."""
        if precision != 'fp32':
            raise ValueError(
                "MutualDistillationDetector trains its teacher, so teacher_precision must be "
                f"'fp32' (got {precision!r}). For mixed-precision training of both models, "
                "use optim_wrapper=dict(type='AmpOptimWrapper', ...).")
        return None

    @staticmethod
    def _check_teacher_specs(specs) -> None:
        """Any teacher feature is allowed: the teacher runs its whole ``loss``."""

    def train(self, mode: bool = True):
        """Student, teacher and distillers all switch (the teacher is trained too)."""
        nn.Module.train(self, mode)
        return self

    def teacher_loss_step(self, inputs: Tensor, data_samples: SampleList,
                          needed: bool) -> Dict[str, Tensor]:
        """The teacher trains: it always runs its full ``loss``, with gradients."""
        with self.teacher_recorder.recording():
            losses = self.teacher.loss(self.teacher_inputs(inputs, data_samples), data_samples)
        return {f'teacher_{key}': value for key, value in losses.items()}

    def distiller_features(self, distiller: BaseDistiller
                           ) -> Tuple[List[Tensor], List[Tensor]]:
        """Features with the target side detached, so a loss trains only its learner."""
        student_feats, teacher_feats = super().distiller_features(distiller)
        if isinstance(distiller, ReverseDistiller):
            return _detach(student_feats), teacher_feats
        return student_feats, _detach(teacher_feats)

    def learner_task_loss(self, distiller: BaseDistiller, student_losses: Dict[str, Tensor],
                          teacher_losses: Dict[str, Tensor]) -> Tensor:
        """The teacher's detection loss for a ``'teacher<-student'`` entry, else the
        student's: each balanced loss is matched to the model it trains."""
        if isinstance(distiller, ReverseDistiller):
            return total_loss(teacher_losses)
        return total_loss(student_losses)

    def distillation_directions(self) -> Dict[str, str]:
        """``{distiller name: direction}``, for logs and tests."""
        return {name: DIRECTIONS[isinstance(d, ReverseDistiller)]
                for name, d in self.distillers.items()}
