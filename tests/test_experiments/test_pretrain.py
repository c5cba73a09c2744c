"""Backbone pretraining with mmpretrain (experiments.pretrain): the crops, one real
tiny run of mmpretrain's Runner, its checkpoint loaded into the demo detectors' backbones
through init_cfg Pretrained, the key check, and the cache."""
import argparse
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config, DictAction

from experiments import pretrain
from experiments.pretrain import (check_backbone_checkpoint, make_crop_dataset,
                                  pretrain_backbone, pretrained_options)
from mmkd.config import build_detector
from mmkd.data import make_shapes_dataset

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
                   'demo')
STUDENT_PRETRAIN = osp.join(CONFIGS, 'pretrain', 'resnet18-quarter.py')
TINY = {'train_cfg.max_iters': 2, 'train_dataloader.batch_size': 8,
        'val_dataloader.batch_size': 16}


@pytest.fixture(scope='module')
def source(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('pretrain_shapes'))
    make_shapes_dataset(root, num_train=10, num_val=2, image_size=64, seed=3)
    return dict(source_root=root)


@pytest.fixture(scope='module')
def run(tmp_path_factory, source):
    """One real pretraining of the demo student's backbone: 2 iterations."""
    work = tmp_path_factory.mktemp('pretrain_run')
    kwargs = dict(config=STUDENT_PRETRAIN, work_dir=str(work / 'r18'), options=TINY,
                  crop_root=str(work / 'crops'), source=source, threads=1)
    return kwargs, pretrain_backbone(**kwargs)


def test_crops_cut_every_box_and_background_whole_images_held_out(tmp_path, source):
    crops = make_crop_dataset(str(tmp_path / 'crops'), source['source_root'],
                              'annotations/instances_train.json', 'train/', size=24,
                              background_per_image=2, val_every=5)
    with open(osp.join(source['source_root'], 'annotations/instances_train.json')) as f:
        coco = json.load(f)
    boxes = [a for a in coco['annotations'] if min(a['bbox'][2:]) >= 2]
    assert crops['classes'] == ['rectangle', 'ellipse', 'triangle', 'background']
    lines = {split: open(osp.join(crops['data_root'], 'meta', f'{split}.txt')).read().split()
             for split in ('train', 'val')}
    labels = [int(label) for split in lines.values() for label in split[1::2]]
    assert crops['num_train'] + crops['num_val'] == len(labels)
    assert sum(label < 3 for label in labels) == len(boxes)
    assert 0 < labels.count(3) <= 2 * len(coco['images'])  # background: at most 2 per image
    val_images = {osp.basename(p).split('_')[0] for p in lines['val'][::2]}
    assert val_images == {'000005', '000010'}  # every 5th image, all its crops
    assert not val_images & {osp.basename(p).split('_')[0] for p in lines['train'][::2]}
    for path, label in zip(lines['train'][::2], lines['train'][1::2]):
        assert path.split('/')[1] == crops['classes'][int(label)]
    import cv2
    image = cv2.imread(osp.join(crops['data_root'], lines['train'][0]))
    assert image.shape == (24, 24, 3)


def test_background_overlap_is_the_largest_covered_share():
    boxes = np.array([[5, 5, 10, 10], [0, 8, 4, 4]], dtype=float)  # x, y, w, h
    # a 10 px square at the origin: 5x5 of it under the first box, 4x2 under the second
    assert pretrain._overlap(0, 0, 10, boxes) == pytest.approx(25 / 100)
    assert pretrain._overlap(20, 20, 10, boxes) == 0


def test_crops_never_written_into_the_source(source):
    with pytest.raises(ValueError, match='inside the source dataset'):
        make_crop_dataset(osp.join(source['source_root'], 'crops'), source['source_root'],
                          'annotations/instances_train.json', 'train/')


def test_pretraining_writes_a_classifier_checkpoint(run):
    _, record = run
    assert not record['reused'] and record['iters'] == 2
    checkpoint = torch.load(record['checkpoint'], weights_only=True)
    weights = checkpoint['state_dict']
    assert weights['head.fc.weight'].shape == (4, 128)  # 3 shapes + background
    assert checkpoint['meta']['classes'] == ['rectangle', 'ellipse', 'triangle', 'background']
    assert 0 <= record['accuracy'] <= 100
    # the Runner ran two training iterations (BN layers in training mode count them)
    assert weights['backbone.layer4.1.bn2.num_batches_tracked'] == 2


def _parse_options(options):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *options]).cfg_options


@pytest.mark.parametrize('config', ['pretrained/faster-rcnn_student.py', 'options'])
def test_detector_backbone_loads_every_pretrained_weight(run, config):
    _, record = run
    if config == 'options':  # what a profile passes to tools/train.py
        cfg = Config.fromfile(osp.join(CONFIGS, 'faster-rcnn_student.py'))
        cfg.merge_from_dict(_parse_options(pretrained_options(record['checkpoint'])))
        model_cfg = cfg.model
    else:
        model_cfg = dict(cfg_path=osp.join(CONFIGS, config),
                         backbone=dict(init_cfg=dict(checkpoint=record['checkpoint'])))
    detector = build_detector(model_cfg, 'student')
    before = {k: v.clone() for k, v in detector.backbone.state_dict().items()}
    detector.init_weights()
    weights = torch.load(record['checkpoint'], weights_only=True)['state_dict']
    expected = {k[len('backbone.'):]: v for k, v in weights.items()
                if k.startswith('backbone.')}
    loaded = detector.backbone.state_dict()
    assert set(loaded) == set(expected)
    for key, value in expected.items():
        assert torch.equal(loaded[key], value), key
    assert not torch.equal(before['conv1.weight'], loaded['conv1.weight'])
    # the neck is not part of the checkpoint and keeps its own initialisation
    assert not any(k.startswith('neck.') for k in weights)


def test_key_mismatch_is_an_error(run, tmp_path):
    _, record = run
    check_backbone_checkpoint(osp.join(CONFIGS, 'faster-rcnn_student.py'), record['checkpoint'])
    # The student's ResNet-18 x0.25 weights do not fit the teacher's ResNet-34 x0.5
    # (36 convs, 36 BNs: 216 keys). All 120 ResNet-18 names exist in it; the 100 tensors
    # other than the 20 BN counters differ in width. Missing: 216 - 20 loaded counters -
    # the 16 counters the ResNet-34's other BNs fill in themselves = 180.
    with pytest.raises(ValueError, match=r'180 missing keys \(conv1\.weight.*no unexpected '
                                         r'keys; 100 shape-mismatched keys'):
        check_backbone_checkpoint(osp.join(CONFIGS, 'faster-rcnn_teacher.py'),
                                  record['checkpoint'])
    weights = torch.load(record['checkpoint'], weights_only=True)['state_dict']
    renamed = tmp_path / 'renamed.pth'
    torch.save({'state_dict': {'encoder.' + k: v for k, v in weights.items()}}, renamed)
    with pytest.raises(ValueError, match="no weights named 'backbone.\\*'"):
        check_backbone_checkpoint(osp.join(CONFIGS, 'faster-rcnn_student.py'), str(renamed))


def test_the_stage_checks_its_detectors(run):
    kwargs, _ = run
    teacher = osp.join(CONFIGS, 'faster-rcnn_teacher.py')
    # not a training setting: the run is reused, and checked against the teacher
    with pytest.raises(ValueError, match='does not fit the backbone of .*faster-rcnn_teacher'):
        pretrain_backbone(**dict(kwargs, detectors=[teacher]))


class _Trained(Exception):
    pass


def test_cache_reuses_and_retrains_on_changed_settings(run, monkeypatch):
    kwargs, record = run

    def train(cfg, threads, verbose):
        raise _Trained(cfg)

    monkeypatch.setattr(pretrain, '_train', train)
    again = pretrain_backbone(**kwargs)
    assert again['reused'] and again['checkpoint'] == record['checkpoint']
    assert again['accuracy'] == record['accuracy']
    for change in (dict(options=dict(TINY, **{'optim_wrapper.optimizer.lr': 0.05})),
                   dict(options=dict(TINY, **{'crop_data.context': 0.5}))):
        with pytest.raises(_Trained):
            pretrain_backbone(**dict(kwargs, **change))
    with pytest.raises(_Trained):
        pretrain_backbone(**dict(kwargs, retrain=True))
    # back to the original settings (the crops cut again as they were): reused
    assert pretrain_backbone(**kwargs)['reused']


def test_a_generated_source_is_never_regenerated_over(tmp_path, source):
    """Without ``source``, the config's ``source_data`` set is generated, but not over a
    shapes set made with other settings (the detectors' data, say)."""
    options = dict(TINY, **{'crop_data.source_root': source['source_root'],
                            'source_data.num_train': 10, 'source_data.num_val': 2})
    with pytest.raises(ValueError, match='generated with .*set source_data=None'):
        pretrain_backbone(STUDENT_PRETRAIN, work_dir=str(tmp_path / 'run'), options=options,
                          crop_root=str(tmp_path / 'crops'))
    assert not (tmp_path / 'crops').exists()
