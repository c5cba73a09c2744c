"""Checks, before training, that the data and the detectors agree on the classes.

mmdet's ``CocoDataset`` keeps only the annotations whose category name is among the
configured classes and says nothing about the others: class names that do not match the
annotation file give a dataset without instances (or with some classes missing and
the remaining labels shifted), and a student trained on empty targets.
"""
from typing import Dict, List, Sequence

from mmengine.fileio import load
from torch import nn


def leaf_datasets(dataset) -> List:
    """The datasets inside dataset wrappers (concat, repeat, class-balanced, ...)."""
    if hasattr(dataset, 'datasets'):
        return [leaf for inner in dataset.datasets for leaf in leaf_datasets(inner)]
    if hasattr(dataset, 'dataset'):
        return leaf_datasets(dataset.dataset)
    return [dataset]


def _annotation_classes(dataset) -> List[str]:
    try:
        return [category['name'] for category in load(dataset.ann_file)['categories']]
    except Exception as error:  # only used to word an error
        return [f'<could not read {dataset.ann_file}: {error}>']


def _has_instances(dataset) -> bool:
    """Whether any image has an annotation of a configured class (stops at the first)."""
    return any(dataset.get_data_info(i).get('instances') for i in range(len(dataset)))


def check_train_dataset(dataset) -> None:
    """Raise when the training set has no instances of its configured classes, or when
    configured class names are absent from a COCO annotation file.

    Raises:
        ValueError: naming the configured classes, those of the annotation file and the
            fix (``metainfo=dict(classes=...)`` in the dataset config).
    """
    for leaf in leaf_datasets(dataset):
        if getattr(leaf, 'test_mode', False) or not hasattr(leaf, 'get_data_info'):
            continue
        if hasattr(leaf, 'full_init'):
            leaf.full_init()
        classes = tuple(leaf.metainfo.get('classes') or ())
        name = f"training set '{getattr(leaf, 'ann_file', type(leaf).__name__)}'"
        fix = ('Set the dataset\'s metainfo=dict(classes=(...)) to the category names of '
               'the annotation file (in its order), and num_classes of the heads to match.')
        cat_ids = getattr(leaf, 'cat_ids', None)
        if cat_ids is not None and len(set(cat_ids)) < len(classes):
            in_file = _annotation_classes(leaf)
            missing = [c for c in classes if c not in in_file]
            raise ValueError(f'{name}: configured classes {list(missing)} are not in the '
                             f'annotation file, whose categories are {in_file}; their '
                             f'instances would be dropped silently (configured classes: '
                             f'{list(classes)}). {fix}')
        if len(leaf) == 0:
            raise ValueError(f'{name} has no images (with filter_empty_gt=True, none has an '
                             f'instance of the configured classes {list(classes)}). {fix}')
        if leaf.get_data_info(0).get('instances') is not None and not _has_instances(leaf):
            in_file = _annotation_classes(leaf) if hasattr(leaf, 'ann_file') else '?'
            raise ValueError(f'{name} has no instances of the configured classes '
                             f'{list(classes)} (annotation file categories: {in_file}): the '
                             f'detector would train on empty targets. {fix}')


def head_num_classes(detector: nn.Module) -> Dict[str, int]:
    """``{module path: num_classes}`` of the class-predicting heads of an mmdet detector
    (dense heads, RoI box and mask heads, each stage of a cascade; not the RPN, whose
    one class is 'object')."""
    found = {}

    def visit(module: nn.Module, prefix: str) -> None:
        for name, child in module.named_children():
            path = prefix + name
            if path == 'rpn_head':
                continue
            num_classes = getattr(child, 'num_classes', None)
            if isinstance(num_classes, int):
                found[path] = num_classes
            else:
                visit(child, path + '.')

    visit(detector, '')
    return found


def _describe(heads: Dict[str, int]) -> str:
    return ', '.join(f'{path}.num_classes={n}' for path, n in heads.items())


def check_num_classes(model: nn.Module, classes: Sequence[str],
                      check_teacher: bool = True) -> None:
    """Raise when the detector's heads (the student's, for a distillation model) do not
    predict ``len(classes)`` classes, or the teacher's heads predict another number
    than the student's.

    A label beyond a head's classes is silently taken as background by mmdet's losses,
    and a teacher of other classes gives logits that do not correspond.
    """
    student = getattr(model, 'student', model)
    heads = head_num_classes(student)
    role = 'student' if student is not model else 'detector'
    wrong = {p: n for p, n in heads.items() if n != len(classes)}
    if wrong:
        raise ValueError(f'The {role} predicts other classes than the training set: '
                         f'{_describe(wrong)}, but the dataset has {len(classes)} classes '
                         f'{list(classes)}. Set num_classes of the heads to {len(classes)}, '
                         'or metainfo=dict(classes=...) of the dataset.')
    teacher = getattr(model, 'teacher', None)
    if teacher is None or student is model or not check_teacher:
        return
    teacher_heads = head_num_classes(teacher)
    if set(teacher_heads.values()) - set(heads.values()):
        raise ValueError(
            f'Teacher and student predict different numbers of classes: teacher '
            f'{_describe(teacher_heads)}; student {_describe(heads)}. Give the teacher the '
            "student's classes (e.g. teacher=dict(cfg_path=..., roi_head=dict(bbox_head="
            f'dict(num_classes={len(classes)})))) and a checkpoint trained on them; for '
            'feature distillation from a teacher of other classes on purpose, set '
            "custom_hooks=[dict(type='mmkd.TrainDataCheckHook', check_teacher=False)].")
