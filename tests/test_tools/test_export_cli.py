"""tools/export_student.py: the exported student loads in plain mmdet with the same
predictions; plain detector checkpoints are refused."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from helpers import run_tool

PLAIN_MMDET = '''
import sys, torch
from mmdet.apis import init_detector, inference_detector
from mmengine.runner import load_state_dict
assert 'mmkd' not in sys.modules
torch.set_num_threads(1)  # same kernels as the in-process run: bit-identical outputs
config, weights, image, out = sys.argv[1:]
model = init_detector(config, weights, device='cpu')
state = torch.load(weights, weights_only=True)['state_dict']
load_state_dict(model, state, strict=True)  # raises on any missing/unexpected key
result = inference_detector(model, image)
torch.save(dict(bboxes=result.pred_instances.bboxes, scores=result.pred_instances.scores,
                classes=model.dataset_meta['classes']), out)
'''


def test_exported_student_loads_in_plain_mmdet_with_same_predictions(
        trained, shapes_data, tmp_path):
    from mmdet.apis import inference_detector
    from mmengine.registry import MODELS
    from mmengine.runner import load_checkpoint
    out_dir = str(tmp_path / 'export')
    run_tool('tools/export_student.py', trained['config'], trained['checkpoint'], out_dir)
    weights, config = osp.join(out_dir, 'student.pth'), osp.join(out_dir, 'student_config.py')
    state = torch.load(weights, weights_only=True)['state_dict']
    assert state and not any(k.startswith(('teacher.', 'distillers.', 'student.')) for k in state)

    image = osp.join(shapes_data['data_root'], 'val', '000001.png')
    script = tmp_path / 'plain_mmdet.py'
    script.write_text(PLAIN_MMDET)
    run_tool(str(script), config, weights, image, str(tmp_path / 'plain.pth'))
    plain = torch.load(tmp_path / 'plain.pth')

    # The distillation model from its own checkpoint, evaluated the mmdet way.
    cfg = Config.fromfile(trained['config'])
    distilled = MODELS.build(cfg.model)
    checkpoint = load_checkpoint(distilled, trained['checkpoint'], map_location='cpu')
    distilled.cfg, distilled.dataset_meta = cfg, checkpoint['meta']['dataset_meta']
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ours = inference_detector(distilled.eval(), image).pred_instances
    finally:
        torch.set_num_threads(threads)
    assert len(ours.bboxes) > 0
    assert torch.equal(plain['bboxes'], ours.bboxes) and torch.equal(plain['scores'], ours.scores)
    assert tuple(plain['classes']) == tuple(shapes_data['classes'])


def test_export_refuses_a_plain_detector_checkpoint(configs_dir, trained, tmp_path):
    from mmkd.export import export_detector
    with pytest.raises(ValueError, match='not a distillation config'):
        export_detector(osp.join(configs_dir, 'baselines/faster-rcnn_r18_fpn_1x_coco.py'),
                        trained['checkpoint'], str(tmp_path))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        export_detector(trained['config'], str(tmp_path / 'missing.pth'), str(tmp_path))
