"""KD (Hinton et al., 2015) on the RoI classification logits of two-stage detectors.

Teacher and student must score the *same* RoIs, so the teacher's box head is run on
the student's sampled proposals: the student's RoIs (input of its
``roi_head.bbox_roi_extractor``) and class logits (output 0 of its ``roi_head.bbox_head``)
are recorded during its ``loss``; the teacher's FPN features are recorded as usual and
its ``bbox_roi_extractor`` (+ ``shared_head``) + ``bbox_head`` are run on those RoIs
under ``no_grad``.
"""
from typing import Dict, List

import torch
from torch import Tensor, nn

from ...registry import MODELS
from ..recorder import PROBE_IMAGE_SIZE, FeatureSpec
from .base import BaseDistiller

#: What KD records on the student: the sampled RoIs (N, 5) and their class logits.
STUDENT_ROIS = FeatureSpec('roi_head.bbox_roi_extractor', 1, source='input')
STUDENT_LOGITS = FeatureSpec('roi_head.bbox_head', 0)


def _roi_head_parts(detector: nn.Module, role: str) -> nn.Module:
    """The detector's RoI head, checked to have one box branch KD can run."""
    roi_head = getattr(detector, 'roi_head', None)
    extractor = getattr(roi_head, 'bbox_roi_extractor', None)
    bbox_head = getattr(roi_head, 'bbox_head', None)
    if roi_head is None or extractor is None or bbox_head is None:
        raise ValueError(
            f'KD distils RoI classification logits and needs a two-stage detector with '
            f'roi_head.bbox_roi_extractor and roi_head.bbox_head (Faster/Mask R-CNN); the '
            f'{role} ({type(detector).__name__}) has none. Use a feature distiller '
            "(e.g. FitNet on 'neck') for this detector.")
    if isinstance(extractor, nn.ModuleList) or isinstance(bbox_head, nn.ModuleList):
        raise ValueError(
            f'KD supports RoI heads with a single box stage; the {role} '
            f'({type(roi_head).__name__}) has several (cascade). Use a feature distiller.')
    if getattr(roi_head, 'with_mask', False) and getattr(roi_head, 'share_roi_extractor', False):
        raise ValueError(
            f"KD: the {role}'s mask branch shares the box RoI extractor, so the recorded "
            'RoIs would be the mask RoIs. Give the roi_head its own mask_roi_extractor.')
    return roi_head


@MODELS.register_module()
class KD(BaseDistiller):
    """Hinton's KD between the student's and the teacher's class logits on the
    student's sampled RoIs.

    Shapes: RoIs (N, 5) ``[batch_index, x1, y1, x2, y2]`` in input-image pixels, N =
    sampled RoIs of the whole batch (``batch * rcnn.sampler.num`` when enough proposals);
    logits (N, num_classes + 1), background included: the full distribution is
    distilled.

    Args:
        teacher: spec of the teacher features its ``bbox_roi_extractor`` reads,
            default ``'neck'`` (all FPN levels; the extractor takes the first
            ``len(featmap_strides)`` of them, as mmdet's RoI head does).
        loss: loss config called as ``loss(student_logits, teacher_logits)``; default
            ``dict(type='KDLoss', temperature=1.0, loss_weight=1.0)``.
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    def __init__(self, teacher='neck', loss: dict = dict(type='KDLoss'), student=None,
                 **kwargs):
        if student is not None:
            raise ValueError(
                'KD records the student RoIs and class logits itself '
                "(roi_head.bbox_roi_extractor / roi_head.bbox_head); remove 'student' from "
                "its config. 'teacher' names the teacher features the RoI head reads.")
        super().__init__([STUDENT_ROIS, STUDENT_LOGITS], teacher, **kwargs)
        self.loss = MODELS.build(loss)
        self._teacher_shapes = None
        self._models = ()  # (student, teacher), not registered as submodules

    def build_layers(self, student_shapes, teacher_shapes) -> None:
        if teacher_shapes is None:
            raise ValueError(
                "KD: the teacher spec must name the features the teacher's RoI head reads "
                f"(backbone/neck levels, e.g. 'neck'), got {[str(s) for s in self.teacher_specs]}.")
        self._teacher_shapes = teacher_shapes

    def attach_models(self, student, teacher) -> None:
        student_head = _roi_head_parts(student, 'student')
        teacher_head = _roi_head_parts(teacher, 'teacher')
        s_classes = student_head.bbox_head.num_classes
        t_classes = teacher_head.bbox_head.num_classes
        if s_classes != t_classes:
            raise ValueError(
                f'KD: the student box head has {s_classes} classes but the teacher has '
                f'{t_classes}; logits can only be distilled between the same classes.')
        strides = list(teacher_head.bbox_roi_extractor.featmap_strides)
        shapes = self._teacher_shapes
        if shapes is not None:
            if len(shapes) < len(strides):
                raise ValueError(
                    f"KD: the teacher's bbox_roi_extractor reads {len(strides)} levels "
                    f'(strides {strides}) but the teacher spec '
                    f"{[str(s) for s in self.teacher_specs]} gives {len(shapes)}. Use 'neck'.")
            for level, (shape, stride) in enumerate(zip(shapes, strides)):
                if len(shape) != 4 or shape[-1] != -(-PROBE_IMAGE_SIZE // stride):
                    raise ValueError(
                        f'KD: teacher level {level} has shape {tuple(shape)} for the probe '
                        f"image, but the teacher's bbox_roi_extractor expects stride {stride} "
                        "there. Use the features its RoI head reads (usually 'neck').")
        self._models = (student, teacher)

    @property
    def teacher_roi_head(self) -> nn.Module:
        if not self._models:
            raise RuntimeError('KD.attach_models() was not called: build KD inside '
                               'mmkd.DistillationDetector.')
        return self._models[1].roi_head

    @torch.no_grad()
    def teacher_logits(self, teacher_feats: List[Tensor], rois: Tensor) -> Tensor:
        """The teacher's class logits (N, num_classes + 1) for ``rois`` (N, 5)."""
        head = self.teacher_roi_head
        feats = tuple(teacher_feats[:head.bbox_roi_extractor.num_inputs])
        roi_feats = head.bbox_roi_extractor(feats, rois)
        if head.with_shared_head:
            roi_feats = head.shared_head(roi_feats)
        cls_score, _ = head.bbox_head(roi_feats)
        return cls_score

    def forward(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                batch_data_samples) -> Dict[str, Tensor]:
        rois, student_logits = student_feats
        teacher_logits = self.teacher_logits(teacher_feats, rois)
        return dict(loss=self.loss(student_logits, teacher_logits))
