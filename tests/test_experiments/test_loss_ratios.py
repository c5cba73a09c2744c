"""tools/loss_ratios.py: each distiller's loss and neck-output gradient against the
detection loss's, at the config's weights."""
import pytest
import torch
from mmengine.runner import set_random_seed

from experiments import loss_ratios
from experiments.cost import at_iteration
from experiments.errors import InputValueError
from mmkd.models.loss_balance import total_loss

from helpers import build, fitnet_config

WEIGHT = 0.2


def ratios(cfg):
    return loss_ratios.measure(cfg, batches=1, iteration=0, seed=0)['fitnet']


def test_ratios_match_a_backward_pass_and_scale_with_the_loss_weight(shapes_data, tmp_path):
    cfg = fitnet_config(shapes_data, tmp_path, max_iters=2,
                        loss_balance=dict(ratio=100.0, warmup_iters=1))
    cfg.model.distillers.fitnet.loss.loss_weight = WEIGHT
    measured = ratios(cfg)

    # Independently: one backward pass per loss, the gradients read off the neck outputs;
    # the same seed, so the same initialisation, images and random flips.
    set_random_seed(0)
    cfg.model.pop('loss_balance')
    model, batch = build(cfg)
    model.train()
    outputs = []
    model.student.neck.register_forward_hook(lambda m, a, out: outputs.append(out))
    with at_iteration(0):
        losses = model(**model.data_preprocessor(batch, True), mode='loss')
    task = total_loss({k: v for k, v in losses.items() if not k.startswith('distill_')})
    distill = losses['distill_fitnet_loss']
    norms = []
    for loss in (task, distill):
        for level in outputs[0]:
            level.retain_grad()
            level.grad = None
        loss.backward(retain_graph=True)
        norms.append(torch.cat([level.grad.flatten() for level in outputs[0]]).norm().item())
    assert measured['loss_ratio'] == pytest.approx(distill.item() / task.item(), rel=1e-5)
    assert measured['grad_ratio'] == pytest.approx(norms[1] / norms[0], rel=1e-4)
    # loss_balance is left out: the ratios are at the configured weight, and double with it.
    cfg.model.distillers.fitnet.loss.loss_weight = 2 * WEIGHT
    doubled = ratios(cfg)
    assert doubled['loss_ratio'] == pytest.approx(2 * measured['loss_ratio'], rel=1e-5)
    assert doubled['grad_ratio'] == pytest.approx(2 * measured['grad_ratio'], rel=1e-4)


def test_a_plain_detector_config_is_refused(shapes_data, tmp_path):
    cfg = fitnet_config(shapes_data, tmp_path, max_iters=2)
    cfg.model = cfg.model.student
    with pytest.raises(InputValueError, match='no model.distillers'):
        loss_ratios.measure(cfg, batches=1)
