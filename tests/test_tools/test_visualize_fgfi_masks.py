"""tools/visualize_fgfi_masks.py: one PNG per image with a panel per level, and its errors."""
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmkd.testing import small_run_config

from helpers import fgfi_config_path


def test_visualize_tool_draws_one_png_per_image_with_a_panel_per_level(configs_dir,
                                                                       shapes_data, tmp_path):
    sys.path.insert(0, osp.join(osp.dirname(configs_dir), 'tools'))
    try:
        import visualize_fgfi_masks as tool
    finally:
        sys.path.pop(0)
    cfg = small_run_config(fgfi_config_path(configs_dir, 'mask-rcnn_r50-mv2_fpn_1x_coco'),
                           shapes_data, str(tmp_path / 'work'))
    cfg.train_dataloader.dataset.pipeline = [  # no random flip: known boxes
        t for t in cfg.train_dataloader.dataset.pipeline if t['type'] != 'RandomFlip']
    cfg_file = str(tmp_path / 'fgfi_cfg.py')
    cfg.dump(cfg_file)
    out = tmp_path / 'out'
    written = tool.main([cfg_file, '--out-dir', str(out), '--num-images', '4'])
    assert len(written) == 4 and all(osp.isfile(p) for p in written)
    image = cv2.imread(written[0])
    panel_w = 128
    assert image.shape == (tool.TITLE_HEIGHT + 128, 5 * panel_w + 4 * 4, 3)

    # The tinted/outlined area of each panel is the mask upsampled around anchor centres.
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    item = DATASETS.build(cfg.train_dataloader.dataset)[0]
    student, distiller, recorder, names = tool.build(Config.fromfile(cfg_file), None)
    assert names == ['P2', 'P3', 'P4', 'P5', 'P6']
    masks, sizes, sample = tool.image_masks(student, distiller, recorder, item)
    assert sum(int(m.sum()) for m in masks) > 0
    original = item['inputs'].permute(1, 2, 0).numpy().astype(np.float32)
    for level, mask in enumerate(masks):
        stride = 4 * 2 ** level
        pixels = tool.mask_to_pixels(mask, (0., 0.), (stride, stride), (128, 128))
        # a location's cell is the stride x stride square centred on its anchor centre
        i, j = np.argwhere(mask)[0] if mask.any() else (0, 0)
        if mask.any():
            assert pixels[i * stride, j * stride]
            assert pixels[min(i * stride + stride // 2 - 1, 127),
                          min(j * stride + stride // 2 - 1, 127)]
        assert pixels.sum() >= mask.sum()
        x0 = level * (panel_w + 4)
        panel = image[tool.TITLE_HEIGHT:, x0:x0 + panel_w].astype(np.float32)
        # outside the mask (away from outlines/boxes) the image is dimmed
        dimmed = (~pixels) & (np.abs(panel - tool.DIM * original).max(-1) <= 1)
        assert dimmed.sum() >= 0.5 * (~pixels).sum()
        assert not (dimmed & pixels).any()


def test_visualize_tool_refuses_configs_without_fgfi(configs_dir, shapes_data, tmp_path):
    sys.path.insert(0, osp.join(osp.dirname(configs_dir), 'tools'))
    try:
        import visualize_fgfi_masks as tool
    finally:
        sys.path.pop(0)
    cfg = Config.fromfile(fgfi_config_path(configs_dir, 'faster-rcnn_r101-r18_fpn_1x_coco'))
    with pytest.raises(ValueError, match="no FGFI distiller of that name; FGFI distillers: "
                                         r"\['fgfi'\]"):
        tool.fgfi_config(cfg.model, 'other')
    cfg.model.distillers = dict(fitnet=dict(type='FitNet', student='neck'))
    with pytest.raises(ValueError, match='has no FGFI distiller'):
        tool.fgfi_config(cfg.model, None)
