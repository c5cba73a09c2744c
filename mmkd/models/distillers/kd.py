"""KD (Hinton et al., 2015) on the class logits of detection heads.

Teacher and student must score the *same* things. KD finds, at build, which outputs the
two detectors share:

* **RoI heads** (Faster/Mask R-CNN): the student's sampled RoIs (input of its
  ``roi_head.bbox_roi_extractor``) and class logits (output 0 of its ``roi_head.bbox_head``)
  are recorded during its ``loss``; the teacher's ``bbox_roi_extractor`` (+ ``shared_head``)
  + ``bbox_head`` run on those RoIs, on the teacher's own FPN features, under ``no_grad``.
* **Cascade RoI heads** (Cascade R-CNN): the same at every chosen stage ``i``: the
  teacher's stage-``i`` head scores the student's stage-``i`` RoIs. The stage losses are
  summed with the student cascade's own ``stage_loss_weights`` (1, 0.5, 0.25 in mmdet).
* **Dense heads** (RetinaNet, ATSS, GFL, FCOS, RTMDet, ...) with the same prior layout
  (identical priors on every level, same classes and classifier kind): the teacher's head
  runs on its own FPN features and every prior's class scores are distilled, softmax
  classifiers with :class:`KDLoss` (KL), sigmoid classifiers with :class:`BinaryKDLoss`
  (binary cross-entropy against the teacher's probabilities).

Other pairs (a RoI head and a dense head, or dense heads with different priors) have no
common outputs to compare: KD refuses them at build and points to the feature distillers.
The RoI and cascade part is :mod:`.kd_roi`, the dense part :mod:`.kd_dense`.
"""
from typing import Dict, List, Optional, Sequence, Union

from mmdet.models.detectors import DetectionTransformer
from mmdet.structures import OptSampleList
from mmdet.utils import OptConfigType
from torch import Tensor, nn

from ...registry import MODELS
from .base import BaseDistiller, DistillerContext
from .kd_dense import DenseLogits
from .kd_heads import FEATURE_DISTILLERS, check_teacher_levels
from .kd_roi import RoILogits

_HEAD_NAMES = {'roi': 'a single-stage RoI head', 'cascade': 'a cascade RoI head',
               'dense': 'a dense head', None: 'no box head KD can use'}


def head_kind(detector: nn.Module) -> Optional[str]:
    """``'roi'``, ``'cascade'`` or ``'dense'``: where the detector's class logits are."""
    roi_head = getattr(detector, 'roi_head', None)
    if roi_head is not None and getattr(roi_head, 'bbox_head', None) is not None:
        return 'cascade' if isinstance(roi_head.bbox_head, nn.ModuleList) else 'roi'
    head = getattr(detector, 'bbox_head', None)
    if head is not None and hasattr(head, 'prior_generator') and hasattr(head, 'num_classes'):
        return 'dense'
    return None


@MODELS.register_module()
class KD(BaseDistiller):
    """Hinton's KD between the student's and the teacher's class logits on the same RoIs
    (RoI and cascade heads) or priors (dense heads); see the module docstring.

    Shapes: RoI heads: RoIs (N, 5) ``[batch_index, x1, y1, x2, y2]`` in input-image
    pixels, N = sampled RoIs of the whole batch; logits (N, num_classes + 1), background
    included. Dense heads: per level (B, A * C, H, W) scores, compared as
    (B * H * W * A, C) rows over all levels (C = classes, + 1 for softmax classifiers).

    Args:
        teacher: spec of the teacher features its head reads, default ``'neck'`` (all FPN
            levels; the RoI extractor takes the first ``len(featmap_strides)`` of them,
            a dense head one per prior level).
        loss: loss config called as ``loss(student_logits, teacher_logits)``; default
            ``dict(type='KDLoss')`` for softmax classifiers (RoI heads) and
            ``dict(type='BinaryKDLoss')`` for sigmoid classifiers (most dense heads),
            both with temperature 1 and weight 1.
        stages: cascade stages to distil (0-based); ``None`` takes all.
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    def __init__(self, teacher='neck', loss: OptConfigType = None,
                 stages: Optional[Sequence[int]] = None, student=None, **kwargs):
        if student is not None:
            raise ValueError(
                'KD records the student RoIs / class scores itself (from its RoI or dense '
                "head); remove 'student' from its config. 'teacher' names the teacher "
                'features its head reads.')
        # The student specs depend on its head and are chosen in setup().
        super().__init__([], teacher, **kwargs)
        self.loss_cfg = None if loss is None else dict(loss)
        self.stages = None if stages is None else [int(stage) for stage in stages]
        self.loss = None
        self.kind: Optional[str] = None
        self.stage_weights: List[float] = [1.]
        self.logits: Union[RoILogits, DenseLogits, None] = None

    def setup(self, context: DistillerContext) -> None:
        super().setup(context)
        student, teacher = context.student, context.teacher
        self.kind = self._common_head_kind(student, teacher)
        if self.kind == 'dense':
            self.logits = DenseLogits(student, teacher)
        else:
            self.logits = RoILogits(student, teacher, self.kind == 'cascade', self.stages)
            self.stage_weights = self.logits.stage_weights
        if self.kind == 'cascade':
            self.stages = self.logits.stages
        elif self.stages is not None:
            raise ValueError(f"KD: 'stages' selects cascade stages, but the student has a "
                             f'{self.kind} head. Remove it.')
        self.student_specs = list(self.logits.student_specs)
        self.loss = MODELS.build(self._loss_config(self.logits.sigmoid))
        check_teacher_levels(context.teacher_levels, self.teacher_specs,
                             *self.logits.teacher_input(teacher))

    @staticmethod
    def _common_head_kind(student: nn.Module, teacher: nn.Module) -> str:
        """The kind of head both detectors have (see :func:`head_kind`)."""
        kinds = head_kind(student), head_kind(teacher)
        if None in kinds or ('dense' in kinds and kinds[0] != kinds[1]):
            roi = [role for role, kind in zip(('student', 'teacher'), kinds)
                   if kind in ('roi', 'cascade')]
            detrs = any(isinstance(d, DetectionTransformer) for d in (student, teacher))
            raise ValueError(
                f'KD distils class logits on the same RoIs or priors and needs a two-stage '
                f'detector on both sides, or two dense heads with the same prior layout; '
                f'the student ({type(student).__name__}) has {_HEAD_NAMES[kinds[0]]} and '
                f'the teacher ({type(teacher).__name__}) {_HEAD_NAMES[kinds[1]]}'
                + (f" (only the {roi[0]} scores RoIs)" if len(roi) == 1 else '')
                + f'. {FEATURE_DISTILLERS}'
                + (' For the predictions of Deformable DETR, DINO and DAB-DETR pairs, use '
                   'DETRPredictionKD.' if detrs else ''))
        if kinds[0] != kinds[1]:
            raise ValueError(
                f'KD: the student has {_HEAD_NAMES[kinds[0]]} and the teacher '
                f'{_HEAD_NAMES[kinds[1]]}; '
                "the teacher's stage-i head scores the student's stage-i RoIs, so both must "
                f'be cascades or both single-stage. {FEATURE_DISTILLERS}')
        return kinds[0]

    def _loss_config(self, sigmoid: bool) -> dict:
        default = 'BinaryKDLoss' if sigmoid else 'KDLoss'
        cfg = dict(type=default) if self.loss_cfg is None else self.loss_cfg
        loss_type = str(cfg.get('type', '')).split('.')[-1]
        wrong = {'KDLoss': 'BinaryKDLoss', 'BinaryKDLoss': 'KDLoss'}
        if wrong.get(loss_type) == default:
            kind = 'sigmoid' if sigmoid else 'softmax'
            raise ValueError(
                f"KD: the student's {self.kind} head has a {kind} classifier, so its logits "
                f"are distilled with {default}, not {loss_type}. Set loss=dict(type="
                f"'{default}', ...) or leave 'loss' out.")
        return cfg

    def forward(self, student_feats: List, teacher_feats: List[Tensor],
                batch_data_samples: OptSampleList) -> Dict[str, Tensor]:
        return dict(loss=self.logits.distil(self.loss, student_feats, teacher_feats,
                                            self.context.teacher))
