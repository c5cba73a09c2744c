"""The demo's datasets: the generated shapes data its configs name, or a user's
COCO-format folder (read only, never written)."""
import json
import os
import os.path as osp
from typing import NamedTuple, Optional, Tuple

from mmengine.config import Config

from mmkd.data import make_shapes_dataset
from . import CONFIGS
from .errors import InputExistsError, InputNotFoundError, InputValueError
from .settings import SHAPES_DATA

SHAPES_CONFIG = osp.join(CONFIGS, 'demo', '_base_', 'shapes_detection.py')


# ----------------------------------------------------------------------------- shapes
def shapes_settings(config: str = SHAPES_CONFIG) -> dict:
    """``dict(data_root=..., num_train=..., num_val=..., image_size=..., max_objects=...,
    seed=...)`` of the generated dataset a demo config trains on: the
    :data:`.settings.SHAPES_DATA` entry of its ``data_root``, at its ``image_size``.

    Raises:
        InputValueError: the config's ``data_root`` is not one of the table, or the config
            has no ``image_size``.
    """
    cfg = Config.fromfile(config)
    data_root, image_size = cfg.get('data_root'), cfg.get('image_size')
    entries = {osp.normpath(root): entry for root, entry in SHAPES_DATA.items()}
    settings = entries.get(osp.normpath(str(data_root)))
    if settings is None or image_size is None:
        raise InputValueError(
            f'{config} does not train on a generated shapes dataset of the demo (its '
            f"data_root {data_root!r} is not one of {', '.join(SHAPES_DATA)} in "
            'experiments/settings.py SHAPES_DATA, or it sets no image_size): use a config '
            'under configs/demo/ (they inherit configs/demo/_base_/shapes_detection.py).')
    return dict(data_root=data_root, num_train=settings['num_train'],
                num_val=settings['num_val'], image_size=image_size,
                max_objects=settings['max_objects'], seed=settings['seed'])


def make_shapes_data(data_root: str, **settings) -> dict:
    """Generate the shapes dataset in ``data_root`` (or reuse the one made there with the
    same settings); returns :func:`mmkd.data.make_shapes_dataset`'s description.

    Raises:
        InputExistsError: ``data_root`` holds other files (a real dataset is never
            overwritten).
    """
    root = data_root.rstrip('/')
    if osp.isdir(root) and os.listdir(root) and not osp.isfile(osp.join(root, 'settings.json')):
        raise InputExistsError(
            f'{root} holds files that are not a generated shapes dataset, and the shapes data '
            'would overwrite them. To train on a COCO-format dataset there, use --dataset '
            f'{root}; to generate the shapes data, give a new or empty folder.')
    return make_shapes_dataset(root, **settings)


# ----------------------------------------------------------------------------- COCO folder
class Split(NamedTuple):
    ann_file: str   # absolute path of the COCO annotation file
    img_dir: str    # absolute folder the images' file_name are relative to
    num_images: int
    num_instances: int


class CocoFolder(NamedTuple):
    """A COCO-format dataset: a train and a val split and the class names, in the order
    the annotation file lists its categories (mmdet's label order)."""
    root: str
    train: Split
    val: Split
    classes: Tuple[str, ...]
    has_masks: bool


_ANN_NAMES = ('annotations/instances_{split}.json', 'annotations/instances_{split}2017.json')
_IMG_DIRS = ('{split}', '{split}2017', 'images/{split}', 'images/{split}2017', 'images', '')


def _load(ann_file: str) -> dict:
    try:
        with open(ann_file) as f:
            coco = json.load(f)
    except (OSError, json.JSONDecodeError) as error:
        raise InputValueError(
            f'Cannot read the COCO annotation file {ann_file}: {error}') from None
    if not isinstance(coco, dict):
        raise InputValueError(f'{ann_file} is not a COCO detection annotation file: it holds '
                              f'a JSON {type(coco).__name__}, not an object.')
    missing = [key for key in ('images', 'annotations', 'categories') if key not in coco]
    if missing or not isinstance(coco.get('categories'), list):
        raise InputValueError(f"{ann_file} is not a COCO detection annotation file: it lacks "
                              f"{', '.join(missing) or 'a categories list'}.")
    if not coco['images']:
        raise InputValueError(f'{ann_file} lists no images.')
    if not coco['categories']:
        raise InputValueError(f'{ann_file} has an empty categories list: the classes are read '
                              'from it.')
    return coco


def _find_ann(root: str, split: str) -> str:
    candidates = [osp.join(root, name.format(split=split)) for name in _ANN_NAMES]
    for path in candidates:
        if osp.isfile(path):
            return path
    raise InputNotFoundError(
        f'No {split} annotation file in {root}: looked for '
        f"{', '.join(osp.relpath(p, root) for p in candidates)}. Name it so, or give it with "
        f'--{split}-ann FILE.')


def _find_img_dir(root: str, split: str, coco: dict, ann_file: str) -> str:
    first = coco['images'][0]['file_name']
    candidates = [osp.join(root, d.format(split=split)) for d in _IMG_DIRS]
    for folder in candidates:
        if osp.isfile(osp.join(folder, first)):
            return osp.normpath(folder)
    raise InputNotFoundError(
        f"The first image of {ann_file}, '{first}', is not in any of "
        f"{', '.join(osp.relpath(c, root) + '/' for c in candidates)} under {root}: give its "
        f'folder with --{split}-img DIR.')


def _split(root: str, split: str, ann_file: Optional[str], img_dir: Optional[str]
           ) -> Tuple[Split, dict]:
    ann_file = osp.abspath(ann_file) if ann_file else _find_ann(root, split)
    coco = _load(ann_file)
    if img_dir:
        img_dir = osp.abspath(img_dir)
        first = coco['images'][0]['file_name']
        if not osp.isfile(osp.join(img_dir, first)):
            raise InputNotFoundError(f"--{split}-img {img_dir}: the first image of {ann_file}, "
                                     f"'{first}', is not there.")
    else:
        img_dir = _find_img_dir(root, split, coco, ann_file)
    return Split(ann_file, img_dir, len(coco['images']), len(coco['annotations'])), coco


def _classes(coco: dict) -> Tuple[str, ...]:
    # in the file's order: mmdet's CocoDataset and CocoMetric number the labels so
    return tuple(c['name'] for c in coco['categories'])


def coco_folder(root: Optional[str] = None, train_ann: Optional[str] = None,
                val_ann: Optional[str] = None, train_img: Optional[str] = None,
                val_img: Optional[str] = None) -> CocoFolder:
    """Find and check a COCO-format dataset.

    ``root`` holds ``annotations/instances_{train,val}[2017].json`` and the images in
    ``{train,val}[2017]/`` (or ``images/...``, or wherever the files' ``file_name`` point
    from ``root``); each of the four can be given explicitly instead. The classes are the
    train file's category names; the val file must list the same ones.
    """
    if root is None and not (train_ann and val_ann and train_img and val_img):
        raise InputValueError('Give the dataset folder, or all of --train-ann, --val-ann, '
                              '--train-img and --val-img.')
    root = osp.abspath(root) if root else osp.dirname(osp.abspath(train_ann))
    if not osp.isdir(root):
        raise InputNotFoundError(f'Dataset folder {root} does not exist.')
    train, train_coco = _split(root, 'train', train_ann, train_img)
    val, val_coco = _split(root, 'val', val_ann, val_img)
    classes, val_classes = _classes(train_coco), _classes(val_coco)
    if classes != val_classes:
        raise InputValueError(
            f'The train and val annotation files list different categories ({list(classes)} '
            f'vs {list(val_classes)}): both splits must use the same category ids and names.')
    if len(set(classes)) != len(classes):
        raise InputValueError(f'{train.ann_file} repeats category names ({list(classes)}): '
                              'mmdet tells classes apart by name.')
    if not train.num_instances:
        raise InputValueError(f'{train.ann_file} has no annotations: nothing to learn from.')
    has_masks = any(a.get('segmentation') for a in train_coco['annotations'])
    return CocoFolder(root, train, val, classes, has_masks)
