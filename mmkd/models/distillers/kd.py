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
"""
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor, nn

from ...registry import MODELS
from ..recorder import FeatureLevel, FeatureSpec
from .base import BaseDistiller, DistillerContext

#: What KD records on a single-stage RoI student: the sampled RoIs (N, 5) and their logits.
STUDENT_ROIS = FeatureSpec('roi_head.bbox_roi_extractor', 1, source='input')
STUDENT_LOGITS = FeatureSpec('roi_head.bbox_head', 0)
#: What KD records on a dense student: the per-level class scores (output 0 of the head).
STUDENT_DENSE_SCORES = FeatureSpec('bbox_head', 0)

_FEATURE_DISTILLERS = "Use a feature distiller on 'neck' instead (FitNet, ReviewKD, FGFI)."
_HEAD_NAMES = {'roi': 'a single-stage RoI head', 'cascade': 'a cascade RoI head',
               'dense': 'a dense head', None: 'no box head KD can use'}


def _head_kind(detector: nn.Module) -> Optional[str]:
    """``'roi'``, ``'cascade'`` or ``'dense'``: where the detector's class logits are."""
    roi_head = getattr(detector, 'roi_head', None)
    if roi_head is not None and getattr(roi_head, 'bbox_head', None) is not None:
        return 'cascade' if isinstance(roi_head.bbox_head, nn.ModuleList) else 'roi'
    head = getattr(detector, 'bbox_head', None)
    if head is not None and hasattr(head, 'prior_generator') and hasattr(head, 'num_classes'):
        return 'dense'
    return None


def _check_roi_head(detector: nn.Module, role: str) -> nn.Module:
    """The detector's RoI head, checked to have box branches whose RoIs can be recorded."""
    roi_head = detector.roi_head
    if getattr(roi_head, 'bbox_roi_extractor', None) is None:
        raise ValueError(f'KD: the {role} ({type(detector).__name__}) has a box head without '
                         f'roi_head.bbox_roi_extractor. {_FEATURE_DISTILLERS}')
    if getattr(roi_head, 'with_mask', False) and getattr(roi_head, 'share_roi_extractor', False):
        raise ValueError(
            f"KD: the {role}'s mask branch shares the box RoI extractor, so the recorded "
            'RoIs would be the mask RoIs. Give the roi_head its own mask_roi_extractor.')
    return roi_head


def _check_classes(student_head, teacher_head, what: str) -> None:
    s_classes, t_classes = student_head.num_classes, teacher_head.num_classes
    if s_classes != t_classes:
        raise ValueError(
            f'KD: the student {what} has {s_classes} classes but the teacher has '
            f'{t_classes}; logits can only be distilled between the same classes.')


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

    def __init__(self, teacher='neck', loss: Optional[dict] = None,
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

    # ------------------------------------------------------------------ build
    def setup(self, context: DistillerContext) -> None:
        super().setup(context)
        student, teacher = context.student, context.teacher
        kinds = _head_kind(student), _head_kind(teacher)
        if None in kinds or ('dense' in kinds and kinds[0] != kinds[1]):
            roi = [role for role, kind in zip(('student', 'teacher'), kinds)
                   if kind in ('roi', 'cascade')]
            raise ValueError(
                f'KD distils class logits on the same RoIs or priors and needs a two-stage '
                f'detector on both sides, or two dense heads with the same prior layout; '
                f'the student ({type(student).__name__}) has {_HEAD_NAMES[kinds[0]]} and '
                f'the teacher ({type(teacher).__name__}) {_HEAD_NAMES[kinds[1]]}'
                + (f" (only the {roi[0]} scores RoIs)" if len(roi) == 1 else '')
                + f'. {_FEATURE_DISTILLERS}')
        if kinds[0] != kinds[1]:
            raise ValueError(
                f'KD: the student has {_HEAD_NAMES[kinds[0]]} and the teacher '
                f'{_HEAD_NAMES[kinds[1]]}; '
                "the teacher's stage-i head scores the student's stage-i RoIs, so both must "
                f'be cascades or both single-stage. {_FEATURE_DISTILLERS}')
        self.kind = kinds[0]
        if self.kind == 'dense':
            sigmoid = self._check_dense_layout(student.bbox_head, teacher.bbox_head)
            self.student_specs = [STUDENT_DENSE_SCORES]
        else:
            sigmoid = False
            self._resolve_roi_stages(_check_roi_head(student, 'student'),
                                     _check_roi_head(teacher, 'teacher'))
        if self.stages is not None and self.kind != 'cascade':
            raise ValueError(f"KD: 'stages' selects cascade stages, but the student has a "
                             f'{self.kind} head. Remove it.')
        self.loss = MODELS.build(self._loss_config(sigmoid))
        self._check_teacher_levels(teacher, context.teacher_levels)

    def _resolve_roi_stages(self, student_head, teacher_head) -> None:
        if self.kind == 'roi':
            _check_classes(student_head.bbox_head, teacher_head.bbox_head, 'box head')
            self.student_specs = [STUDENT_ROIS, STUDENT_LOGITS]
            self.stage_weights = [1.]
            return
        s_stages, t_stages = student_head.num_stages, teacher_head.num_stages
        stages = list(range(s_stages)) if self.stages is None else self.stages
        if not stages or any(not 0 <= i < min(s_stages, t_stages) for i in stages):
            raise ValueError(
                f'KD: stages {stages} must be a non-empty list of cascade stages that both '
                f'detectors have (student {s_stages}, teacher {t_stages}: 0..'
                f'{min(s_stages, t_stages) - 1}).')
        for i in stages:
            _check_classes(student_head.bbox_head[i], teacher_head.bbox_head[i],
                           f'stage-{i} box head')
        self.stages = stages
        self.stage_weights = [float(student_head.stage_loss_weights[i]) for i in stages]
        self.student_specs = [spec for i in stages for spec in (
            FeatureSpec(f'roi_head.bbox_roi_extractor.{i}', 1, source='input'),
            FeatureSpec(f'roi_head.bbox_head.{i}', 0))]

    @staticmethod
    def _check_dense_layout(student_head, teacher_head) -> bool:
        """Check the two dense heads score the same priors; return whether sigmoid."""
        _check_classes(student_head, teacher_head, 'dense head')
        layouts = []
        for head in (student_head, teacher_head):
            generator = head.prior_generator
            priors = [generator.single_level_grid_priors((2, 2), level, device='cpu')
                      for level in range(generator.num_levels)]
            layouts.append((getattr(head, 'use_sigmoid_cls', None), priors,
                            getattr(head, 'cls_out_channels', None)))
        (s_sigmoid, s_priors, s_out), (t_sigmoid, t_priors, t_out) = layouts
        same_priors = len(s_priors) == len(t_priors) and all(
            s.shape == t.shape and torch.equal(s, t) for s, t in zip(s_priors, t_priors))
        if not same_priors or s_sigmoid != t_sigmoid or s_out != t_out or s_sigmoid is None:
            describe = (lambda head, priors: f'{type(head).__name__}: {len(priors)} levels, '
                        f'{[p.shape[0] // 4 for p in priors]} priors per location')
            raise ValueError(
                f"KD: the student's dense head ({describe(student_head, s_priors)}) and the "
                f"teacher's ({describe(teacher_head, t_priors)}) do not score the same "
                'priors with the same kind of classifier, so there are no per-prior logits '
                f'to compare. {_FEATURE_DISTILLERS}')
        return bool(s_sigmoid)

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

    def _check_teacher_levels(self, teacher: nn.Module,
                              levels: Optional[List[FeatureLevel]]) -> None:
        """Check the teacher spec gives the levels its box head reads."""
        if levels is None:
            raise ValueError(
                "KD: the teacher spec must name the features the teacher's head reads "
                "(backbone/neck levels, e.g. 'neck'), got "
                f'{[str(s) for s in self.teacher_specs]}.')
        if self.kind == 'dense':
            head = teacher.bbox_head
            strides = [int(stride[0]) for stride in head.prior_generator.strides]
            reader = f"dense head ({type(head).__name__})"
            channels = head.in_channels
        else:
            extractors = teacher.roi_head.bbox_roi_extractor
            extractor = extractors[self.stages[0]] if self.kind == 'cascade' else extractors
            strides = list(extractor.featmap_strides)
            reader = 'bbox_roi_extractor'
            channels = extractor.out_channels
        specs = [str(s) for s in self.teacher_specs]
        if len(levels) < len(strides):
            raise ValueError(
                f"KD: the teacher's {reader} reads {len(strides)} levels (strides {strides}) "
                f"but the teacher spec {specs} gives {len(levels)}. Use 'neck'.")
        for index, (level, stride) in enumerate(zip(levels, strides)):
            if level.stride != stride:
                raise ValueError(
                    f"KD: teacher level {index} is {level}, but the teacher's {reader} "
                    f"expects stride {stride} there. Use the features its head reads "
                    "(usually 'neck').")
            if level.channels != channels:
                raise ValueError(
                    f"KD: teacher level {index} is {level}, but the teacher's {reader} reads "
                    f"{channels}-channel features. Use the features its head reads (usually "
                    "'neck', not 'backbone').")

    # ------------------------------------------------------------------ forward
    @property
    def teacher_roi_head(self) -> nn.Module:
        return self.context.teacher.roi_head

    @torch.no_grad()
    def teacher_logits(self, teacher_feats: List[Tensor], rois: Tensor,
                       stage: Optional[int] = None) -> Tensor:
        """The teacher's class logits (N, num_classes + 1) for ``rois`` (N, 5), from its
        box head (of cascade stage ``stage``)."""
        head = self.teacher_roi_head
        extractor, bbox_head = head.bbox_roi_extractor, head.bbox_head
        if stage is not None:
            extractor, bbox_head = extractor[stage], bbox_head[stage]
        roi_feats = extractor(tuple(teacher_feats[:extractor.num_inputs]), rois)
        if getattr(head, 'with_shared_head', False):
            roi_feats = head.shared_head(roi_feats)
        return bbox_head(roi_feats)[0]

    @torch.no_grad()
    def teacher_dense_scores(self, teacher_feats: List[Tensor]) -> List[Tensor]:
        """The teacher dense head's per-level class scores (B, A * C, H, W)."""
        head = self.context.teacher.bbox_head
        return list(head(tuple(teacher_feats[:head.prior_generator.num_levels]))[0])

    def forward(self, student_feats: List, teacher_feats: List[Tensor],
                batch_data_samples) -> Dict[str, Tensor]:
        if self.kind == 'dense':
            student_scores = student_feats[0]
            teacher_scores = self.teacher_dense_scores(teacher_feats)
            classes = self.context.student.bbox_head.cls_out_channels
            return dict(loss=self.loss(_prior_rows(student_scores, classes),
                                       _prior_rows(teacher_scores, classes)))
        stages = self.stages if self.kind == 'cascade' else [None]
        total = 0.
        for index, (stage, weight) in enumerate(zip(stages, self.stage_weights)):
            rois, student_logits = student_feats[2 * index:2 * index + 2]
            teacher_logits = self.teacher_logits(teacher_feats, rois, stage)
            total = total + weight * self.loss(student_logits, teacher_logits)
        return dict(loss=total)


def _prior_rows(scores: List[Tensor], classes: int) -> Tensor:
    """Per-level (B, A * C, H, W) scores as (B * H * W * A, C) rows, levels concatenated."""
    return torch.cat([level.permute(0, 2, 3, 1).reshape(-1, classes) for level in scores])
