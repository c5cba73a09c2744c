"""Every mmdet 3.3 detector family (:mod:`experiments.families`) distils through a full
run: a distillation config of an mmdet student and teacher, made a small CPU run by
``mmkd.testing.small_run_config``, trains one step with ``mmkd.DistillationRunner`` and
logs a finite distillation loss."""
import math

import pytest
from mmengine.registry import RUNNERS

from experiments.families import FAMILIES, family_config
from mmkd.testing import small_run_config


@pytest.mark.parametrize('name', list(FAMILIES))
def test_family_distils_one_step(name, shapes_data, tmp_path):
    cfg = small_run_config(family_config(name), shapes_data, str(tmp_path), max_iters=1,
                           image_size=FAMILIES[name]['image_size'])
    # The step is under test, not saving both detectors (Hourglass-104's take seconds).
    cfg.default_hooks.checkpoint = None
    runner = RUNNERS.build(cfg)
    runner.train()
    assert runner.iter == 1
    logged = runner.message_hub.get_scalar('train/distill_fitnet_loss').current()
    assert math.isfinite(logged) and logged > 0
    assert math.isfinite(runner.message_hub.get_scalar('train/loss').current())


def test_small_run_config_adapts_each_family(shapes_data, tmp_path):
    """The rules behind the runs above, read off the configs: masks loaded for every
    head trained on them, query counts and query-based cascades capped, panoptic heads
    made instance heads of the dataset's classes, YOLOX's dataset hook dropped."""
    def small(name):
        return small_run_config(family_config(name), shapes_data, str(tmp_path))

    def loads_masks(cfg):
        load = next(t for t in cfg.train_dataloader.dataset.pipeline
                    if t['type'] == 'LoadAnnotations')
        return load['with_mask']

    for name in ('rtmdet-ins', 'solov2', 'condinst', 'mask2former', 'queryinst'):
        assert loads_masks(small(name)), name
    dino = small('dino')
    assert not loads_masks(dino)
    assert dino.model.student.num_queries == dino.model.teacher.num_queries == 20
    assert dino.model.student.dn_cfg.group_cfg.num_dn_queries == 20
    queryinst = small('queryinst').model.student
    assert queryinst.rpn_head.num_proposals == 20
    assert queryinst.roi_head.num_stages == len(queryinst.roi_head.stage_loss_weights) == 3
    assert len(queryinst.roi_head.bbox_head) == len(queryinst.roi_head.mask_head) == 3
    assert len(queryinst.train_cfg.rcnn) == 3
    mask2former = small('mask2former').model.student
    head = mask2former.panoptic_head
    assert (head.num_things_classes, head.num_stuff_classes, head.num_queries) == (3, 0, 20)
    assert head.loss_cls.class_weight == [1.0, 1.0, 1.0, 0.1]
    assert mask2former.panoptic_fusion_head.num_things_classes == 3
    hooks = [hook['type'] for hook in small('yolox').custom_hooks]
    assert hooks == ['SyncNormHook', 'EMAHook']  # YOLOXModeSwitchHook needs its dataset
