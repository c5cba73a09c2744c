"""Before the first iteration, TrainDataCheckHook finds what mmdet would only notice late
or never: image files missing from disk (a run dies when their batch is loaded) and
annotations of categories the file does not declare (CocoDataset drops them silently).
Each on the generated COCO dataset, modified to have the defect. Configured class names
missing from the annotations, images without instances and heads whose class counts do
not match stop the run too."""
import copy
import os.path as osp
from unittest import mock

import pytest
import torch
from mmdet.registry import DATASETS
from mmengine.fileio import dump as dump_json
from mmengine.fileio import load as load_json

from mmkd.engine import DistillationRunner, check_num_classes, check_train_dataset, data_checks
from mmkd.testing import small_run_config

from helpers import FITNET, dump, fitnet_config, run_tool


def run_config(shapes_data, work_dir):
    return small_run_config(FITNET, shapes_data, str(work_dir), max_iters=2, image_size=64)


def dataset_config(shapes_data, tmp_path, edit=None, classes=None):
    """The small run's training set, on a copy of the annotation file changed by ``edit``."""
    annotations = load_json(osp.join(shapes_data['data_root'], shapes_data['train_ann']))
    if edit is not None:
        edit(annotations)
    ann_file = str(tmp_path / 'instances_train.json')
    dump_json(annotations, ann_file)
    cfg = copy.deepcopy(run_config(shapes_data, tmp_path).train_dataloader.dataset)
    cfg.ann_file = ann_file
    if classes is not None:
        cfg.metainfo = dict(classes=classes)
    return cfg


def rename_images(count):
    def edit(annotations):
        for i, image in enumerate(annotations['images'][:count]):
            image['file_name'] = f'missing_{i}.png'
    return edit


def relabel(count, category_id):
    def edit(annotations):
        for annotation in annotations['annotations'][:count]:
            annotation['category_id'] = category_id
    return edit


def test_a_clean_dataset_passes(shapes_data, tmp_path):
    check_train_dataset(DATASETS.build(dataset_config(shapes_data, tmp_path)))
    # training on a subset of the file's categories is not a defect
    check_train_dataset(DATASETS.build(dataset_config(shapes_data, tmp_path,
                                                      classes=('rectangle', 'ellipse'))))


def test_missing_image_files_are_counted_and_named(shapes_data, tmp_path):
    dataset = DATASETS.build(dataset_config(shapes_data, tmp_path, rename_images(7)))
    folder = osp.join(shapes_data['data_root'], 'train')
    shown = ', '.join(osp.join(folder, f'missing_{i}.png') for i in range(5))
    with pytest.raises(FileNotFoundError, match=r'7 of the 8 image files it lists do not exist '
                       rf'\({shown} and 2 more\); training would stop at the first batch'):
        check_train_dataset(dataset)
    with pytest.raises(FileNotFoundError, match=r"Check the dataset's data_root and "
                       r'data_prefix=dict\(img=...\)'):
        check_train_dataset(DATASETS.build(dataset_config(shapes_data, tmp_path,
                                                          rename_images(1))))


def test_a_missing_image_stops_the_run_before_its_first_iteration(shapes_data, tmp_path):
    cfg = run_config(shapes_data, tmp_path / 'work')
    cfg.train_dataloader.dataset = dataset_config(shapes_data, tmp_path, rename_images(1))
    runner = DistillationRunner.from_cfg(cfg)
    with pytest.raises(FileNotFoundError, match=r'1 of the 8 image files'):
        runner.train()
    assert runner.iter == 0


def test_images_behind_a_remote_backend_are_not_looked_up(shapes_data, tmp_path):
    cfg = dataset_config(shapes_data, tmp_path, rename_images(1))
    cfg.pipeline[0].backend_args = dict(backend='petrel')  # LoadImageFromFile
    with mock.patch.object(data_checks, 'print_log', wraps=data_checks.print_log) as log:
        check_train_dataset(DATASETS.build(cfg))
    assert log.call_count == 1
    assert ("images are read through a non-local file backend (backend_args={'backend': "
            "'petrel'}); not checking that its 8 image files exist") in log.call_args[0][0]


def test_annotations_of_undeclared_categories_are_refused(shapes_data, tmp_path):
    dataset = DATASETS.build(dataset_config(shapes_data, tmp_path, relabel(10, 7)))
    with pytest.raises(ValueError, match=r"10 annotations have a category_id that is not among "
                       r"the file's categories \(category_id 7; declared: 1, 2, 3\); mmdet's "
                       r'CocoDataset drops them without a message. Declare those categories'):
        check_train_dataset(dataset)
    assert sum(len(dataset.get_data_info(i)['instances']) for i in range(len(dataset))) == 17


def test_undeclared_categories_are_told_from_unconfigured_ones(shapes_data, tmp_path):
    """Training on a subset of the classes: the file is read to tell the annotations of
    its other categories (fine) from those of undeclared ones."""
    def edit(annotations):
        relabel(4, 9)(annotations)
        annotations['annotations'][4]['category_id'] = 12
    dataset = DATASETS.build(dataset_config(shapes_data, tmp_path, edit,
                                            classes=('rectangle', 'ellipse')))
    with pytest.raises(ValueError, match=r'5 annotations have a category_id that is not among '
                       r"the file's categories \(category_id 9, 12; declared: 1, 2, 3\)"):
        check_train_dataset(dataset)


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
