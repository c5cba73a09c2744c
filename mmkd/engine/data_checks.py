"""Checks, before training, that the data is complete and that the data and the
detectors agree on the classes.

mmdet's ``CocoDataset`` keeps only the annotations whose category is among the configured
classes and says nothing about the others: class names that do not match the annotation
file give a dataset without instances (or with some classes missing and the remaining
labels shifted), and annotations of a category the file does not declare are dropped.
A missing image file only fails when its batch is loaded, possibly hours into training.
"""
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

from mmengine.fileio import load
from mmengine.logging import print_log
from torch import nn

_SHOWN = 5  # paths or ids an error message lists before 'and N more'


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


def _shown(items: Sequence) -> str:
    more = f' and {len(items) - _SHOWN} more' if len(items) > _SHOWN else ''
    return ', '.join(str(item) for item in items[:_SHOWN]) + more


def _remote_backend(dataset) -> Optional[dict]:
    """The ``backend_args`` of a non-local file backend through which the dataset or its
    image loading transform reads files, or None for local files."""
    transforms = getattr(getattr(dataset, 'pipeline', None), 'transforms', [])
    for owner in [dataset, *transforms]:
        args = getattr(owner, 'backend_args', None)
        if args and args.get('backend', 'local') != 'local':
            return args
    return None


def _missing_files(paths: Sequence[str]) -> List[str]:
    """The paths that are not in their folder, in the order given. Each folder is listed
    once instead of one lookup per file: a few calls for a COCO-size list, also on
    network file systems."""
    by_folder = defaultdict(list)
    for path in paths:
        by_folder[osp.dirname(path)].append(path)
    missing = set()
    for folder, files in by_folder.items():
        try:
            present = set(os.listdir(folder or '.'))
        except OSError:  # no such folder (or not a folder): all of its files are missing
            present = set()
        missing.update(path for path in files if osp.basename(path) not in present)
    return [path for path in paths if path in missing]


def _image_paths(dataset) -> List[str]:
    """The ``img_path`` of every entry of the dataset's data list."""
    if getattr(dataset, 'serialize_data', True):
        entries = (dataset.get_data_info(i) for i in range(len(dataset)))
    else:  # its get_data_info deep-copies each entry: seconds per 10k COCO images
        entries = dataset.data_list
    return [entry['img_path'] for entry in entries if entry.get('img_path')]


def check_image_files(dataset, name: str) -> None:
    """Raise when image files listed in a dataset's annotations do not exist.

    Looks up every ``img_path`` of the dataset's data list (after mmdet's filtering: the
    images training loads) without opening any. Files read through a non-local backend
    (``backend_args``, or a URI such as ``s3://``) are not checked; a line says so.

    Raises:
        FileNotFoundError: naming how many are missing, the first few and the fix.
    """
    paths = _image_paths(dataset)
    if not paths:
        return
    backend = _remote_backend(dataset)
    if backend is not None or '://' in paths[0]:
        where = f'backend_args={backend}' if backend is not None else f"'{paths[0]}'"
        print_log(f'{name}: images are read through a non-local file backend ({where}); '
                  f'not checking that its {len(paths)} image files exist.', logger='current')
        return
    missing = _missing_files(paths)
    if missing:
        raise FileNotFoundError(
            f'{name}: {len(missing)} of the {len(paths)} image files it lists do not exist '
            f'({_shown(missing)}); training would stop at the first batch that loads one. '
            "Check the dataset's data_root and data_prefix=dict(img=...) (the folder of the "
            "annotations' file_name), or restore the files or remove those images from the "
            'annotation file.')


def _annotations_per_category(dataset) -> Dict[int, int]:
    """``{category_id: number of annotations}`` of the raw annotation file, kept by
    mmdet's COCO-style datasets as ``cat_img_map`` (one image id per annotation)."""
    cat_img_map = getattr(dataset, 'cat_img_map', None) or {}
    return {cat_id: len(images) for cat_id, images in cat_img_map.items() if images}


def check_annotation_categories(dataset, name: str) -> None:
    """Raise when annotations of a COCO-style file have a ``category_id`` that is not
    among the file's ``categories`` (mmdet's ``CocoDataset`` drops them silently).

    Only the category ids mmdet counted while loading are compared: the annotation file
    is read again only when some annotations are of a category outside the configured
    classes (training on a subset of the file's categories).

    Raises:
        ValueError: naming the number of such annotations, their ids and the fix.
    """
    configured = set(getattr(dataset, 'cat_ids', None) or ())
    outside = {cat_id: count for cat_id, count in _annotations_per_category(dataset).items()
               if cat_id not in configured}
    if not outside:
        return
    categories = load(dataset.ann_file, backend_args=getattr(dataset, 'backend_args', None)
                      )['categories']
    declared = {category['id'] for category in categories}
    unknown = {cat_id: count for cat_id, count in sorted(outside.items())
               if cat_id not in declared}
    if unknown:
        raise ValueError(
            f"{name}: {sum(unknown.values())} annotations have a category_id that is not "
            f"among the file's categories (category_id {_shown(list(unknown))}; declared: "
            f"{_shown(sorted(declared))}); mmdet's CocoDataset drops them without "
            "a message. Declare those categories in the file's 'categories' (and in the "
            "dataset's metainfo classes), or correct the annotations' category_id.")


def check_train_dataset(dataset) -> None:
    """Raise when the training set has no instances of its configured classes, when
    configured class names are absent from a COCO annotation file, when annotations
    have a category the file does not declare, or when listed image files are missing.

    Raises:
        ValueError: naming the configured classes, those of the annotation file and the
            fix (``metainfo=dict(classes=...)`` in the dataset config); or naming the
            annotations of undeclared categories (:func:`check_annotation_categories`).
        FileNotFoundError: naming the missing image files (:func:`check_image_files`).
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
        check_annotation_categories(leaf, name)
        if len(leaf) == 0:
            raise ValueError(f'{name} has no images (with filter_empty_gt=True, none has an '
                             f'instance of the configured classes {list(classes)}). {fix}')
        if leaf.get_data_info(0).get('instances') is not None and not _has_instances(leaf):
            in_file = _annotation_classes(leaf) if hasattr(leaf, 'ann_file') else '?'
            raise ValueError(f'{name} has no instances of the configured classes '
                             f'{list(classes)} (annotation file categories: {in_file}): the '
                             f'detector would train on empty targets. {fix}')
        check_image_files(leaf, name)


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
            # mmcv's VGG (SSD's backbone) says it has no classifier with num_classes=-1.
            if isinstance(num_classes, int) and num_classes > 0:
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
