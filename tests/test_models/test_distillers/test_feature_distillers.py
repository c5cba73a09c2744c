"""The feature distillers (PKD, CWD, MGD, FGD) together on a real model: gradients reach the
student and each method's own modules only; build errors name the problem."""
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.runner import Runner

from mmkd.models.distillers import CWD, FGD, MGD, PKD
from mmkd.models.losses import ChannelWiseDivergenceLoss, FGDLoss
from mmkd.testing import small_run_config

from helpers import DEMO_METHODS, demo_config, levels, set_up


def test_build_errors_name_the_problem():
    with pytest.raises(ValueError, match='adapter_kernel=None; set adapter_kernel=1'):
        set_up(PKD('neck', adapter_kernel=None), levels((64, 8)), levels((128, 8)))
    with pytest.raises(ValueError, match=r'pairs levels by index.*2 level\(s\)'):
        set_up(PKD('neck'), levels((8, 4), (8, 8)), levels((8, 4)))
    with pytest.raises(ValueError, match='outside them'):
        set_up(PKD('roi_head'), None, levels((8, 4)))
    for cls in (CWD, MGD, FGD):
        with pytest.raises(ValueError, match='Enable the adapter'):
            set_up(cls('neck', adapter_kernel=None), levels((64, 8)), levels((128, 8)))
        with pytest.raises(ValueError, match='different strides'):
            set_up(cls('neck'), levels((64, 8)), levels((64, 16)))
    with pytest.raises(ValueError, match='mask_ratio must be in'):
        MGD('neck', mask_ratio=1.)
    with pytest.raises(ValueError, match='tau must be > 0'):
        ChannelWiseDivergenceLoss(tau=0)
    with pytest.raises(ValueError, match='temperature must be > 0'):
        FGDLoss(temperature=0)


@pytest.fixture(scope='module')
def all_methods_model(configs_dir, shapes_data, tmp_path_factory):
    """The demo pair (64-channel student, 128-channel teacher) with the four distillers."""
    cfg = Config.fromfile(demo_config(configs_dir, 'pkd'))
    for method in DEMO_METHODS[1:]:
        cfg.model.distillers.update(Config.fromfile(demo_config(configs_dir, method))
                                    .model.distillers)
    cfg = small_run_config(cfg, shapes_data, str(tmp_path_factory.mktemp('all')), max_iters=1)
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    batch = runner.model.data_preprocessor(next(runner.train_loop.dataloader_iterator), True)
    return runner.model, batch


def test_gradients_reach_the_student_and_each_methods_modules_only(all_methods_model):
    model, batch = all_methods_model
    model.train()
    teacher_before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    fgd = model.distillers['fgd']
    for block in [*fgd.student_context, *fgd.teacher_context]:
        # the GcBlocks start as the identity (last conv 0), which blocks the gradient of
        # their other layers at the first step; move off it so every parameter is seen
        torch.nn.init.normal_(block.channel_add_conv[-1].weight, std=0.01)
    losses = model(**batch, mode='loss')
    assert all(not p.requires_grad for p in model.teacher.parameters())
    student_neck = [p for p in model.student.neck.parameters()]
    for name, distiller in model.distillers.items():
        total = sum(v for k, v in losses.items() if k.startswith(f'distill_{name}_'))
        assert torch.isfinite(total) and total.item() > 0, name
        own_names, own = zip(*distiller.named_parameters())
        grads = torch.autograd.grad(total, student_neck + list(own), retain_graph=True,
                                    allow_unused=True)
        assert any(g is not None and g.abs().sum() > 0 for g in grads[:len(student_neck)]), name
        for param_name, grad in zip(own_names, grads[len(student_neck):]):
            assert grad is not None, f'{name}.{param_name}'
            # a GcBlock's attention logits go through a softmax over positions, which a
            # constant bias does not change: that bias gets a zero gradient by design
            assert grad.abs().sum() > 0 or param_name.endswith('conv_mask.bias'), \
                f'{name}.{param_name}'
        others = [p for other, d in model.distillers.items() if other != name
                  for p in d.parameters()]
        assert all(g is None for g in torch.autograd.grad(total, others, retain_graph=True,
                                                          allow_unused=True)), name
    counts = {name: sum(p.numel() for p in d.parameters()) for name, d in model.distillers.items()}
    assert counts['pkd'] == 4 * (64 * 128 + 128)  # 1x1 adapters of P2..P5 only
    assert len(fgd.student_context) == len(fgd.teacher_context) == 4  # both sides learn
    model.parse_losses(losses)[0].backward()  # the total the optimizer steps on
    assert all(p.grad is None for p in model.teacher.parameters())
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher_before[key]), key


def test_fgd_on_a_batch_without_ground_truth_boxes_fails_clearly(all_methods_model):
    model, batch = all_methods_model
    data_samples = [DetDataSample(metainfo=s.metainfo) for s in batch['data_samples']]
    student, teacher = [torch.randn(len(data_samples), 64, 8, 8)], \
        [torch.randn(len(data_samples), 128, 8, 8)]
    fgd = FGD('neck')
    set_up(fgd, levels((64, 16)), levels((128, 16)))
    with pytest.raises(ValueError, match='FGD needs ground-truth boxes'):
        fgd(student, teacher, data_samples)
