"""Draw FGFI imitation masks: which feature locations the student imitates the teacher at.

Usage:
    python tools/visualize_fgfi_masks.py CONFIG --out-dir DIR [--num-images 4] [--start 0]
        [--distiller NAME] [--psi 0.5] [--max-iou-over all|level] [--max-size 640]
        [--cfg-options KEY=VALUE ...]

The images (with their ground-truth boxes) come from the config's train dataloader, after
its pipeline (resize, flip, ...); the anchors from the config's student (weights are not
needed: the masks depend only on anchors, feature sizes and boxes, so nothing is
downloaded). CONFIG is an FGFI distillation config (its FGFI settings are used; the
first FGFI distiller unless --distiller names one) or a plain mmdet detector config
(FGFI defaults on 'neck'). One PNG per image: a panel per distilled level, the
locations in the mask (each drawn as the stride x stride cell around its anchor centre)
shown bright, tinted and outlined in red, the rest dimmed; ground-truth
boxes in green; the title gives the level, its stride and the number of positive locations.
"""
import argparse
import math
import os
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.registry import DefaultScope, init_default_scope  # noqa: E402

import mmkd  # noqa: E402,F401
from mmkd.config import build_detector, resolve_config_path, student_config  # noqa: E402
from mmkd.models import connect_distillers  # noqa: E402
from mmkd.models.recorder import probe_feature_levels  # noqa: E402
from mmkd.registry import MODELS  # noqa: E402

MASK_COLOR = (0, 0, 255)  # BGR red
BOX_COLOR = (0, 255, 0)
ALPHA = 0.3  # red tint inside the mask
DIM = 0.35  # brightness kept outside the mask
TITLE_HEIGHT = 18


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Draw FGFI imitation masks per level')
    parser.add_argument('config', help='FGFI distillation config (or a detector config): a file or '
                        'mmkd::<path> of a shipped config')
    parser.add_argument('--out-dir', required=True, help='where the PNG files go')
    parser.add_argument('--num-images', type=int, default=4, help='how many images')
    parser.add_argument('--start', type=int, default=0, help='index of the first image')
    parser.add_argument('--distiller', help='name of the FGFI distiller in model.distillers')
    parser.add_argument('--psi', type=float, help="override the distiller's psi")
    parser.add_argument('--max-iou-over', choices=['all', 'level'],
                        help="override the distiller's max_iou_over")
    parser.add_argument('--max-size', type=int, default=640,
                        help='shrink each panel so its longer side is at most this (0: never)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def fgfi_config(model_cfg, name: Optional[str]) -> dict:
    """The FGFI distiller config of a distillation model config (defaults otherwise)."""
    distillers = model_cfg.get('distillers') or {}
    fgfi = {key: value for key, value in distillers.items()
            if str(value.get('type', '')).split('.')[-1] == 'FGFI'}
    if name is not None:
        if name not in fgfi:
            raise ValueError(f"--distiller {name!r}: the config has no FGFI distiller of that "
                             f'name; FGFI distillers: {sorted(fgfi) or "none"}.')
        return dict(fgfi[name])
    if fgfi:
        return dict(next(iter(fgfi.values())))
    if distillers:
        raise ValueError(f'The config distils with {sorted(distillers)} but has no FGFI '
                         'distiller; give an FGFI config or a plain detector config.')
    return dict(type='FGFI', student='neck', teacher='neck')


def level_name(path: str, stride: float, index: int) -> str:
    """'P3' for the neck's stride-8 level, 'C4' for the backbone's stride-16 one."""
    prefix = {'neck': 'P', 'backbone': 'C'}.get(path)
    log = math.log2(stride)
    return f'{prefix}{int(log)}' if prefix and log.is_integer() else f'{path}[{index}]'


def build(cfg: Config, name: Optional[str], psi=None, max_iou_over=None):
    """The student, an FGFI distiller attached to it (adapters are not needed), the
    recorder of the features the distiller reads, and a name per distilled level."""
    student = build_detector(student_config(cfg.model), 'student')
    student.eval()
    dcfg = fgfi_config(cfg.model, name)
    if psi is not None:
        dcfg['psi'] = psi
    if max_iou_over is not None:
        dcfg['max_iou_over'] = max_iou_over
    dcfg['adapter_kernel'] = None  # the masks need no adapter
    with DefaultScope.overwrite_default_scope('mmkd'):
        distiller = MODELS.build(dcfg)
    # The masks are the student's: it stands in for the teacher too.
    recorder, _ = connect_distillers([distiller], student, student)
    levels = probe_feature_levels(student, distiller.student_specs, 'student')
    names = [level_name(spec.path, level.stride, index) for spec in distiller.student_specs
             for index, level in enumerate(levels[spec])]
    return student, distiller, recorder, names


def mask_to_pixels(mask: np.ndarray, first_centre, stride, img_shape) -> np.ndarray:
    """(h, w) bool image: each pixel takes the value of the location whose anchor centre
    is nearest (the stride x stride cell around it)."""
    height, width = img_shape
    (cx0, cy0), (sw, sh) = first_centre, stride
    cols = np.floor((np.arange(width) + 0.5 - cx0) / sw + 0.5).astype(int)
    rows = np.floor((np.arange(height) + 0.5 - cy0) / sh + 0.5).astype(int)
    cols = np.clip(cols, 0, mask.shape[1] - 1)
    rows = np.clip(rows, 0, mask.shape[0] - 1)
    return mask[rows[:, None], cols[None, :]]


def draw_panel(image: np.ndarray, mask_pixels: np.ndarray, boxes: np.ndarray, title: str,
               max_size: int) -> np.ndarray:
    """The image dimmed outside the mask, tinted and outlined in red inside it, with the
    ground-truth boxes in green and a title bar."""
    image = image.astype(np.float32)
    tint = np.array(MASK_COLOR, dtype=np.float32)
    panel = np.where(mask_pixels[..., None], (1 - ALPHA) * image + ALPHA * tint, DIM * image)
    panel = panel.astype(np.uint8)
    scale = 1.0
    if max_size and max(panel.shape[:2]) > max_size:
        scale = max_size / max(panel.shape[:2])
        size = (round(panel.shape[1] * scale), round(panel.shape[0] * scale))
        panel = cv2.resize(panel, size, interpolation=cv2.INTER_AREA)
        mask_pixels = cv2.resize(mask_pixels.astype(np.uint8), size,
                                 interpolation=cv2.INTER_NEAREST).astype(bool)
    contours, _ = cv2.findContours(mask_pixels.astype(np.uint8), cv2.RETR_LIST,
                                   cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(panel, contours, -1, MASK_COLOR, 1)
    for x1, y1, x2, y2 in boxes * scale:
        cv2.rectangle(panel, (int(round(x1)), int(round(y1))),
                      (int(round(x2)) - 1, int(round(y2)) - 1), BOX_COLOR, 1)
    bar = np.full((TITLE_HEIGHT, panel.shape[1], 3), 255, dtype=np.uint8)
    cv2.putText(bar, title, (2, TITLE_HEIGHT - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1,
                cv2.LINE_AA)
    return np.concatenate([bar, panel], axis=0)


@torch.no_grad()
def image_masks(student, distiller, recorder, item):
    """Per level: the (H, W) bool mask of one dataset item, and its data sample."""
    data = student.data_preprocessor(pseudo_collate([item]), False)
    with recorder.recording():
        student.extract_feat(data['inputs'])
        feats = [f for spec in distiller.student_specs for f in recorder.get(spec)]
    sizes = [f.shape[2:] for f in feats]
    masks = distiller.imitation_masks(sizes, data['data_samples'], feats[0].device)
    return [m[0].cpu().numpy() for m in masks], sizes, data['data_samples'][0]


def draw_image(item, distiller, names, masks, sizes, sample, max_size: int) -> np.ndarray:
    height, width = sample.img_shape[:2]
    image = item['inputs'].permute(1, 2, 0).numpy()[:height, :width].copy()  # BGR uint8
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    boxes = distiller_boxes(sample)
    generator = distiller._anchors.generator
    panels = []
    for index, (name, mask, size, level) in enumerate(zip(names, masks, sizes,
                                                          distiller.anchor_levels)):
        # the boxes the masks came from (a point prior's virtual anchor on anchor-free heads)
        anchors = distiller._anchors(tuple(size), index, device='cpu')
        anchors = getattr(anchors, 'tensor', anchors)
        first = anchors[:len(anchors) // (size[0] * size[1])]  # anchors of location (0, 0)
        centre = (float((first[:, 0] + first[:, 2]).mean() / 2),
                  float((first[:, 1] + first[:, 3]).mean() / 2))
        stride = tuple(float(v) for v in generator.strides[level])
        pixels = mask_to_pixels(mask, centre, stride, (height, width))
        title = f'{name} s{stride[0]:g}: {int(mask.sum())} pos'
        panels.append(draw_panel(image, pixels, boxes, title, max_size))
    gap = np.full((panels[0].shape[0], 4, 3), 255, dtype=np.uint8)
    row = [p for panel in panels for p in (panel, gap)][:-1]
    return np.concatenate(row, axis=1)


def distiller_boxes(sample) -> np.ndarray:
    boxes = sample.gt_instances.bboxes
    boxes = getattr(boxes, 'tensor', boxes)
    return boxes.reshape(-1, 4).cpu().numpy()


def main(argv=None) -> List[str]:
    args = parse_args(argv)
    if args.num_images < 1:
        raise ValueError(f'--num-images must be >= 1, got {args.num_images}')
    cfg = Config.fromfile(resolve_config_path(args.config))
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    from mmdet.registry import DATASETS
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    if args.start >= len(dataset):
        raise ValueError(f'--start {args.start} is past the dataset ({len(dataset)} images).')
    student, distiller, recorder, names = build(cfg, args.distiller, args.psi,
                                                args.max_iou_over)
    os.makedirs(args.out_dir, exist_ok=True)
    written = []
    for index in range(args.start, min(args.start + args.num_images, len(dataset))):
        item = dataset[index]
        masks, sizes, sample = image_masks(student, distiller, recorder, item)
        canvas = draw_image(item, distiller, names, masks, sizes, sample, args.max_size)
        stem = osp.splitext(osp.basename(sample.metainfo.get('img_path', str(index))))[0]
        path = osp.join(args.out_dir, f'{index:04d}_{stem}.png')
        cv2.imwrite(path, canvas)
        written.append(path)
        print(f'{path}: ' + ', '.join(f'{name} {int(m.sum())}/{m.size}' for name, m in
                                      zip(names, masks)))
    return written


if __name__ == '__main__':
    main()
