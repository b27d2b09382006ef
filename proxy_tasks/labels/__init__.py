"""Readers of the label formats users bring (Pascal VOC, YOLO, CSV), each into the COCO dict the
project trains and evaluates on; `proxy_tasks.datasets` chooses one by `proxy.data.format`."""
