"""A synthetic COCO-format detection / instance-segmentation dataset of coloured shapes.

Deterministic by seed. Images hold 1-6 objects of varied size, colour and aspect ratio,
some overlapping, on a noisy textured background with distractor strokes, so that a
detector has something non-trivial to learn and a larger model does measurably better.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

SHAPE_CLASSES = ('rectangle', 'ellipse', 'triangle')


def _shape_polygon(kind: str, cx: float, cy: float, w: float, h: float, angle: float,
                   rng: np.random.Generator) -> np.ndarray:
    if kind == 'rectangle':
        pts = np.array([[-w, -h], [w, -h], [w, h], [-w, h]], dtype=np.float64) / 2
    elif kind == 'ellipse':
        t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        pts = np.stack([np.cos(t) * w / 2, np.sin(t) * h / 2], axis=1)
    else:
        jitter = rng.uniform(-0.2, 0.2)
        pts = np.array([[-w / 2, h / 2], [w / 2, h / 2], [jitter * w, -h / 2]])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return pts @ rot.T + np.array([cx, cy])


def _render_image(rng: np.random.Generator, size: int, max_objects: int
                  ) -> Tuple[np.ndarray, List[Dict]]:
    base = rng.integers(40, 200, size=3)
    image = np.clip(base + rng.normal(0, 25, (size, size, 3)), 0, 255).astype(np.uint8)
    for _ in range(rng.integers(2, 6)):  # distractor strokes
        p1, p2 = rng.integers(0, size, 2), rng.integers(0, size, 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.line(image, tuple(map(int, p1)), tuple(map(int, p2)), colour, int(rng.integers(1, 4)))
    objects = []
    occupancy = np.zeros((size, size), dtype=np.int32)
    for index in range(int(rng.integers(1, max_objects + 1))):
        label = int(rng.integers(len(SHAPE_CLASSES)))
        scale = size * rng.uniform(0.12, 0.45)
        w, h = scale * rng.uniform(0.6, 1.4), scale * rng.uniform(0.6, 1.4)
        cx, cy = rng.uniform(w / 3, size - w / 3), rng.uniform(h / 3, size - h / 3)
        polygon = _shape_polygon(SHAPE_CLASSES[label], cx, cy, w, h,
                                 rng.uniform(0, np.pi), rng)
        polygon = np.clip(polygon, 0, size - 1)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.fillPoly(image, [np.round(polygon).astype(np.int32)], colour)
        mask = np.zeros((size, size), dtype=np.uint8)
        cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1)
        occupancy[mask > 0] = index + 1
        objects.append(dict(label=label, polygon=polygon, index=index + 1))
    annotations = []
    for obj in objects:  # later shapes occlude earlier ones: keep the visible part
        visible = (occupancy == obj['index']).astype(np.uint8)
        if visible.sum() < 16:
            continue
        contours, _ = cv2.findContours(visible, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        segmentation = [c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3]
        if not segmentation:
            continue
        ys, xs = np.nonzero(visible)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        annotations.append(dict(category_id=obj['label'] + 1, segmentation=segmentation,
                                area=float(visible.sum()),
                                bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                                iscrowd=0))
    return image, annotations


def _write_split(root: str, split: str, num_images: int, size: int, max_objects: int,
                 rng: np.random.Generator) -> str:
    image_dir = osp.join(root, split)
    os.makedirs(image_dir, exist_ok=True)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        image, anns = _render_image(rng, size, max_objects)
        file_name = f'{image_id:06d}.png'
        cv2.imwrite(osp.join(image_dir, file_name), image)
        images.append(dict(id=image_id, file_name=file_name, width=size, height=size))
        for ann in anns:
            annotations.append(dict(ann, id=len(annotations) + 1, image_id=image_id))
    categories = [dict(id=i + 1, name=name) for i, name in enumerate(SHAPE_CLASSES)]
    ann_file = osp.join(root, 'annotations', f'instances_{split}.json')
    os.makedirs(osp.dirname(ann_file), exist_ok=True)
    with open(ann_file, 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return ann_file


def make_shapes_dataset(root: str, num_train: int = 64, num_val: int = 16,
                        image_size: int = 128, max_objects: int = 5, seed: int = 0) -> Dict:
    """Write ``root/{train,val}/*.png`` and ``root/annotations/instances_{train,val}.json``.

    An existing dataset made with the same arguments is reused.

    Returns:
        dict: ``data_root``, ``classes`` and the two annotation files (relative to root).
    """
    settings = dict(num_train=num_train, num_val=num_val, image_size=image_size,
                    max_objects=max_objects, seed=seed)
    stamp = osp.join(root, 'settings.json')
    if osp.isfile(stamp):
        with open(stamp) as f:
            if json.load(f) == settings:
                return _describe(root)
    rng = np.random.default_rng(seed)
    _write_split(root, 'train', num_train, image_size, max_objects, rng)
    _write_split(root, 'val', num_val, image_size, max_objects, rng)
    with open(stamp, 'w') as f:
        json.dump(settings, f)
    return _describe(root)


def _describe(root: str) -> Dict:
    return dict(data_root=root, classes=SHAPE_CLASSES,
                train_ann='annotations/instances_train.json',
                val_ann='annotations/instances_val.json')
