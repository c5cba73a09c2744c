"""FitNet: the loss on real Faster R-CNN features against a hand computation."""
import torch

from mmkd.testing import small_run_config

from helpers import build_model, one_batch


def test_fitnet_loss_value_matches_hand_computation(fitnet_cfg, shapes_data, tmp_path):
    run_cfg = small_run_config(fitnet_cfg, shapes_data, str(tmp_path))
    model = build_model(fitnet_cfg.model)
    model.init_weights()
    data = one_batch(model, run_cfg)
    losses = model.loss(**data)
    with torch.no_grad():
        student = model.student.extract_feat(data['inputs'])
        teacher = model.teacher.extract_feat(data['inputs'])
        expected = sum(((adapter(s) - t) ** 2).mean()
                       for adapter, s, t in zip(model.distillers.fitnet.adapters, student, teacher))
    assert len(student) == 5
    torch.testing.assert_close(losses['distill_fitnet_loss'], expected)
