"""The two data pipelines, side by side; both deliver the same images (tested).

- ``tensor`` (:mod:`~lightcnn.data.pipelines.tensor`): the split as one uint8 tensor on the
  training device, whole batches finished there.
- ``torchvision`` (:mod:`~lightcnn.data.pipelines.per_sample`): per-sample transforms in
  DataLoader workers.

Both end in the same :class:`~lightcnn.data.pipelines.fit.FitToInput` step and draw their
training augmentation from the same :class:`~lightcnn.data.pipelines.augment.Augmentation`.
"""

PIPELINES = ("tensor", "torchvision")
