"""The pixel statistics inputs are normalised with, and the colour padding is filled with.

Padding (below and right of a resized image, around a batch shrunk by scale jitter) is the mean
colour, so it is 0 after normalisation, as detectron2 and torchvision pad normalised images. Black
padding is about -2 after normalisation: on low-contrast images such as BCCD's blood smears
(content std 0.2-0.4 around +1.1) the image/padding edge is ten times stronger than anything in the
image, group norm's statistics are dominated by it, and a detector trained from scratch can settle
on where the padding is instead of what the image shows (benchmarks/runs/bccd-lottery-2026-12-07).
"""

from __future__ import annotations

import numpy as np

MEAN_RGB = (0.485 * 255, 0.456 * 255, 0.406 * 255)  # ImageNet statistics, in 0..255
STD_RGB = (0.229 * 255, 0.224 * 255, 0.225 * 255)
PAD_RGB = np.round(np.asarray(MEAN_RGB)).astype(np.uint8)  # (124, 116, 104): 0 after normalisation, to 0.01
PIXEL_LAYOUT = "pad-mean"  # recorded in every run folder's config.yaml (`pixels`); caches are keyed by it
