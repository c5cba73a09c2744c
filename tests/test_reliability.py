"""Training never loses work and never goes silently wrong (issue 9).

Non-finite losses stop (or skip) before the update and never cost the last good
checkpoint; resume is bit-exact; exports are checked against their config; checkpoints
restore values, never behaviour; the teacher gets its own normalisation; the training
data and the heads' classes are checked before training; wrong checkpoint files are
named for what they are. Runs use the demo's small FitNet pair at 64 px.
"""
import os
import os.path as osp
import pickle
import subprocess
import sys
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import dump as dump_json
from mmengine.fileio import load as load_json
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner

from mmkd.checkpoint import load_checkpoint_file, load_teacher_checkpoint
from mmkd.engine import (CheckpointGuardHook, NonFiniteError, add_reliability_hooks,
                         check_num_classes, check_train_dataset)
from mmkd.export import export_detector
from mmkd.testing import small_run_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FITNET = osp.join(ROOT, 'configs/demo/faster-rcnn_fitnet.py')
CAFFE_TEACHER = 'mmdet::faster_rcnn/faster-rcnn_r50-caffe_fpn_1x_coco.py'


def run_tool(*args, expect_ok=True):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    output = result.stdout + result.stderr
    assert (result.returncode == 0) == expect_ok, f'{args}:\n{output[-4000:]}'
    return output


def fitnet_config(data, work_dir, max_iters, **model):
    cfg = small_run_config(FITNET, data, str(work_dir), max_iters=max_iters, image_size=64)
    cfg.model.update(model)
    return cfg


def overflowing(cfg, good_iters=2):
    """FitNet's loss off for the first ``good_iters`` iterations, then 1e39 x MSE: inf in
    float32. A checkpoint after every iteration, only the latest kept."""
    cfg.model.distillers.fitnet.update(warmup_iters=good_iters, warmup='step')
    cfg.model.distillers.fitnet.loss.loss_weight = 1e39
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=1)
    return cfg


def dump(cfg, path):
    path = str(path)
    cfg.dump(path)
    return path


def load(path):
    return torch.load(path, weights_only=True)


def assert_same_tensors(a: dict, b: dict):
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f'{len(different)} of {len(a)} differ, e.g. {different[:3]}'


# ------------------------------------------------------------------ 1. non-finite losses
def test_nonfinite_loss_stops_and_keeps_the_last_good_checkpoint(shapes_data, tmp_path):
    work_dir = tmp_path / 'work'
    cfg = overflowing(fitnet_config(shapes_data, work_dir, max_iters=4))
    output = run_tool('tools/train.py', dump(cfg, tmp_path / 'cfg.py'), '--work-dir',
                      str(work_dir), expect_ok=False)
    assert ('NonFiniteError: Non-finite loss at iteration 3: loss=inf, '
            'distill_fitnet_loss=inf. The update of this step was not applied') in output
    # iter_1.pth was rotated away by iter_2.pth; the failed iteration 3 removed nothing
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) == ['iter_2.pth']
    weights = load(work_dir / 'iter_2.pth')['state_dict']
    assert all(torch.isfinite(w).all() for w in weights.values() if w.is_floating_point())


def test_skip_mode_leaves_no_trace_of_the_bad_steps(shapes_data, tmp_path):
    cfg = overflowing(fitnet_config(shapes_data, tmp_path, max_iters=3, nonfinite='skip',
                                    max_nonfinite_skips=1))
    cfg.default_hooks.checkpoint.max_keep_ckpts = 2
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.model.loss_guard.total_skips == 1
    before, after = load(tmp_path / 'iter_2.pth'), load(tmp_path / 'iter_3.pth')
    # weights, BN statistics and momentum buffers are those of iteration 2
    assert_same_tensors(before['state_dict'], after['state_dict'])
    momentum = [s['momentum_buffer'] for s in before['optimizer']['state'].values()]
    assert len(momentum) > 10 and all(
        torch.equal(m, s['momentum_buffer'])
        for m, s in zip(momentum, after['optimizer']['state'].values()))


def test_skip_mode_stops_after_the_allowed_consecutive_skips(shapes_data, tmp_path):
    cfg = overflowing(fitnet_config(shapes_data, tmp_path, max_iters=3, nonfinite='skip',
                                    max_nonfinite_skips=1), good_iters=0)
    with pytest.raises(NonFiniteError, match=r'at iteration 2: loss=inf, distill_fitnet_loss='
                                             r'inf, after 1 skipped steps in a row'):
        Runner.from_cfg(cfg).train()
    assert osp.exists(tmp_path / 'iter_1.pth') and not osp.exists(tmp_path / 'iter_2.pth')


def test_checkpoint_with_nonfinite_weights_is_never_written():
    """A finite loss whose gradients overflowed: caught before the save."""
    runner = mock.Mock(iter=7)
    state = dict(state_dict={'student.w': torch.tensor([1., float('nan')]),
                             'student.n': torch.tensor(3)})
    with pytest.raises(NonFiniteError, match=r'Iteration 7: 1 weights are non-finite '
                                             r'\(student.w\); the checkpoint was not written'):
        CheckpointGuardHook().before_save_checkpoint(runner, state)


def test_nonfinite_option_is_checked(shapes_data, tmp_path):
    cfg = fitnet_config(shapes_data, tmp_path, max_iters=1, nonfinite='ignore')
    with pytest.raises(ValueError, match=r"nonfinite must be one of \('stop', 'skip'\)"):
        Runner.from_cfg(cfg)


# ---------------------------------------------------------------------- 2. exact resume
@pytest.fixture(scope='module')
def resumed(shapes_data, tmp_path_factory):
    """tools/train.py: 6 iterations straight, and 4 + --resume to 6 (deterministic CPU)."""
    tmp = tmp_path_factory.mktemp('resume')
    cfg = fitnet_config(shapes_data, tmp, max_iters=6)
    cfg.randomness = dict(seed=0, deterministic=True)
    config = dump(cfg, tmp / 'cfg.py')
    run_tool('tools/train.py', config, '--work-dir', str(tmp / 'straight'))
    run_tool('tools/train.py', config, '--work-dir', str(tmp / 'split'),
             '--cfg-options', 'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=4')
    log = run_tool('tools/train.py', config, '--work-dir', str(tmp / 'split'),
                   '--resume', str(tmp / 'split/iter_4.pth'))
    return dict(config=config, dir=tmp, log=log, checkpoint=str(tmp / 'split/iter_4.pth'))


def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(resumed):
    assert 'resumed epoch: 0, iter: 4' in resumed['log']
    straight = load(resumed['dir'] / 'straight/iter_6.pth')
    split = load(resumed['dir'] / 'split/iter_6.pth')
    assert_same_tensors(straight['state_dict'], split['state_dict'])
    # the random generator states travel in the checkpoint, loadable with weights_only
    state = load(resumed['checkpoint'])['rng_state']
    assert state['torch'].dtype == torch.uint8 and isinstance(state['numpy'][1], np.ndarray)


# ------------------------------------------------------------------ 3. export validation
def test_export_refuses_a_config_of_another_architecture(resumed, shapes_data, tmp_path):
    mask_rcnn = small_run_config(osp.join(ROOT, 'configs/demo/mask-rcnn_fitnet.py'),
                                 shapes_data, str(tmp_path), image_size=64)
    wider = Config.fromfile(resumed['config'])
    wider.model.student.neck.out_channels = 96
    wider_config = dump(wider, tmp_path / 'wider.py')
    output = run_tool('tools/export_student.py', dump(mask_rcnn, tmp_path / 'mask.py'),
                      resumed['checkpoint'], str(tmp_path / 'out'), expect_ok=False)
    assert "do not fit the student of" in output and 'missing keys (roi_head.mask_head' in output
    assert not osp.exists(tmp_path / 'out/student.pth')
    with pytest.raises(ValueError, match=r'shape-mismatched keys \(neck.lateral_convs.0.conv'):
        export_detector(wider_config, resumed['checkpoint'], str(tmp_path / 'out'))


# ------------------------------------------------------ 4. checkpoints restore values only
def test_checkpoint_cannot_replace_history_buffer_methods(resumed, tmp_path, monkeypatch):
    methods = dict(HistoryBuffer._statistics_methods)
    crafted = str(tmp_path / 'crafted.pth')
    with monkeypatch.context() as patch:  # a writer that ships statistics_methods
        patch.setattr(HistoryBuffer, '__getstate__', lambda self: dict(
            self.__dict__, statistics_methods={'mean': 'max', 'evil': 'min'}))
        torch.save(load(resumed['checkpoint']), crafted)
    buffers = load(crafted)['message_hub']['log_scalars']
    assert HistoryBuffer._statistics_methods == methods
    assert buffers['train/loss'].mean() == buffers['train/loss'].statistics('mean')

    shadowing = str(tmp_path / 'shadowing.pth')
    with monkeypatch.context() as patch:  # an attribute that would shadow a method
        patch.setattr(HistoryBuffer, '__getstate__',
                      lambda self: dict(self.__dict__, mean='not a method'))
        torch.save(load(resumed['checkpoint']), shadowing)
    with pytest.raises(ValueError, match=r"unexpected attributes \['mean'\]"):
        load(shadowing)

    # a later resume (from the crafted file: its values are fine) trains and logs
    cfg = Config.fromfile(resumed['config'])
    cfg.work_dir, cfg.train_cfg.max_iters = str(tmp_path / 'work'), 5
    cfg.resume, cfg.load_from = True, crafted
    cfg.randomness = dict(seed=0)
    add_reliability_hooks(cfg)
    Runner.from_cfg(cfg).train()
    assert osp.isfile(tmp_path / 'work/iter_5.pth')
    assert HistoryBuffer._statistics_methods == methods


# ----------------------------------------------------------- 7. teacher normalisation
def _batch(model, sizes=((64, 48), (56, 64))):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    generator = torch.Generator().manual_seed(0)
    images, samples = [], []
    for height, width in sizes:
        images.append(torch.randint(0, 256, (3, height, width), generator=generator,
                                    dtype=torch.uint8))
        sample = DetDataSample(metainfo=dict(img_shape=(height, width),
                                             ori_shape=(height, width), scale_factor=(1, 1)))
        sample.gt_instances = InstanceData(bboxes=torch.tensor([[4., 4., 30., 40.]]),
                                           labels=torch.tensor([1]))
        samples.append(sample)
    return images, model.data_preprocessor(dict(inputs=images, data_samples=samples), True)


def _caffe_student_model(**kwargs):
    from mmkd.testing import small_model
    cfg = Config.fromfile(FITNET)
    cfg.model.teacher = dict(cfg_path=CAFFE_TEACHER)
    model_cfg = small_model(cfg.model, num_classes=3)
    model_cfg.update(kwargs)
    from mmengine.registry import MODELS
    return MODELS.build(model_cfg)


def test_caffe_teacher_gets_its_own_normalisation(shapes_data):
    with mock.patch('mmkd.models.distillation_detector.print_log') as log:
        model = _caffe_student_model()
    assert log.call_count == 1 and 'mean [103.53, 116.28, 123.675], std [1.0, 1.0, 1.0], ' \
        'bgr_to_rgb False' in log.call_args[0][0]
    images, batch = _batch(model)
    expected = torch.zeros_like(batch['inputs'])  # caffe: BGR as loaded, minus mean, std 1
    caffe_mean = torch.tensor([103.53, 116.28, 123.675]).view(3, 1, 1)
    for target, image in zip(expected, images):
        target[:, :image.shape[1], :image.shape[2]] = image.float() - caffe_mean
    seen = []
    model.teacher.backbone.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    model.train()
    model.loss(batch['inputs'], batch['data_samples'])
    assert len(seen) == 1 and seen[0].shape == expected.shape
    torch.testing.assert_close(seen[0], expected, atol=2e-4, rtol=0)
    assert not torch.equal(batch['inputs'], seen[0])  # the student's batch is pytorch-style


def test_explicit_teacher_data_preprocessor_overrides():
    pytorch_style = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                         bgr_to_rgb=True)
    model = _caffe_student_model(teacher_data_preprocessor=pytorch_style)
    _, batch = _batch(model)
    torch.testing.assert_close(model.teacher_inputs(batch['inputs'], batch['data_samples']),
                               batch['inputs'], atol=1e-5, rtol=0)


# ------------------------------------------------------------------ 8. dataset sanity
def test_class_names_missing_from_the_annotations_stop_training(shapes_data, tmp_path):
    cfg = fitnet_config(shapes_data, tmp_path, max_iters=1)
    cfg.train_dataloader.dataset.metainfo = dict(classes=('square', 'circle', 'triangle'))
    output = run_tool('tools/train.py', dump(cfg, tmp_path / 'cfg.py'), '--work-dir',
                      str(tmp_path), expect_ok=False)
    assert ("configured classes ['square', 'circle'] are not in the annotation file, whose "
            "categories are ['rectangle', 'ellipse', 'triangle']") in output
    assert 'metainfo=dict(classes=(...))' in output
    assert not osp.exists(tmp_path / 'iter_1.pth')


def test_no_instances_and_class_count_mismatches_are_refused(shapes_data, tmp_path):
    from mmdet.registry import DATASETS
    from mmkd.config import build_detector
    cfg = fitnet_config(shapes_data, tmp_path, max_iters=1)
    cfg.train_dataloader.dataset.metainfo = dict(classes=('hexagon', ))
    with pytest.raises(ValueError, match=r"configured classes \['hexagon'\] are not in"):
        check_train_dataset(DATASETS.build(cfg.train_dataloader.dataset))
    # the annotations exist, but every image is empty: nothing to learn
    empty = dict(shapes_data, train_ann='annotations/instances_empty.json')
    annotations = load_json(osp.join(shapes_data['data_root'], shapes_data['train_ann']))
    annotations['annotations'] = []
    dump_json(annotations, osp.join(shapes_data['data_root'], empty['train_ann']))
    dataset = fitnet_config(empty, tmp_path, max_iters=1).train_dataloader.dataset
    with pytest.raises(ValueError, match=r"has no instances of the configured classes "
                       r"\['rectangle', 'ellipse', 'triangle'\]"):
        check_train_dataset(DATASETS.build(dataset))

    pair = torch.nn.Module()
    pair.student = build_detector(cfg.model.student, 'student')
    cfg.model.teacher.roi_head.bbox_head.num_classes = 80
    pair.teacher = build_detector(cfg.model.teacher, 'teacher')
    classes = shapes_data['classes']
    with pytest.raises(ValueError, match=r'Teacher and student predict different numbers of '
                       r'classes: teacher roi_head.bbox_head.num_classes=80; student '
                       r'roi_head.bbox_head.num_classes=3'):
        check_num_classes(pair, classes)
    check_num_classes(pair, classes, check_teacher=False)  # the documented opt-out
    with pytest.raises(ValueError, match=r'The student predicts other classes than the '
                       r'training set: roi_head.bbox_head.num_classes=3, but the dataset has 2'):
        check_num_classes(pair, classes[:2])


# ----------------------------------------------------------- 9. wrong checkpoint files
@pytest.fixture
def wrong_files(tmp_path):
    files = dict(empty=tmp_path / 'empty.pth', listed=tmp_path / 'list.pth',
                 directory=tmp_path / 'dir.pth', text=tmp_path / 'notes.pth',
                 pickled=tmp_path / 'pickled.pth')
    files['empty'].write_bytes(b'')
    torch.save([1, 2, 3], files['listed'])
    files['directory'].mkdir()
    files['text'].write_text('not a checkpoint\n')
    files['pickled'].write_bytes(pickle.dumps([1, 2]))
    return {k: str(v) for k, v in files.items()}


MESSAGES = dict(empty=r'is an empty file \(0 bytes', listed=r'holds a list, not a checkpoint',
                directory=r'is a directory; expected a checkpoint file',
                text=r'is not a file written by torch.save',
                pickled=r'is not a file written by torch.save .*Unsupported operand')


@pytest.mark.parametrize('kind', sorted(MESSAGES))
def test_wrong_checkpoint_files_say_what_they_are(kind, wrong_files, tmp_path):
    path = wrong_files[kind]
    with pytest.raises((ValueError, IsADirectoryError), match=MESSAGES[kind]):
        load_checkpoint_file(path)
    with pytest.raises((ValueError, IsADirectoryError), match='Teacher checkpoint .*'
                       + MESSAGES[kind]):
        load_teacher_checkpoint(torch.nn.Linear(2, 2), path)
    with pytest.raises((ValueError, IsADirectoryError), match=MESSAGES[kind]):
        export_detector(FITNET, path, str(tmp_path / 'out'))


def test_tools_name_wrong_checkpoint_files(resumed, shapes_data, wrong_files, tmp_path):
    test_config = dump(small_run_config(FITNET, shapes_data, str(tmp_path), image_size=64,
                                        val=True), tmp_path / 'test_cfg.py')
    output = run_tool('tools/test.py', test_config, wrong_files['empty'],
                      '--work-dir', str(tmp_path), expect_ok=False)
    assert 'is an empty file (0 bytes' in output
    output = run_tool('tools/test.py', test_config, wrong_files['listed'],
                      '--work-dir', str(tmp_path), expect_ok=False)
    assert 'holds a list, not a checkpoint' in output
    output = run_tool('tools/train.py', resumed['config'], '--work-dir', str(tmp_path),
                      '--resume', wrong_files['directory'], expect_ok=False)
    assert "--resume checkpoint '" in output and 'is a directory' in output
    # what the hook tools/train.py adds says of a weights-only file given to --resume
    runner = mock.Mock(_resume=True, _load_from='weights.pth')
    with pytest.raises(ValueError, match=r"'weights.pth' holds weights only .* cannot resume"):
        CheckpointGuardHook().after_load_checkpoint(runner, dict(state_dict={}))
