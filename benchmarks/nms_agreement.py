"""Where torchvision imports (a CUDA machine with a matching torchvision build), check that its NMS
kernel and SpineNAS's pure-torch NMS keep the same boxes, on random boxes of 3 classes.

`proxy_tasks.boxes.batched_nms` uses torchvision's kernel when it imports and `nms_torch` otherwise;
the test suite checks `nms_torch` against a brute-force reference, and the same agreement as this
script in tests/test_boxes.py, which is skipped (with its reason printed) where torchvision does not
import: every supported CPU install, whose PyPI torchvision is a CUDA build.

Run: python benchmarks/nms_agreement.py --seeds 20 --boxes 300
"""

from __future__ import annotations

import argparse
import sys

import torch

from proxy_tasks.boxes import batched_nms, has_torchvision_nms, nms_torch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--boxes", type=int, default=300)
    args = parser.parse_args()
    if not has_torchvision_nms():
        print("torchvision does not import here: nothing to compare (batched_nms is nms_torch)")
        return 0
    mismatched = 0
    for seed in range(args.seeds):
        g = torch.Generator().manual_seed(seed)
        xy = torch.rand(args.boxes, 2, generator=g) * 80
        wh = 5 + torch.rand(args.boxes, 2, generator=g) * 30
        boxes, scores, labels = torch.cat([xy, xy + wh], 1), torch.rand(args.boxes, generator=g), torch.randint(0, 3, (args.boxes,), generator=g)
        same = batched_nms(boxes, scores, labels, 0.5).tolist() == nms_torch(boxes, scores, labels, 0.5).tolist()
        mismatched += not same
        print(f"seed {seed}: {'same' if same else 'DIFFERENT'}")
    print(f"{args.seeds - mismatched}/{args.seeds} agree")
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
