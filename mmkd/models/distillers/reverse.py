"""A distiller with the roles swapped, for online distillation."""
from typing import Dict, List

from mmdet.structures import OptSampleList
from mmdet.utils import ConfigType, OptMultiConfig
from torch import Tensor

from ...registry import MODELS
from .base import BaseDistiller, DistillerContext


@MODELS.register_module()
class ReverseDistiller(BaseDistiller):
    """Runs a distiller with the roles swapped: the *teacher* model learns from the
    *student* model. Built by :class:`MutualDistillationDetector` for the distiller
    entries with ``direction='teacher<-student'``; not meant to be written in configs.

    The wrapped distiller sees the teacher model as its "student" (the learner: its
    ``student`` specs are recorded on the teacher model, its adapters map teacher
    channels to student channels, KD runs the student's box head on the teacher's
    RoIs) and the student model as its "teacher" (the target).

    Args:
        distiller: config of the wrapped distiller (its ``student``/``teacher`` specs
            name features of the learner = teacher model and of the target = student
            model respectively; its schedule options apply).
    """

    def __init__(self, distiller: ConfigType, init_cfg: OptMultiConfig = None):
        inner = MODELS.build(distiller)
        super().__init__(inner.teacher_specs, inner.student_specs, init_cfg=init_cfg)
        self.distiller = inner

    def setup(self, context: DistillerContext) -> None:
        super().setup(context)
        self.distiller.setup(context.swapped())
        self.student_specs = self.distiller.teacher_specs
        self.teacher_specs = self.distiller.student_specs

    @property
    def balance_ratio(self) -> float:
        return self.distiller.balance_ratio

    def schedule_factor(self, iteration: int, epoch: int) -> float:
        return self.distiller.schedule_factor(iteration, epoch)

    def loss_names(self):
        return self.distiller.loss_names()

    def forward(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                batch_data_samples: OptSampleList) -> Dict[str, Tensor]:
        return self.distiller(teacher_feats, student_feats, batch_data_samples)
