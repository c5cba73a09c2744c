"""CrossKD (Wang et al., CVPR 2024): cross-head knowledge distillation for dense detectors.

The student's head runs its first ``student_convs`` stacked convs of each branch (cls and
reg); the output of the last one (conv + norm, before its activation) is standardised per
channel and given the teacher's per-channel mean and std at the same point, and the frozen
teacher head continues from there: its activation, its remaining stacked convs and its
predictors (with its ``Scale``, FCOS's box normalisation and centerness). These
*cross-head* predictions are trained towards the teacher's own predictions; the student's
own outputs get only their ground-truth losses. The gradient reaches the student through
the teacher's layers, whose parameters are frozen (``requires_grad`` False, eval mode)
but which do not run under ``no_grad``.

Terms (``s`` = cross-head, ``t`` = teacher, ``σ`` = sigmoid, ``#pos`` = the student
head's positives averaged over ranks, at least 1; rows = the priors of all levels):

* classification, :class:`QualityFocalKDLoss`: ``Σ_c BCE(s_c, σ(t_c))·|σ(s_c) − σ(t_c)|``
  per prior, weighted by the student head's label weights, ``/ #pos``;
* box, RetinaNet and ATSS: GIoU between the decoded cross-head and teacher boxes, per-prior
  weight ``σ(max_c t_c)`` (0 where the label weight is 0), ``/ #pos``;
* box, GFL: KL between the teacher's and the cross-head's distribution of every edge
  (T = 1, summed over the bins), per-edge weight ``σ(max_c t_c)``, divided by 4 and by
  the sum of the per-prior weights;
* box, FCOS: IoU loss on the decoded boxes at every point, weight ``σ(max_c t_c)``; FCOS's
  classification and box terms are divided by its box-loss normaliser (the positives'
  centerness targets summed, averaged over ranks) instead of ``#pos``;
* centerness, ATSS only: ``BCE(s, σ(t))`` at the positives, ``/ #pos``.

Hooks: the student head's activation of stacked conv ``student_convs`` keeps a copy of its
input at every level while the head runs in training mode with gradients (the student's
``loss``; never in ``predict``), and :meth:`CrossKD.forward` takes them. The same
activation of the teacher head gets, while the distiller runs the teacher head on the
teacher's features, the cross feature appended to the batch: one forward of the teacher
head's own code gives its predictions (first half) and the cross-head ones (second half).
"""
import contextlib
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmdet.models.dense_heads import ATSSHead, FCOSHead, GFLHead, RetinaHead
from mmdet.structures import OptSampleList
from mmdet.utils import OptConfigType
from torch import Tensor, nn

from ...registry import MODELS
from ..recorder import FeatureLevel
from .base import BaseDistiller, DistillerContext
from .dense_targets import DenseTargets, decode_boxes, dense_targets

#: Every branch of a head, in the order of :attr:`CrossKD.adapter`.
BRANCHES = ('cls', 'reg')

#: The heads CrossKD runs (exact types) and their published losses.
DEFAULT_LOSSES: Dict[type, Dict[str, dict]] = {
    RetinaHead: dict(loss_cls=dict(type='QualityFocalKDLoss', loss_weight=1.0),
                     loss_box=dict(type='IoUKDLoss', mode='giou', loss_weight=1.0)),
    ATSSHead: dict(loss_cls=dict(type='QualityFocalKDLoss', loss_weight=1.0),
                   loss_box=dict(type='IoUKDLoss', mode='giou', loss_weight=1.0),
                   loss_centerness=dict(type='BinaryKDLoss', loss_weight=1.0)),
    GFLHead: dict(loss_cls=dict(type='QualityFocalKDLoss', loss_weight=1.0),
                  loss_box=dict(type='LocalizationKDLoss', temperature=1.0,
                                bin_reduction='sum', loss_weight=4.0)),
    FCOSHead: dict(loss_cls=dict(type='QualityFocalKDLoss', loss_weight=0.4),
                   loss_box=dict(type='IoUKDLoss', mode='log_iou', loss_weight=0.75)),
}
SUPPORTED_HEADS = ', '.join(cls.__name__ for cls in DEFAULT_LOSSES)


def match_statistics(student: Tensor, teacher: Tensor, eps: float = 1e-6) -> Tensor:
    """``student`` standardised per channel and given ``teacher``'s per-channel mean and std.

    Both (N, C, H, W); the statistics are over (N, H, W), the std unbiased (0 for a single
    value, so a 1x1 level of one image stays finite). Returns (N, C, H, W):
    ``(student − μ_s) / (σ_s + eps) · σ_t + μ_t``.
    """
    student_mean, student_std = _channel_statistics(student)
    teacher_mean, teacher_std = _channel_statistics(teacher)
    return (student - student_mean) / (student_std + eps) * teacher_std + teacher_mean


def _channel_statistics(feature: Tensor) -> Tuple[Tensor, Tensor]:
    """Per-channel mean and unbiased std over (N, H, W), each (1, C, 1, 1).

    A constant channel (a single value, or values that half precision rounds to one) has
    variance 0, where the square root's gradient is infinite and the chain rule gives
    inf * 0 = NaN for every input: there the std is 0 without a gradient through the
    square root; elsewhere it is the square root as usual."""
    values = feature.shape[0] * feature.shape[2] * feature.shape[3]
    mean = feature.mean(dim=(0, 2, 3), keepdim=True)
    variance = (feature - mean).square().sum(dim=(0, 2, 3), keepdim=True) / max(values - 1, 1)
    varies = variance > 0
    return mean, torch.where(varies, variance, 1.).sqrt() * varies


def cross_activations(head: nn.Module, student_convs: int, owner: str) -> Dict[str, nn.Module]:
    """The activation of stacked conv ``student_convs`` (1-based) of each branch of
    ``head``: its input is the conv + norm output, before the activation."""
    modules = {}
    for branch in BRANCHES:
        convs = getattr(head, f'{branch}_convs')
        conv = convs[student_convs - 1]
        order = tuple(getattr(conv, 'order', ()))
        if order != ('conv', 'norm', 'act') or not getattr(conv, 'with_activation', False):
            raise ValueError(
                f"CrossKD: the {owner}'s {branch}_convs[{student_convs - 1}] must be an mmcv "
                "ConvModule with order ('conv', 'norm', 'act') and an activation (the cross "
                f'point is its input), got {type(conv).__name__} with order {order}.')
        modules[branch] = conv.activate
    return modules


class StudentCrossFeatures:
    """Copies of the student head's branch features at the cross point, one per level.

    A pre-hook on the head starts a new capture on every head forward; the activation
    pre-hooks keep their input only when the head runs in training mode with gradients
    (the student's ``loss``), so inference keeps nothing.

    Args:
        head: the student's dense head.
        activations: ``{branch: activation module}`` (see :func:`cross_activations`).
    """

    def __init__(self, head: nn.Module, activations: Dict[str, nn.Module]):
        self.features: Dict[str, List[Tensor]] = {branch: [] for branch in activations}
        self._capturing = False
        self._handles = [head.register_forward_pre_hook(self._start),
                         head.register_forward_hook(self._stop)]
        self._handles += [module.register_forward_pre_hook(self._keeper(branch))
                          for branch, module in activations.items()]

    def _start(self, head: nn.Module, args) -> None:
        self.clear()
        self._capturing = head.training and torch.is_grad_enabled()

    def _stop(self, head: nn.Module, args, output) -> None:
        self._capturing = False

    def _keeper(self, branch: str) -> Callable:
        def keep(module: nn.Module, args) -> None:
            if self._capturing:
                # The activation (ReLU) runs in place: keep a copy of its input.
                self.features[branch].append(args[0].clone())
        return keep

    def take(self) -> Dict[str, List[Tensor]]:
        """The features of the last training forward, per branch a list over levels
        (N, C, H, W); the capture is emptied."""
        features = self.features
        self.clear()
        return features

    def clear(self) -> None:
        self.features = {branch: [] for branch in self.features}

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


class TeacherCrossPoint:
    """Pre-hooks on the teacher head's cross-point activations that, inside
    :meth:`crossing`, append the cross feature of the level to the teacher's batch.

    Args:
        activations: ``{branch: activation module}`` of the teacher head.
    """

    def __init__(self, activations: Dict[str, nn.Module]):
        self._cross_features: Optional[Callable[[str, int, Tensor], Tensor]] = None
        self._calls = {branch: 0 for branch in activations}
        self._handles = [module.register_forward_pre_hook(self._appender(branch))
                         for branch, module in activations.items()]

    def _appender(self, branch: str) -> Callable:
        def append(module: nn.Module, args) -> Optional[tuple]:
            if self._cross_features is None:
                return None
            level = self._calls[branch]
            self._calls[branch] += 1
            teacher_feature = args[0]
            cross = self._cross_features(branch, level, teacher_feature)
            return (torch.cat([teacher_feature, cross]), )
        return append

    @contextlib.contextmanager
    def crossing(self, cross_features: Callable[[str, int, Tensor], Tensor]) -> Iterator[None]:
        """Within, the teacher head's forward runs ``2N`` images from the cross point on:
        the teacher's ``N`` and ``cross_features(branch, level, teacher_feature)``."""
        self._cross_features = cross_features
        self._calls = {branch: 0 for branch in self._calls}
        try:
            yield
        finally:
            self._cross_features = None

    def levels_crossed(self) -> Dict[str, int]:
        """How many levels each branch crossed in the last :meth:`crossing`."""
        return dict(self._calls)

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


@MODELS.register_module()
class CrossKD(BaseDistiller):
    """CrossKD between two dense heads of the same structure (see the module docstring).

    Shapes: per level, student branch features (N, C_s, H, W) at the cross point, teacher
    ones (N, C_t, H, W); predictions as the head gives them, e.g. GFL's (N, classes, H, W)
    scores and (N, 4 * (reg_max + 1), H, W) box distributions.

    Args:
        teacher: the teacher features its head reads, default ``'neck'``.
        student_convs: the stacked convs of each student branch before the cross point
            (CrossKD's ``reused_teacher_head_idx``): the student runs convs
            ``1..student_convs`` (the last without its activation), the teacher its
            activation and convs ``student_convs + 1..`` on. Published: 3 of 4 (RetinaNet,
            ATSS, GFL), 2 of 4 (FCOS).
        channel_adapter: add a trainable 1x1 conv per branch from the student's to the
            teacher's channels at the cross point, for heads that differ only in width.
            Not part of the student: it is dropped on export.
        loss_cls / loss_box / loss_centerness: replace the published loss config of the
            head (see :data:`DEFAULT_LOSSES`); ``loss_centerness`` for ATSS only.
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    def __init__(self,
                 teacher='neck',
                 student_convs: int = 3,
                 channel_adapter: bool = False,
                 loss_cls: OptConfigType = None,
                 loss_box: OptConfigType = None,
                 loss_centerness: OptConfigType = None,
                 student=None,
                 **kwargs):
        if student is not None:
            raise ValueError(
                "CrossKD takes the student's head features itself; remove 'student' from its "
                "config. 'teacher' names the teacher features its head reads (usually "
                "'neck').")
        super().__init__([], teacher, **kwargs)
        if not isinstance(student_convs, int) or student_convs < 1:
            raise ValueError(f'CrossKD: student_convs must be an int >= 1, got '
                             f'{student_convs!r}.')
        self.student_convs = student_convs
        self.channel_adapter = bool(channel_adapter)
        self.loss_overrides = {key: dict(cfg) for key, cfg in (
            ('loss_cls', loss_cls), ('loss_box', loss_box),
            ('loss_centerness', loss_centerness)) if cfg is not None}
        self.adapter: Optional[nn.ModuleDict] = None
        self.losses = nn.ModuleDict()
        self.student_features: Optional[StudentCrossFeatures] = None
        self.teacher_point: Optional[TeacherCrossPoint] = None

    # ------------------------------------------------------------------ build checks
    def setup(self, context: DistillerContext) -> None:
        super().setup(context)
        self.student_specs = []
        student_head, teacher_head = self._heads(context)
        self._check_same_structure(student_head, teacher_head)
        self._check_teacher_levels(context.teacher_levels, teacher_head)
        if any(p.requires_grad for p in context.teacher.parameters()):
            raise ValueError(
                'CrossKD runs the teacher head on student features and needs a frozen '
                'teacher (requires_grad False), as mmkd.DistillationDetector keeps it; it '
                'cannot train the teacher (MutualDistillationDetector).')
        student_channels, teacher_channels = (_cross_channels(head, self.student_convs)
                                              for head in (student_head, teacher_head))
        if self.channel_adapter:
            self.adapter = nn.ModuleDict({
                branch: nn.Conv2d(student_channels, teacher_channels, 1, bias=False)
                for branch in BRANCHES})
        elif student_channels != teacher_channels:
            raise ValueError(
                f"CrossKD: the student head's stacked convs have {student_channels} "
                f"channels and the teacher's {teacher_channels}; set channel_adapter=True "
                'to add a trainable 1x1 conv per branch from the student to the teacher '
                'width, or use heads of the same feat_channels.')
        defaults = DEFAULT_LOSSES[type(student_head)]
        if 'loss_centerness' in self.loss_overrides and 'loss_centerness' not in defaults:
            raise ValueError(f'CrossKD: loss_centerness is for ATSS heads; the student has '
                             f'{type(student_head).__name__}. Remove it.')
        self.losses = nn.ModuleDict({
            name: MODELS.build(self.loss_overrides.get(name, cfg))
            for name, cfg in defaults.items()})
        self.remove_hooks()
        self.student_features = StudentCrossFeatures(
            student_head, cross_activations(student_head, self.student_convs, 'student'))
        self.teacher_point = TeacherCrossPoint(
            cross_activations(teacher_head, self.student_convs, 'teacher'))

    @staticmethod
    def _heads(context: DistillerContext) -> Tuple[nn.Module, nn.Module]:
        heads = []
        for owner, detector in (('student', context.student), ('teacher', context.teacher)):
            head = getattr(detector, 'bbox_head', None)
            two_stage = getattr(detector, 'roi_head', None) is not None
            if type(head) not in DEFAULT_LOSSES or two_stage:
                what = (type(head).__name__ if head is not None
                        else f'no dense head ({type(detector).__name__})')
                raise ValueError(
                    f"CrossKD runs the student's head features through the teacher's dense "
                    f'head and supports {SUPPORTED_HEADS} (exact types); the {owner} has '
                    f'{what}. Use KD or a feature distiller on \'neck\' (PKD, FGD) instead.')
            heads.append(head)
        return heads[0], heads[1]

    def _check_same_structure(self, student_head: nn.Module, teacher_head: nn.Module) -> None:
        """Teacher and student heads differ only where CrossKD allows (the width, with
        ``channel_adapter``); otherwise a ValueError names what differs."""
        differences = []

        def compare(what: str, student_value, teacher_value) -> None:
            if student_value != teacher_value:
                differences.append(f'{what}: student {student_value}, teacher {teacher_value}')

        compare('head type', type(student_head).__name__, type(teacher_head).__name__)
        for branch in BRANCHES:
            compare(f'{branch} stacked convs', len(getattr(student_head, f'{branch}_convs')),
                    len(getattr(teacher_head, f'{branch}_convs')))
        compare('classes', student_head.num_classes, teacher_head.num_classes)
        compare('class outputs', student_head.cls_out_channels, teacher_head.cls_out_channels)
        compare('priors (levels, priors per location)', _prior_layout(student_head),
                _prior_layout(teacher_head))
        if not differences and not _same_priors(student_head, teacher_head):
            differences.append('prior boxes (anchor scales, ratios or offsets)')
        compare('reg_max', getattr(student_head, 'reg_max', None),
                getattr(teacher_head, 'reg_max', None))
        if differences:
            raise ValueError(
                'CrossKD needs a student and a teacher head of the same structure (the '
                "teacher's layers after the cross point continue the student's); they "
                f"differ in {'; '.join(differences)}.")
        stacked = len(student_head.cls_convs)
        if self.student_convs > stacked:
            raise ValueError(
                f'CrossKD: student_convs={self.student_convs} but the heads have {stacked} '
                f'stacked convs per branch; use 1..{stacked}.')

    def _check_teacher_levels(self, levels: Optional[List[FeatureLevel]],
                              teacher_head: nn.Module) -> None:
        strides = [int(stride[0]) for stride in teacher_head.prior_generator.strides]
        specs = [str(spec) for spec in self.teacher_specs]
        found = None if levels is None else [(lv.stride, lv.channels) for lv in levels]
        wanted = [(stride, teacher_head.in_channels) for stride in strides]
        if found is None or found[:len(wanted)] != wanted:
            raise ValueError(
                f"CrossKD: the teacher spec {specs} must give the features the teacher's "
                f'head reads, (stride, channels) {wanted}; got {found}. Use '
                "teacher='neck'.")

    # ------------------------------------------------------------------ training
    def loss_names(self) -> Sequence[str]:
        return tuple(self.losses.keys()) or ('loss_cls', 'loss_box')

    def zero_losses(self) -> Dict[str, Tensor]:
        if self.student_features is not None:  # an inactive step keeps no features
            self.student_features.clear()
        return super().zero_losses()

    def remove_hooks(self) -> None:
        """Remove the hooks :meth:`setup` put on both heads."""
        for hooks in (self.student_features, self.teacher_point):
            if hooks is not None:
                hooks.remove()

    def forward(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                batch_data_samples: OptSampleList) -> Dict[str, Tensor]:
        student_head = self.context.student.bbox_head
        cross, teacher = self.cross_forward(teacher_feats)
        targets = dense_targets(student_head, cross[0], batch_data_samples)
        return self.loss_terms(cross, teacher, targets)

    def cross_forward(self, teacher_feats: List[Tensor]
                      ) -> Tuple[List[List[Tensor]], List[List[Tensor]]]:
        """The teacher head's forward on its features with the student's cross features
        appended at the cross point.

        Returns:
            (cross-head outputs, teacher outputs), each as the head returns them: per
            output kind (scores, boxes[, centerness]) a list over levels (N, *, H, W);
            the teacher's detached.
        """
        student = self.student_features.take()
        teacher_head = self.context.teacher.bbox_head
        num_levels = teacher_head.prior_generator.num_levels
        captured = {branch: len(features) for branch, features in student.items()}
        if set(captured.values()) != {num_levels}:
            raise RuntimeError(
                f"CrossKD found {captured} student head features at the cross point for a "
                f"{num_levels}-level head: the student's bbox_head must run once, in training "
                "mode with gradients, before the distiller (mmkd.DistillationDetector's loss "
                'does so).')

        def cross_feature(branch: str, level: int, teacher_feature: Tensor) -> Tensor:
            feature = student[branch][level]
            if self.adapter is not None:
                feature = self.adapter[branch](feature)
            return match_statistics(feature, teacher_feature)

        with torch.enable_grad(), self.teacher_point.crossing(cross_feature):
            outputs = teacher_head(tuple(teacher_feats[:num_levels]))
        if set(self.teacher_point.levels_crossed().values()) != {num_levels}:
            raise RuntimeError(f"CrossKD: the teacher head's cross point ran "
                               f'{self.teacher_point.levels_crossed()} times for '
                               f'{num_levels} levels.')
        batch = student[BRANCHES[0]][0].shape[0]
        cross = [[level[batch:] for level in kind] for kind in outputs]
        teacher = [[level[:batch].detach() for level in kind] for kind in outputs]
        return cross, teacher

    def loss_terms(self, cross: List[List[Tensor]], teacher: List[List[Tensor]],
                   targets: DenseTargets) -> Dict[str, Tensor]:
        """CrossKD's losses from the cross-head and teacher outputs (as
        :meth:`cross_forward` returns them) and the student head's assignment."""
        teacher_head = self.context.teacher.bbox_head
        classes = teacher_head.cls_out_channels
        fcos = targets.kind == 'fcos'
        normaliser = targets.centerness_sum if fcos else targets.num_pos
        label_weights = torch.cat(targets.label_weights, dim=1).reshape(-1)
        cross_scores, teacher_scores = _rows(cross[0], classes), _rows(teacher[0], classes)
        losses = dict(loss_cls=self.losses['loss_cls'](
            cross_scores, teacher_scores, weight=label_weights, avg_factor=normaliser))

        box_weights = teacher_scores.sigmoid().max(dim=1).values * (label_weights > 0)
        if targets.kind == 'gfl':
            bins = teacher_head.reg_max + 1
            # Every edge of a prior has the prior's weight; mmdet's GFL divides its box
            # losses alike by 4 and by the sum of the per-prior weights.
            losses['loss_box'] = self.losses['loss_box'](
                _rows(cross[1], bins), _rows(teacher[1], bins),
                weight=box_weights.repeat_interleave(4), avg_factor=4 * box_weights.sum())
        else:
            cross_boxes, teacher_boxes = (
                torch.cat(decode_boxes(teacher_head, preds, targets.priors), dim=1).view(-1, 4)
                for preds in (cross[1], teacher[1]))
            losses['loss_box'] = self.losses['loss_box'](
                cross_boxes, teacher_boxes, weight=box_weights, avg_factor=normaliser)
        if 'loss_centerness' in self.losses:
            positives = torch.cat(targets.pos_masks, dim=1).reshape(-1)
            losses['loss_centerness'] = self.losses['loss_centerness'](
                _rows(cross[2], 1), _rows(teacher[2], 1), weight=positives.float(),
                avg_factor=targets.num_pos)
        return losses


def _rows(outputs: List[Tensor], width: int) -> Tensor:
    """Per-level (N, A * width, H, W) outputs as (N * Σ_l H_l * W_l * A, width) rows,
    image-major, then level, location and anchor (the order of the head's targets)."""
    batch = outputs[0].shape[0]
    return torch.cat([level.permute(0, 2, 3, 1).reshape(batch, -1, width)
                      for level in outputs], dim=1).reshape(-1, width)


def _cross_channels(head: nn.Module, student_convs: int) -> int:
    """Channels of a head's branch features at the cross point."""
    return head.cls_convs[student_convs - 1].conv.out_channels


def _prior_layout(head: nn.Module) -> Tuple:
    generator = head.prior_generator
    return (generator.num_levels, tuple(int(s[0]) for s in generator.strides),
            tuple(generator.num_base_priors))


def _same_priors(student_head: nn.Module, teacher_head: nn.Module) -> bool:
    """Both heads place the same priors on a 2x2 grid of every level."""
    return all(torch.equal(s, t) for s, t in zip(
        *(head.prior_generator.grid_priors([(2, 2)] * head.prior_generator.num_levels,
                                           device='cpu')
          for head in (student_head, teacher_head))))
