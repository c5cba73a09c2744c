"""Distillation of a DETR's predictions on shared distillation points (KD-DETR, Wang et al.,
CVPR 2024): both decoders decode the *same* queries, so their predictions correspond one
to one and need no Hungarian matching.

The points are two groups, decoded in one extra decoder pass per model, each group
attending only to itself (a block self-attention mask):

* **teacher points**: the teacher's own queries as its eval-mode pass builds them (DINO's
  and two-stage Deformable DETR's top-k encoder proposals, DAB-DETR's learned anchors,
  plain Deformable DETR's learned query embeddings and reference points);
* **random points**: boxes drawn anew every iteration, ``sigmoid(N(0, 1))`` per
  coordinate (normalised cx, cy, w, h), shared by the batch and by both models.

Each model turns a box into its own decoder queries (:func:`queries_at`). The student's
detection loss and inference never see these queries: they run after its ``loss``, on
the encoder memory recorded there, through its decoder and head. The teacher runs its
encoder once and its decoder once, under ``no_grad``.

Supported: mmdet's ``DeformableDETR`` (plain, ``with_box_refine``, ``as_two_stage``),
``DINO`` and ``DABDETR``. Teacher and student may differ in query count, decoder depth
and feature levels (each decodes on its own memory). Boxes can be given
to DINO, DAB-DETR and two-stage Deformable DETR, which may be paired freely; plain
Deformable DETR only has its learned queries, so it pairs with itself, with the same
width, on the teacher points alone.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.models.detectors import DABDETR, DINO, DeformableDETR, DetectionTransformer
from mmdet.models.layers import inverse_sigmoid
from mmdet.structures import OptSampleList
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy
from mmdet.utils import OptConfigType
from torch import Tensor, nn

from ...registry import MODELS
from ..recorder import FeatureSpec
from .base import BaseDistiller, DistillerContext

#: Detector classes whose decoders this distiller drives (exact types: subclasses such as
#: DDQ-DETR change the decoder's inputs).
SUPPORTED = (DeformableDETR, DINO, DABDETR)
FEATURE_DISTILLERS = "distil its 'neck' features instead (FitNet, ReviewKD, FGD, PKD)"
LAYER_PAIRINGS = ('teacher_last', 'aligned')
# KD-DETR's losses and weights.
DEFAULT_LOSS_CLS = dict(type='KDLoss', temperature=10.0, loss_weight=1.0)
DEFAULT_LOSS_BBOX = dict(type='mmdet.L1Loss', loss_weight=5.0)
DEFAULT_LOSS_IOU = dict(type='mmdet.GIoULoss', loss_weight=2.0)

#: Per-layer class logits (L, B, K, C) and boxes (L, B, K, 4), normalised cx, cy, w, h.
Predictions = Tuple[Tensor, Tensor]


@MODELS.register_module()
class DETRPredictionKD(BaseDistiller):
    """KD-DETR's prediction distillation for mmdet's DETRs; see the module docstring.

    For every paired (student layer, teacher layer) and each point group of K points
    (B images), with teacher logits t and boxes b_t, student logits s and boxes b_s, and
    the teacher's foreground weight ``w = max_c sigmoid(t_c)`` per point::

        loss_cls  = sum_points w * T^2 * KL(softmax(t / T) || softmax(s / T)) / C
        loss_bbox = sum_points w * mean_4 |b_s - b_t| / sum_points w
        loss_iou  = sum_points w * (1 - GIoU(b_s, b_t)) / sum_points w

    summed over the groups and the layer pairs, each times its ``loss_weight``
    (C = classes; the sums run over the B * K points of the batch, as in KD-DETR).

    Args:
        num_random_points: random boxes per iteration. ``None``: as many as the
            student has queries (KD-DETR: 300 for its 300), or none where the points
            cannot be boxes (plain Deformable DETR).
        layer_pairing: ``'teacher_last'`` (KD-DETR): every student decoder layer learns
            the teacher's last-layer predictions; ``'aligned'``: the student's last k
            layers learn the teacher's last k (k = the smaller depth), layer by layer,
            and the student's earlier layers are not distilled.
        loss_cls: called as ``loss_cls(s, t, weight=w, avg_factor=C)`` on (N, C) logits;
            default ``KDLoss`` at T=10, weight 1.
        loss_bbox: called on (N, 4) cx, cy, w, h boxes with the weight repeated per
            coordinate and ``avg_factor=4 * sum(w)``; default mmdet's ``L1Loss``, weight 5.
        loss_iou: called on (N, 4) x1, y1, x2, y2 boxes, ``avg_factor=sum(w)``; default
            mmdet's ``GIoULoss``, weight 2.
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    def __init__(self,
                 num_random_points: Optional[int] = None,
                 layer_pairing: str = 'teacher_last',
                 loss_cls: OptConfigType = None,
                 loss_bbox: OptConfigType = None,
                 loss_iou: OptConfigType = None,
                 student=None, teacher=None, **kwargs):
        if student is not None or teacher is not None:
            raise ValueError(
                "DETRPredictionKD records what it needs itself (the student's neck and "
                "encoder memory, the teacher's neck); remove 'student' / 'teacher' from "
                'its config.')
        super().__init__([], 'neck', **kwargs)
        if layer_pairing not in LAYER_PAIRINGS:
            raise ValueError(f'DETRPredictionKD layer_pairing must be one of '
                             f'{LAYER_PAIRINGS}, got {layer_pairing!r}')
        if num_random_points is not None and num_random_points < 0:
            raise ValueError(f'num_random_points must be >= 0, got {num_random_points}')
        self.random_points_option = num_random_points
        self.num_random_points = 0  # resolved in setup()
        self.layer_pairing = layer_pairing
        self.loss_cls = MODELS.build(loss_cls or DEFAULT_LOSS_CLS)
        self.loss_bbox = MODELS.build(loss_bbox or DEFAULT_LOSS_BBOX)
        self.loss_iou = MODELS.build(loss_iou or DEFAULT_LOSS_IOU)
        self.with_boxes = True

    def loss_names(self) -> Sequence[str]:
        return ('loss_cls', 'loss_bbox', 'loss_iou')

    def setup(self, context: DistillerContext) -> None:
        super().setup(context)
        student, teacher = context.student, context.teacher
        for role, detector in (('student', student), ('teacher', teacher)):
            _check_supported(detector, role)
        if any(p.requires_grad for p in teacher.parameters()):
            raise ValueError(
                "DETRPredictionKD runs the teacher's transformer frozen, in eval mode; "
                'this teacher trains (online distillation), which it does not support. '
                f'For online distillation of DETRs, {FEATURE_DISTILLERS}.')
        s_head, t_head = student.bbox_head, teacher.bbox_head
        if s_head.num_classes != t_head.num_classes:
            raise ValueError(
                f'DETRPredictionKD: the student has {s_head.num_classes} classes but the '
                f'teacher has {t_head.num_classes}; predictions can only be distilled '
                'between the same classes.')
        self.with_boxes = takes_boxes(student)
        if self.with_boxes != takes_boxes(teacher):
            plain = 'student' if takes_boxes(teacher) else 'teacher'
            raise ValueError(
                f'DETRPredictionKD: the {plain} is a Deformable DETR without as_two_stage, '
                'whose queries are learned embeddings and cannot be placed at the other '
                "model's boxes. Pair it with a plain (or with_box_refine) Deformable DETR, "
                'or use as_two_stage=True, DINO or DAB-DETR on both sides.')
        if not self.with_boxes:
            if student.embed_dims != teacher.embed_dims:
                raise ValueError(
                    f'DETRPredictionKD: plain Deformable DETRs decode the teacher\'s query '
                    f'embeddings, which need the same width; the student has '
                    f'{student.embed_dims}, the teacher {teacher.embed_dims}.')
            if self.random_points_option:
                raise ValueError(
                    'DETRPredictionKD: plain Deformable DETRs (no as_two_stage) cannot place '
                    'queries at random boxes; set num_random_points=0 or leave it out.')
        self.num_random_points = self.random_points_option
        if self.num_random_points is None:
            self.num_random_points = student.num_queries if self.with_boxes else 0
        self.student_specs = [FeatureSpec('neck'), FeatureSpec('encoder')]
        self.teacher_specs = [FeatureSpec('neck')]

    def forward(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                batch_data_samples: OptSampleList) -> Dict[str, Tensor]:
        """``student_feats``: the student's neck levels, then its encoder memory;
        ``teacher_feats``: the teacher's neck levels."""
        student_preds, teacher_preds, group_sizes = self.predictions(
            student_feats, teacher_feats, batch_data_samples)
        return self.prediction_losses(*student_preds, *teacher_preds, group_sizes)

    def predictions(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                    batch_data_samples: OptSampleList
                    ) -> Tuple[Predictions, Predictions, List[int]]:
        """Student and teacher predictions on the shared points, and the group sizes
        (teacher points first, then random points) along the K axis."""
        student, teacher = self.context.student, self.context.teacher
        with torch.no_grad():
            memory, meta, own_queries = _encode(teacher, teacher_feats, batch_data_samples)
            if self.with_boxes:
                groups = [own_boxes(teacher, own_queries)]
                if self.num_random_points:
                    boxes = torch.randn(self.num_random_points, 4, device=memory.device)
                    groups.append(boxes.sigmoid().expand(len(memory), -1, -1))
                teacher_queries = _concat(own_queries, queries_at(teacher, groups[1:]))
                group_sizes = [group.shape[1] for group in groups]
            else:  # plain Deformable DETRs: the teacher's queries only
                teacher_queries = own_queries
                group_sizes = [own_queries['query'].shape[1]]
            attn_mask = group_mask(group_sizes, memory.device)
            teacher_preds = decode(teacher, memory, meta, teacher_queries, attn_mask)
        *neck, memory = student_feats
        _, meta = student.pre_transformer(tuple(neck), batch_data_samples)
        student_queries = queries_at(student, groups) if self.with_boxes else own_queries
        student_preds = decode(student, memory, meta, student_queries, attn_mask)
        return student_preds, teacher_preds, group_sizes

    def layer_pairs(self, student_layers: int, teacher_layers: int) -> List[Tuple[int, int]]:
        """(student layer, teacher layer) index pairs distilled (see ``layer_pairing``)."""
        if self.layer_pairing == 'teacher_last':
            return [(layer, teacher_layers - 1) for layer in range(student_layers)]
        depth = min(student_layers, teacher_layers)
        return [(student_layers - depth + i, teacher_layers - depth + i) for i in range(depth)]

    def prediction_losses(self, student_scores: Tensor, student_boxes: Tensor,
                          teacher_scores: Tensor, teacher_boxes: Tensor,
                          group_sizes: Sequence[int]) -> Dict[str, Tensor]:
        """The losses of the class docstring.

        Args:
            student_scores / student_boxes: (L_s, B, K, C) / (L_s, B, K, 4).
            teacher_scores / teacher_boxes: (L_t, B, K, C) / (L_t, B, K, 4).
            group_sizes: sizes of the point groups along K, each normalised alone.
        """
        classes = student_scores.shape[-1]
        losses = {name: student_scores.new_zeros(()) for name in self.loss_names()}
        for s_layer, t_layer in self.layer_pairs(len(student_scores), len(teacher_scores)):
            groups = zip(*(points.split(list(group_sizes), dim=1) for points in (
                student_scores[s_layer], student_boxes[s_layer],
                teacher_scores[t_layer], teacher_boxes[t_layer])))
            for s_cls, s_box, t_cls, t_box in groups:  # (B, K_g, C) / (B, K_g, 4) each
                s_cls, t_cls = s_cls.flatten(0, 1), t_cls.flatten(0, 1)
                s_box, t_box = s_box.flatten(0, 1), t_box.flatten(0, 1)
                weight = t_cls.sigmoid().max(dim=1).values
                losses['loss_cls'] = losses['loss_cls'] + self.loss_cls(
                    s_cls, t_cls, weight=weight, avg_factor=classes)
                losses['loss_bbox'] = losses['loss_bbox'] + self.loss_bbox(
                    s_box, t_box, weight=weight[:, None].expand(-1, 4),
                    avg_factor=4 * weight.sum())
                losses['loss_iou'] = losses['loss_iou'] + self.loss_iou(
                    bbox_cxcywh_to_xyxy(s_box), bbox_cxcywh_to_xyxy(t_box), weight=weight,
                    avg_factor=weight.sum())
        return losses


def takes_boxes(detector: nn.Module) -> bool:
    """Whether any box can become the detector's decoder query: DINO, DAB-DETR and
    two-stage Deformable DETR build their queries from boxes; plain Deformable DETR has
    learned query embeddings only."""
    return isinstance(detector, (DINO, DABDETR)) or detector.as_two_stage


def own_boxes(detector: nn.Module, own_queries: Dict[str, Tensor]) -> Tensor:
    """The boxes (B, Q, 4) of the detector's own queries (from its ``pre_decoder``)."""
    if isinstance(detector, DABDETR):
        return own_queries['query_pos'].sigmoid()  # the learned anchors, inverse-sigmoid
    return own_queries['reference_points']


def queries_at(detector: nn.Module, groups: Sequence[Tensor]) -> Dict[str, Tensor]:
    """Decoder inputs that place the detector's queries at boxes, as its ``pre_decoder``
    does for its own: DINO pairs each box with a static content query (the i-th box of a
    group with content query ``i mod num_queries``); DAB-DETR uses the box as its anchor
    with a zero content query; two-stage Deformable DETR projects the box's sine
    embedding into query and positional query.

    Args:
        groups: boxes (B, K_g, 4), normalised cx, cy, w, h; concatenated along K.
    """
    if not groups:
        return {}
    boxes = torch.cat(list(groups), dim=1)
    if isinstance(detector, DINO):
        content = detector.query_embedding.weight
        index = torch.cat([torch.arange(group.shape[1], device=boxes.device) % len(content)
                           for group in groups])
        return dict(query=content[index].expand(len(boxes), -1, -1), reference_points=boxes)
    if isinstance(detector, DABDETR):
        return dict(query=boxes.new_zeros(*boxes.shape[:2], detector.embed_dims),
                    query_pos=inverse_sigmoid(boxes))
    embedding = detector.get_proposal_pos_embed(inverse_sigmoid(boxes))
    embedding = detector.pos_trans_norm(detector.pos_trans_fc(embedding))
    query_pos, query = torch.split(embedding, detector.embed_dims, dim=2)
    return dict(query=query, query_pos=query_pos, reference_points=boxes)


def group_mask(group_sizes: Sequence[int], device) -> Optional[Tensor]:
    """(K, K) self-attention mask, True (blocked) between queries of different groups, so
    each group is decoded as if alone; ``None`` for one group."""
    if len(group_sizes) == 1:
        return None
    group = torch.repeat_interleave(torch.arange(len(group_sizes), device=device),
                                    torch.tensor(group_sizes, device=device))
    return group[:, None] != group[None, :]


def decode(detector: nn.Module, memory: Tensor, meta: Dict[str, Tensor],
           queries: Dict[str, Tensor], attn_mask: Optional[Tensor]) -> Predictions:
    """The detector's decoder and head on ``queries`` over its encoder ``memory``.

    Args:
        memory: (B, N, D) encoder output.
        meta: the decoder inputs of its ``pre_transformer`` (padding mask, level shapes
            and valid ratios, or DAB-DETR's memory positions).
        queries: the decoder inputs that make the queries (see :func:`queries_at`).
        attn_mask: (K, K) self-attention mask, or ``None``.
    """
    if isinstance(detector, DINO):
        outputs = detector.forward_decoder(memory=memory, dn_mask=attn_mask, **queries, **meta)
        hidden_states, references = outputs['hidden_states'], outputs['references']
    elif isinstance(detector, DABDETR):
        hidden_states, references = detector.decoder(
            key=memory, key_pos=meta['memory_pos'], key_padding_mask=meta['memory_mask'],
            reg_branches=detector.bbox_head.fc_reg, self_attn_masks=attn_mask, **queries)
    else:  # DeformableDETR.forward_decoder, with the self-attention mask
        hidden_states, inter_references = detector.decoder(
            value=memory, key_padding_mask=meta['memory_mask'], self_attn_mask=attn_mask,
            spatial_shapes=meta['spatial_shapes'],
            level_start_index=meta['level_start_index'], valid_ratios=meta['valid_ratios'],
            reg_branches=detector.bbox_head.reg_branches if detector.with_box_refine else None,
            **queries)
        references = [queries['reference_points'], *inter_references]
    return detector.bbox_head(hidden_states, references)


def _encode(detector: nn.Module, neck_feats: Sequence[Tensor], batch_data_samples: OptSampleList
            ) -> Tuple[Tensor, Dict[str, Tensor], Dict[str, Tensor]]:
    """The detector's encoder memory, the decoder inputs of its ``pre_transformer`` and
    those of its ``pre_decoder`` that make its own queries (eval mode: no denoising)."""
    encoder_inputs, meta = detector.pre_transformer(tuple(neck_feats), batch_data_samples)
    decoder_inputs, _ = detector.pre_decoder(**detector.forward_encoder(**encoder_inputs))
    memory = decoder_inputs.pop('memory')
    decoder_inputs.pop('dn_mask', None)
    return memory, meta, decoder_inputs


def _concat(first: Dict[str, Tensor], second: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Two sets of decoder query inputs as one, along the query axis."""
    if not second:
        return first
    return {key: torch.cat([first[key], second[key]], dim=1) for key in first}


def _check_supported(detector: nn.Module, role: str) -> None:
    if type(detector) in SUPPORTED:
        if isinstance(detector, DABDETR) and (detector.num_patterns
                                              or detector.decoder.query_dim != 4):
            raise ValueError(
                f'DETRPredictionKD: the {role} DAB-DETR has num_patterns='
                f'{detector.num_patterns} and query_dim={detector.decoder.query_dim}; '
                'only one query per 4-d anchor (num_patterns=0, query_dim=4, as in '
                "mmdet's configs) can be placed at a box.")
        head = detector.bbox_head
        if not head.loss_cls.use_sigmoid:
            raise ValueError(
                f'DETRPredictionKD weights each point by the teacher\'s largest class '
                f'probability of a sigmoid classifier; the {role}\'s {type(head).__name__} '
                'uses a softmax one. Use the sigmoid focal loss of mmdet\'s configs.')
        return
    head = next((getattr(detector, name) for name in ('bbox_head', 'roi_head', 'panoptic_head')
                 if getattr(detector, name, None) is not None), None)
    advice = FEATURE_DISTILLERS if isinstance(detector, DetectionTransformer) else (
        f'use KD for the logits of RoI and dense heads, or {FEATURE_DISTILLERS}')
    raise ValueError(
        f"DETRPredictionKD decodes shared points with the decoders of mmdet's "
        f'DeformableDETR (plain, with_box_refine or as_two_stage), DINO and DABDETR; the '
        f'{role} is a {type(detector).__name__} with a {type(head).__name__}. For it, '
        f'{advice}.')
