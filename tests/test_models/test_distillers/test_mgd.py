"""MGD: the generator and loss against the formula, the random mask, a reproducible run
and an export without the generators."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.runner import Runner

from mmkd.export import export_detector
from mmkd.models.distillers import MGD
from mmkd.models.layers import MGDGenerator
from mmkd.models.losses import MGDLoss
from mmkd.testing import small_run_config

from helpers import demo_config, levels, set_up


def test_mgd_with_a_fixed_mask_matches_the_formula():
    torch.manual_seed(3)
    generator = MGDGenerator(4, mask_ratio=0.5)
    feat, teacher = torch.randn(2, 4, 5, 6), torch.randn(2, 4, 5, 6)
    mask = (torch.rand(2, 1, 5, 6) > 0.5).float()
    conv1, conv2 = generator.generation[0], generator.generation[2]
    hidden = F.relu(F.conv2d(feat * mask, conv1.weight, conv1.bias, padding=1))
    expected_gen = F.conv2d(hidden, conv2.weight, conv2.bias, padding=1)
    generated = generator(feat, mask)
    torch.testing.assert_close(generated, expected_gen)
    expected = 2e-5 * sum(((generated[i] - teacher[i]) ** 2).sum() for i in range(2)) / 2
    assert MGDLoss()([generated], [teacher]).item() == pytest.approx(expected.item(), rel=1e-5)


def test_mgd_mask_drops_whole_positions_at_the_ratio_and_follows_the_seed():
    generator = MGDGenerator(3, mask_ratio=0.65)
    mask = generator.random_mask(torch.zeros(4, 3, 50, 50))
    assert mask.shape == (4, 1, 50, 50)  # one mask for all channels of a position
    assert 1 - mask.mean().item() == pytest.approx(0.65, abs=0.02)
    distiller = MGD('neck', mask_ratio=0.65)
    set_up(distiller, levels((8, 8), (8, 16)), levels((16, 8), (16, 16)))
    s = [torch.randn(2, 8, 6, 6), torch.randn(2, 8, 3, 3)]
    t = [torch.randn(2, 16, 6, 6), torch.randn(2, 16, 3, 3)]

    def loss(seed):
        torch.manual_seed(seed)
        return distiller(s, t, None)['loss'].item()
    assert loss(5) == loss(5)
    assert loss(5) != loss(6)


def test_mgd_run_is_reproducible_and_its_generators_stay_out_of_the_export(
        configs_dir, shapes_data, tmp_path):
    def first_loss(seed, work_dir):
        cfg = small_run_config(demo_config(configs_dir, 'mgd'), shapes_data, work_dir,
                               max_iters=1, image_size=64)
        cfg.randomness = dict(seed=seed)
        runner = Runner.from_cfg(cfg)
        runner.train()
        return runner, runner.message_hub.get_scalar('train/distill_mgd_loss').current()
    runner, loss = first_loss(7, str(tmp_path / 'a'))
    assert first_loss(7, str(tmp_path / 'b'))[1] == loss  # another seed: see the mask test
    checkpoint = osp.join(str(tmp_path / 'a'), 'iter_1.pth')
    weights, _ = export_detector(demo_config(configs_dir, 'mgd'), checkpoint,
                                 str(tmp_path / 'export'))
    exported = torch.load(weights, map_location='cpu')['state_dict']
    assert set(exported) == set(runner.model.student.state_dict())
    assert not any('generation' in key or 'distillers' in key for key in exported)
