"""tools/: train, resume, test (student and teacher), export to plain mmdet, CPU DDP."""
import os
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmkd.testing import small_run_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_tool(*args, env=None, timeout=600):
    env = dict(os.environ, **(env or {}))
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, \
        f'{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}'
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def trained(configs_dir, shapes_data, tmp_path_factory):
    """A FitNet R101->R18 Faster R-CNN config trained 2 iterations through tools/train.py."""
    work_dir = str(tmp_path_factory.mktemp('fitnet_run'))
    cfg = small_run_config(osp.join(configs_dir, 'fitnet/faster-rcnn_r101-r18_fpn_1x_coco.py'),
                           shapes_data, work_dir, max_iters=2, val=True)
    # (not in the work dir, where the Runner dumps the config of each run)
    config = str(tmp_path_factory.mktemp('fitnet_config') / 'config.py')
    cfg.dump(config)
    log = run_tool('tools/train.py', config, '--work-dir', work_dir)
    return dict(config=config, work_dir=work_dir, log=log,
                checkpoint=osp.join(work_dir, 'iter_2.pth'))


def test_train_cli_trains_with_the_distillation_loss(trained):
    assert osp.isfile(trained['checkpoint'])
    assert 'distill_fitnet_loss' in trained['log']
    assert 'coco/bbox_mAP' in trained['log']  # the student was evaluated after training


def test_checkpoints_load_with_weights_only_and_nothing_else(trained, tmp_path):
    checkpoint = torch.load(trained['checkpoint'], weights_only=True)
    assert {'state_dict', 'meta', 'optimizer', 'message_hub'} <= set(checkpoint)
    assert getattr not in torch.serialization.get_safe_globals()
    assert not any(g in torch.serialization.get_safe_globals() for g in (eval, exec, os.system))

    path = str(tmp_path / 'foreign.pth')
    torch.save(dict(state_dict={}, meta=dict(hook=Config)), path)  # an arbitrary class
    with pytest.raises(pickle.UnpicklingError, match='mmengine.config.config.Config'):
        torch.load(path)


def test_resume_continues_from_the_checkpoint(trained):
    log = run_tool('tools/train.py', trained['config'], '--work-dir', trained['work_dir'],
                   '--resume', trained['checkpoint'],
                   '--cfg-options', 'train_cfg.max_iters=3', 'train_cfg.val_interval=10')
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/3]' in log and 'Iter(train) [1/3]' not in log
    assert osp.isfile(osp.join(trained['work_dir'], 'iter_3.pth'))


def test_test_cli_evaluates_student_and_teacher(trained):
    student = run_tool('tools/test.py', trained['config'], trained['checkpoint'],
                       '--work-dir', trained['work_dir'])
    teacher = run_tool('tools/test.py', trained['config'], trained['checkpoint'], '--teacher',
                       '--work-dir', trained['work_dir'])
    assert 'coco/bbox_mAP' in student and 'coco/bbox_mAP' in teacher


def test_test_cli_teacher_flag_needs_a_distillation_config(configs_dir, trained):
    result = subprocess.run(
        [sys.executable, 'tools/test.py',
         osp.join(configs_dir, 'baselines/faster-rcnn_r18_fpn_1x_coco.py'),
         trained['checkpoint'], '--teacher'], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and '--teacher needs a distillation config' in result.stderr


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


def test_two_process_cpu_ddp(configs_dir, shapes_data, tmp_path):
    """tools/dist_train.sh with 2 gloo processes: both ranks train, the teacher stays put."""
    cfg = small_run_config(osp.join(configs_dir, 'fitnet/faster-rcnn_r101-r18_fpn_1x_coco.py'),
                           shapes_data, str(tmp_path), max_iters=2, batch_size=1)
    cfg.model.teacher.backbone.depth = 50  # the lighter teacher keeps this test short
    config = str(tmp_path / 'config.py')
    cfg.dump(config)
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1',
               PORT=str(29500 + os.getpid() % 1000))
    result = subprocess.run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir',
                             str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert 'Distributed training: True' in output and 'GPU number: 2' in output  # (processes)
    checkpoint = torch.load(str(tmp_path / 'iter_2.pth'), weights_only=True)
    assert any(k.startswith('distillers.fitnet.adapters') for k in checkpoint['state_dict'])
