"""MaskKD: distillation of the mask logits of RoI mask heads (Mask R-CNN, Cascade Mask R-CNN).

The teacher's mask branch scores the student's positive RoIs, as :class:`KD` does with
the box branch: the student's positive RoIs (input of its ``roi_head.mask_roi_extractor``)
and its mask logits (output of its ``roi_head.mask_head``) are recorded during its
``loss``; the teacher's ``mask_roi_extractor`` + ``mask_head`` run on those RoIs, on the
teacher's own FPN features, under ``no_grad``. A cascade does this at every chosen stage
``i`` (the teacher's stage-``i`` mask head on the student's stage-``i`` positives), the
stage losses summed with the student cascade's ``stage_loss_weights``.

Only the ground-truth class channel of each RoI is distilled: the channel mmdet's own mask
loss trains (channel 0 of a class-agnostic head), recorded from the labels the student's
``mask_head.loss_mask`` receives. It is the one channel of the teacher that was trained
on such a RoI, and the one the student's prediction for the object is read from. (CrossKD's
Mask R-CNN variant distils all class channels instead.) Each pixel of those
(P, S, S) logits is one row of the loss, default :class:`BinaryKDLoss`: the student's
sigmoid probability against the teacher's, binary cross-entropy, averaged over the
P·S·S pixels, which is the normaliser of mmdet's mask loss, so weight 1 gives the two
losses the same scale.

Kernel and query mask heads (SOLO, SOLOv2, CondInst, RTMDet-Ins, MaskFormer,
Mask2Former) predict no per-RoI logits that two detectors share: MaskKD refuses them at
build and points to the feature distillers.
"""
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmdet.models.roi_heads.mask_heads import FCNMaskHead
from mmdet.structures import OptSampleList
from mmdet.utils import OptConfigType
from torch import Tensor, nn

from ...registry import MODELS
from ..recorder import FeatureSpec
from .base import BaseDistiller, DistillerContext
from .kd_heads import check_same_classes, check_teacher_levels

#: How MaskKD's refusals point users to the distillers that need no common mask outputs.
FEATURE_DISTILLERS = (
    "Distil the features the masks are predicted from instead: a feature distiller on "
    "'neck' ('backbone' for MaskFormer/Mask2Former, which have no neck), e.g. FitNet, PKD, "
    'CWD, MGD or FGD (MGD and FGD publish SOLO results).')


def mask_branch(detector: nn.Module, role: str) -> nn.Module:
    """The detector's RoI head, checked to have FCN mask heads whose positive RoIs and
    logits can be recorded.

    Raises:
        ValueError: no RoI mask head (box-only, kernel or query mask heads), a mask head
            of another kind, or a mask branch that shares the box RoI extractor.
    """
    name = type(detector).__name__
    roi_head = getattr(detector, 'roi_head', None)
    if roi_head is None or not getattr(roi_head, 'with_mask', False):
        heads = ', '.join(f'{key}: {type(module).__name__}'
                          for key, module in detector.named_children() if key.endswith('_head'))
        raise ValueError(
            f'MaskKD distils the per-RoI mask logits of RoI mask heads (FCNMaskHead: Mask '
            f'R-CNN, Cascade Mask R-CNN); the {role} ({name}; {heads or "no heads"}) has no '
            'RoI mask head. Kernel and query mask heads (SOLO, SOLOv2, CondInst, RTMDet-Ins, '
            'MaskFormer, Mask2Former) give no per-RoI logits that two detectors share. '
            + FEATURE_DISTILLERS)
    heads = roi_head.mask_head if isinstance(roi_head.mask_head, nn.ModuleList) \
        else [roi_head.mask_head]
    for head in heads:
        if type(head) is not FCNMaskHead:
            raise ValueError(
                f"MaskKD: the {role}'s ({name}) mask head is {type(head).__name__}; MaskKD "
                'runs FCNMaskHead mask branches (Mask R-CNN, Cascade Mask R-CNN), whose '
                'logits depend only on the RoI features. ' + FEATURE_DISTILLERS)
    if roi_head.share_roi_extractor:
        raise ValueError(
            f"MaskKD: the {role}'s mask branch shares the box RoI extractor, so its "
            'positive RoIs cannot be recorded. Give the roi_head its own mask_roi_extractor.')
    return roi_head


def mask_size(extractor: nn.Module, head: FCNMaskHead) -> Tuple[int, int]:
    """(H, W) of the logits ``head`` predicts from the RoI features of ``extractor``."""
    height, width = extractor.roi_layers[0].output_size
    factor = 1 if head.upsample is None else int(head.scale_factor)
    return height * factor, width * factor


@MODELS.register_module()
class MaskKD(BaseDistiller):
    """The student's mask logits against the teacher's on the same positive RoIs, on the
    ground-truth class channel; see the module docstring.

    Shapes: RoIs (P, 5) ``[batch_index, x1, y1, x2, y2]`` in input-image pixels, P =
    positive RoIs of the whole batch; mask logits (P, num_classes, S, S), or (P, 1, S, S)
    for class-agnostic heads (S = 28 in mmdet's configs); labels (P,). The loss compares
    (P·S·S, 1) rows, one per pixel of each RoI's ground-truth class channel.

    Args:
        teacher: spec of the teacher features its mask RoI extractor reads, default
            ``'neck'`` (all FPN levels; the extractor takes the first
            ``len(featmap_strides)``).
        loss: loss config called as ``loss(student_rows, teacher_rows)`` on (N, 1) logits;
            default ``dict(type='BinaryKDLoss')`` (temperature 1, weight 1).
        stages: cascade stages to distil (0-based); ``None`` takes all.
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    def __init__(self, teacher='neck', loss: OptConfigType = None,
                 stages: Optional[Sequence[int]] = None, student=None, **kwargs):
        if student is not None:
            raise ValueError(
                "MaskKD records the student's positive RoIs and mask logits itself (from its "
                "RoI mask head); remove 'student' from its config. 'teacher' names the "
                'teacher features its mask head reads.')
        # The student specs depend on its RoI head and are chosen in setup().
        super().__init__([], teacher, **kwargs)
        cfg = dict(type='BinaryKDLoss') if loss is None else dict(loss)
        if str(cfg.get('type', '')).split('.')[-1] == 'KDLoss':
            raise ValueError(
                "MaskKD compares each pixel's sigmoid probability (one logit per row): a "
                "softmax over one logit is constant, so KDLoss would give 0. Use loss=dict("
                "type='BinaryKDLoss', ...) or leave 'loss' out.")
        self.loss = MODELS.build(cfg)
        self.chosen_stages = None if stages is None else [int(stage) for stage in stages]
        # The distilled stages, set up by setup(): [None] for a single-stage RoI head.
        self.stages: List[Optional[int]] = [None]
        self.stage_weights: List[float] = [1.]

    def setup(self, context: DistillerContext) -> None:
        super().setup(context)
        student_head = mask_branch(context.student, 'student')
        teacher_head = mask_branch(context.teacher, 'teacher')
        cascades = [isinstance(head.mask_head, nn.ModuleList)
                    for head in (student_head, teacher_head)]
        if cascades[0] != cascades[1]:
            kinds = ['a cascade' if cascade else 'a single-stage RoI head'
                     for cascade in cascades]
            raise ValueError(
                f"MaskKD: the student has {kinds[0]} and the teacher {kinds[1]}; the "
                "teacher's stage-i mask head scores the student's stage-i positive RoIs, so "
                'both must be cascades or both single-stage.')
        if cascades[0]:
            self._choose_stages(student_head, teacher_head)
        elif self.chosen_stages is not None:
            raise ValueError("MaskKD: 'stages' selects cascade stages, but the student has a "
                             'single-stage RoI head. Remove it.')
        for stage in self.stages:
            self._check_same_output(student_head, teacher_head, stage)
        suffix = [''] if self.stages == [None] else [f'.{i}' for i in self.stages]
        self.student_specs = [spec for s in suffix for spec in (
            FeatureSpec(f'roi_head.mask_roi_extractor{s}', 1, source='input'),
            FeatureSpec(f'roi_head.mask_head{s}'),
            # mmdet calls the mask loss only when the batch has positive RoIs.
            FeatureSpec(f'roi_head.mask_head{s}.loss_mask', 2, source='input', optional=True))]
        extractor = _stage(teacher_head.mask_roi_extractor, self.stages[0])
        check_teacher_levels(context.teacher_levels, self.teacher_specs, 'mask_roi_extractor',
                             list(extractor.featmap_strides), extractor.out_channels, 'MaskKD')

    def _choose_stages(self, student_head: nn.Module, teacher_head: nn.Module) -> None:
        s_stages, t_stages = student_head.num_stages, teacher_head.num_stages
        stages = list(range(s_stages)) if self.chosen_stages is None else self.chosen_stages
        if not stages or any(not 0 <= i < min(s_stages, t_stages) for i in stages):
            raise ValueError(
                f'MaskKD: stages {stages} must be a non-empty list of cascade stages that '
                f'both detectors have (student {s_stages}, teacher {t_stages}: 0..'
                f'{min(s_stages, t_stages) - 1}).')
        self.stages = stages
        self.stage_weights = [float(student_head.stage_loss_weights[i]) for i in stages]

    @staticmethod
    def _check_same_output(student_head: nn.Module, teacher_head: nn.Module,
                           stage: Optional[int]) -> None:
        """Both mask heads predict the same classes, class-agnosticism and mask size."""
        where = 'mask head' if stage is None else f'stage-{stage} mask head'
        s_mask, t_mask = (_stage(h.mask_head, stage) for h in (student_head, teacher_head))
        check_same_classes(s_mask, t_mask, where, 'MaskKD')
        if s_mask.class_agnostic != t_mask.class_agnostic:
            raise ValueError(
                f'MaskKD: the student {where} is class_agnostic={s_mask.class_agnostic} but '
                f"the teacher's is {t_mask.class_agnostic}; set the same on both.")
        sizes = [mask_size(_stage(h.mask_roi_extractor, stage), _stage(h.mask_head, stage))
                 for h in (student_head, teacher_head)]
        if sizes[0] != sizes[1]:
            raise ValueError(
                f'MaskKD: the student {where} predicts {sizes[0]} masks but the teacher '
                f'{sizes[1]}; the two must give logits of the same size (RoI extractor '
                'output_size and mask head upsampling).')

    @staticmethod
    @torch.no_grad()
    def teacher_mask_logits(teacher: nn.Module, teacher_feats: List[Tensor], rois: Tensor,
                            stage: Optional[int] = None) -> Tensor:
        """The teacher's mask logits (P, K, S, S) for ``rois`` (P, 5), from its mask branch
        (of cascade stage ``stage``), as mmdet's RoI heads run it."""
        head = teacher.roi_head
        extractor = _stage(head.mask_roi_extractor, stage)
        mask_feats = extractor(tuple(teacher_feats[:extractor.num_inputs]), rois)
        if stage is None and head.with_shared_head:  # cascades use no shared head
            mask_feats = head.shared_head(mask_feats)
        return _stage(head.mask_head, stage)(mask_feats)

    def forward(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                batch_data_samples: OptSampleList) -> Dict[str, Tensor]:
        """``student_feats`` holds per stage the positive RoIs, the mask logits and, when
        there is a positive RoI, their labels (as :attr:`student_specs` records them)."""
        recorded: Iterator[Tensor] = iter(student_feats)
        total = 0.
        for stage, weight in zip(self.stages, self.stage_weights):
            rois, student_logits = next(recorded), next(recorded)
            if rois.shape[0] == 0:  # no positive RoI: zero, still in the graph
                total = total + student_logits.sum() * 0.
                continue
            labels = next(recorded)
            teacher_logits = self.teacher_mask_logits(self.context.teacher, teacher_feats,
                                                      rois, stage)
            positives = torch.arange(rois.shape[0], device=rois.device)
            student_rows = student_logits[positives, labels].reshape(-1, 1)
            teacher_rows = teacher_logits[positives, labels].reshape(-1, 1)
            total = total + weight * self.loss(student_rows, teacher_rows)
        return dict(loss=total)


def _stage(modules: nn.Module, stage: Optional[int]) -> nn.Module:
    """``modules[stage]`` of a cascade, the module itself for ``stage=None``."""
    return modules if stage is None else modules[stage]
