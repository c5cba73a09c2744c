"""FGFI: the distiller's checks and masks, and its six configs on real Faster / Mask R-CNN
models (gradients, loss value, empty batches, warm-up)."""
import math
import os.path as osp

import pytest
import torch
from mmdet.registry import TASK_UTILS
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.structures import InstanceData
from torch import nn

from mmkd.models.distillers import FGFI
from mmkd.models.distillers.imitation_mask import imitation_masks
from mmkd.models.recorder import FeatureLevel
from mmkd.testing import small_run_config

from helpers import fgfi_config_path, set_up

PAIRS = {  # config name: (teacher, student)
    'faster-rcnn_r101-r18_fpn_1x_coco': ('r101', 'r18'),
    'faster-rcnn_r101-r50_fpn_1x_coco': ('r101', 'r50'),
    'faster-rcnn_r50-mv2_fpn_1x_coco': ('r50', 'mv2'),
    'mask-rcnn_r101-r18_fpn_1x_coco': ('r101', 'r18'),
    'mask-rcnn_r101-r50_fpn_1x_coco': ('r101', 'r50'),
    'mask-rcnn_r50-mv2_fpn_1x_coco': ('r50', 'mv2'),
}


def rpn_anchor_generator():
    return TASK_UTILS.build(dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
                                 strides=[4, 8, 16, 32, 64]))


class FakeStudent(nn.Module):
    def __init__(self):
        super().__init__()
        self.rpn_head = nn.Module()
        self.rpn_head.prior_generator = rpn_anchor_generator()


def level(channels: int, size: int) -> FeatureLevel:
    """The probe level of a ``size`` x ``size`` feature map for a 128x128 input."""
    return FeatureLevel(channels=channels, stride=128 // size, spec='neck')


def test_distiller_refuses_bad_settings():
    with pytest.raises(ValueError, match='psi must be in'):
        FGFI(psi=0)
    with pytest.raises(ValueError, match="max_iou_over must be 'all'"):
        FGFI(max_iou_over='global')
    with pytest.raises(ValueError, match='adapter_kernel must be an odd'):
        FGFI(adapter_kernel=2)
    with pytest.raises(ValueError, match="no anchor generator at 'rpn_head.prior_generator'"):
        set_up(FGFI(), [level(8, 32)], [level(16, 32)], student=nn.Module())
    with pytest.raises(ValueError, match=r'level 0 has stride 2 .* strides \[4, 8, 16'):
        set_up(FGFI(), [level(8, 64)], [level(16, 64)], student=FakeStudent())
    with pytest.raises(RuntimeError, match='not set up'):
        FGFI().imitation_masks([(64, 64)], [], 'cpu')
    with pytest.raises(ValueError, match='channels'):
        set_up(FGFI(adapter_kernel=None), [level(8, 32)], [level(16, 32)])


def test_levels_are_matched_to_anchor_levels_by_stride():
    distiller = FGFI(student='backbone', adapter_relu=True)
    student = [level(64 * 2 ** i, 32 // 2 ** i) for i in range(4)]
    teacher = [level(256 * 2 ** i, 32 // 2 ** i) for i in range(4)]
    set_up(distiller, student, teacher, student=FakeStudent())
    assert distiller.anchor_levels == [0, 1, 2, 3]
    conv, relu = distiller.adapters[2]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (256, 1024, (3, 3))
    assert isinstance(relu, nn.ReLU)
    assert conv.weight.std().item() == pytest.approx(1e-4, rel=0.1)
    assert not any(n.startswith('_prior') for n, _ in distiller.named_modules())
    distiller = FGFI(student='neck[3:]')  # P5, P6 only
    set_up(distiller, [level(256, 4), level(256, 2)], [level(256, 4), level(256, 2)],
           student=FakeStudent())
    assert distiller.anchor_levels == [3, 4]


def test_distiller_masks_use_the_student_anchors_and_each_image_shape():
    from mmdet.structures import DetDataSample
    distiller = FGFI(student='neck')
    shapes = [level(256, 32 // 2 ** i) for i in range(5)]
    set_up(distiller, shapes, shapes, student=FakeStudent())
    samples = []
    for boxes, img_shape in (([[10., 12, 60, 50], [70, 80, 100, 118]], (120, 110)),
                             ([], (90, 128))):
        sample = DetDataSample(metainfo=dict(img_shape=img_shape))
        sample.gt_instances = InstanceData(bboxes=torch.tensor(boxes).reshape(-1, 4))
        samples.append(sample)
    sizes = [(32, 32), (16, 16), (8, 8), (4, 4), (2, 2)]
    masks = distiller.imitation_masks(sizes, samples, 'cpu')
    generator = rpn_anchor_generator()
    expected = imitation_masks(generator.grid_priors(sizes, device='cpu'), sizes,
                               [s.gt_instances.bboxes for s in samples],
                               [(120, 110), (90, 128)])
    assert [m.shape for m in masks] == [(2, *size) for size in sizes]
    assert all(torch.equal(m, e) for m, e in zip(masks, expected))
    assert masks[0][0].any() and not any(m[1].any() for m in masks)


@pytest.mark.parametrize('name', sorted(PAIRS))
def test_config_inherits_its_baseline(configs_dir, name):
    teacher, student = PAIRS[name]
    detector = name.split('_')[0]
    cfg = Config.fromfile(fgfi_config_path(configs_dir, name))
    base = Config.fromfile(osp.join(configs_dir, 'baselines',
                                    f'{detector}_{student}_fpn_1x_coco.py'))
    assert cfg.model.student == base.model
    for key in ('train_cfg', 'optim_wrapper', 'param_scheduler', 'train_dataloader'):
        assert cfg[key] == base[key], key
    fgfi = cfg.model.distillers.fgfi
    assert fgfi.type == 'FGFI' and fgfi.student == fgfi.teacher == 'neck'
    assert (fgfi.psi, fgfi.max_iou_over, fgfi.warmup_iters, fgfi.warmup) == \
        (0.5, 'all', 400, 'step')
    assert fgfi.loss == dict(type='ImitationLoss', loss_weight=0.02)
    assert cfg.model.teacher == (f'mmdet::{detector.replace("-", "_")}/{detector}_{teacher}_fpn_'
                                 + ('ms-3x_coco.py' if detector == 'faster-rcnn'
                                    else 'ms-poly-3x_coco.py'))
    assert f'{detector.replace("-", "_")}_{teacher}_fpn_mstrain' in cfg.model.teacher_ckpt


def train_config(configs_dir, shapes_data, tmp_path, name, **fgfi_overrides):
    cfg = small_run_config(fgfi_config_path(configs_dir, name), shapes_data, str(tmp_path),
                           max_iters=1)
    cfg.default_hooks.checkpoint = None
    cfg.model.distillers.fgfi.warmup_iters = 0  # the loss from the first iteration
    cfg.model.distillers.fgfi.update(fgfi_overrides)
    return cfg


def check_gradients(model, names=('fgfi', )):
    """Backward the FGFI loss alone: adapters and student get gradients, heads and the
    teacher none."""
    for name in names:
        adapters = model.distillers[name].adapters
        grads = [a.weight.grad for a in adapters]
        assert all(g is not None for g in grads)
        assert grads[0].abs().sum() > 0  # P2 (C2) always has positives here
    assert not any(p.requires_grad or p.grad is not None for p in model.teacher.parameters())
    trainable = [(n, p) for n, p in model.student.backbone.named_parameters() if p.requires_grad]
    assert trainable
    for pname, param in trainable:
        assert param.grad is not None and param.grad.abs().sum() > 0, pname
    assert model.student.neck.lateral_convs[0].conv.weight.grad.abs().sum() > 0
    for head in (model.student.rpn_head, model.student.roi_head):
        assert all(p.grad is None for p in head.parameters())


def one_batch(runner):
    model = runner.model
    model.train()
    return model.data_preprocessor(next(runner.train_loop.dataloader_iterator), True)


@pytest.mark.parametrize('name', sorted(set(PAIRS) - {'faster-rcnn_r101-r18_fpn_1x_coco'}))
def test_config_trains_with_gradients_into_adapters_and_student(configs_dir, shapes_data,
                                                                tmp_path, name):
    runner = Runner.from_cfg(train_config(configs_dir, shapes_data, tmp_path, name))
    model = runner.model
    assert model.distillers['fgfi'].anchor_levels == [0, 1, 2, 3, 4]
    data = one_batch(runner)
    losses = model(**data, mode='loss')
    distill = losses['distill_fgfi_loss']
    assert torch.isfinite(distill) and distill.item() > 0
    distill.backward()
    check_gradients(model)
    model.zero_grad(set_to_none=True)
    runner.train()
    logged = runner.message_hub.get_scalar('train/distill_fgfi_loss').current()
    assert math.isfinite(logged) and logged > 0


@pytest.fixture(scope='module')
def faster_runner(configs_dir, shapes_data, tmp_path_factory):
    """Faster R-CNN R101 -> R18 with FGFI on the FPN and a second FGFI on the backbone."""
    name = 'faster-rcnn_r101-r18_fpn_1x_coco'
    cfg = train_config(configs_dir, shapes_data, tmp_path_factory.mktemp('fgfi'), name)
    cfg.model.distillers.fgfi_backbone = dict(type='FGFI', student='backbone',
                                              teacher='backbone', warmup_iters=0)
    return Runner.from_cfg(cfg)


def test_faster_config_trains_fpn_and_backbone_imitation(faster_runner):
    model = faster_runner.model
    assert model.distillers['fgfi'].anchor_levels == [0, 1, 2, 3, 4]
    backbone = model.distillers['fgfi_backbone']
    assert backbone.anchor_levels == [0, 1, 2, 3]
    assert [(a.in_channels, a.out_channels) for a in backbone.adapters] == \
        [(64, 256), (128, 512), (256, 1024), (512, 2048)]
    data = one_batch(faster_runner)
    losses = model(**data, mode='loss')
    for key in ('distill_fgfi_loss', 'distill_fgfi_backbone_loss'):
        assert torch.isfinite(losses[key]) and losses[key].item() > 0
    (losses['distill_fgfi_loss'] + losses['distill_fgfi_backbone_loss']).backward()
    check_gradients(model, ('fgfi', 'fgfi_backbone'))
    model.zero_grad(set_to_none=True)
    faster_runner.train()
    for key in ('distill_fgfi_loss', 'distill_fgfi_backbone_loss'):
        logged = faster_runner.message_hub.get_scalar(f'train/{key}').current()
        assert math.isfinite(logged) and logged > 0


def test_loss_value_on_real_features_matches_an_independent_computation(faster_runner):
    model = faster_runner.model
    distiller = model.distillers['fgfi']
    torch.manual_seed(1)
    for adapter in distiller.adapters:  # large enough that the adapter matters
        nn.init.normal_(adapter.weight, std=0.02)
    data = one_batch(faster_runner)
    with torch.no_grad():
        losses = model(**data, mode='loss')
        student = model.student.extract_feat(data['inputs'])
        teacher = model.teacher.extract_feat(data['inputs'])
    generator = model.student.rpn_head.prior_generator
    sizes = [tuple(f.shape[2:]) for f in student]
    anchors = generator.grid_priors(sizes, device='cpu')
    total, num_pos = 0., 0
    for n, sample in enumerate(data['data_samples']):
        boxes = sample.gt_instances.bboxes
        boxes = getattr(boxes, 'tensor', boxes)
        assert len(boxes)
        h, w = sample.img_shape
        # the mask written out for this image: IoU of anchors whose centre lies inside
        level_ious = []
        for level_anchors in anchors:
            x1, y1, x2, y2 = level_anchors.double().unbind(1)
            ix = (torch.min(x2[:, None], boxes[:, 2].double()) -
                  torch.max(x1[:, None], boxes[:, 0].double())).clamp(min=0)
            iy = (torch.min(y2[:, None], boxes[:, 3].double()) -
                  torch.max(y1[:, None], boxes[:, 1].double())).clamp(min=0)
            inter = ix * iy
            area_b = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).double()
            iou = inter / ((x2 - x1) * (y2 - y1))[:, None].add(area_b[None]).sub(inter)
            inside = ((x1 + x2) / 2 < w) & ((y1 + y2) / 2 < h)
            level_ious.append(iou * inside[:, None])
        best = torch.stack([iou.max(0).values for iou in level_ious]).max(0).values
        for level, (iou, (fh, fw)) in enumerate(zip(level_ious, sizes)):
            mask = (iou > 0.5 * best).any(1).view(fh, fw, -1).any(-1)
            with torch.no_grad():
                adapted = distiller.adapters[level](student[level][n:n + 1])[0]
            diff = (adapted - teacher[level][n]).double().pow(2).sum(0)
            total += diff[mask].sum().item()
            num_pos += int(mask.sum())
    assert num_pos > 0
    expected = 0.02 * total / (2 * num_pos)
    assert losses['distill_fgfi_loss'].item() == pytest.approx(expected, rel=1e-4)


def test_batch_without_boxes_gives_zero_loss_and_training_goes_on(faster_runner):
    model = faster_runner.model
    data = one_batch(faster_runner)
    for sample in data['data_samples']:
        sample.gt_instances = InstanceData(bboxes=torch.zeros(0, 4),
                                           labels=torch.zeros(0, dtype=torch.long))
    losses = model(**data, mode='loss')
    assert losses['distill_fgfi_loss'].item() == 0
    assert losses['distill_fgfi_backbone_loss'].item() == 0
    total = sum(v.sum() for k, v in losses.items() if 'loss' in k
                for v in (v if isinstance(v, list) else [v]))
    assert torch.isfinite(total)
    total.backward()
    for name in ('fgfi', 'fgfi_backbone'):
        for p in model.distillers[name].parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all()
    model.zero_grad(set_to_none=True)


def test_default_warmup_keeps_the_loss_off_for_400_iterations():
    distiller = FGFI()
    assert [distiller.schedule_factor(i, 0) for i in (0, 399, 400, 5000)] == [0, 0, 1, 1]
