"""The two data pipelines, side by side; both deliver the same images (tested).

- ``tensor`` (:mod:`~lightcnn.data.pipelines.tensor`): the split as one uint8 tensor on the
  training device, whole batches finished there.
- ``torchvision`` (:mod:`~lightcnn.data.pipelines.per_sample`): per-sample transforms in
  DataLoader workers.

Both end in the same :class:`~lightcnn.data.pipelines.fit.FitToInput` step and draw their
training augmentation from the same :class:`~lightcnn.data.pipelines.augment.Augmentation`.

``auto`` picks by the decoded size: ``tensor`` when every image fits in
:data:`TENSOR_LIMIT_BYTES` as uint8 (always for the datasets by name), else ``torchvision``.
"""

PIPELINES = ("tensor", "torchvision", "auto")
#: the decoded size (uint8) up to which ``auto`` holds a dataset in memory (tensor pipeline)
TENSOR_LIMIT_BYTES = 4_000_000_000


def choose_pipeline(requested: str, decoded_bytes: int | None) -> str:
    """The pipeline to run: ``requested``, or for ``auto`` the one the decoded size allows.

    Args:
        requested: ``tensor``, ``torchvision`` or ``auto``.
        decoded_bytes: every image of the dataset as uint8, or None when known to fit.
    """
    if requested != "auto":
        return requested
    fits = decoded_bytes is None or decoded_bytes <= TENSOR_LIMIT_BYTES
    return "tensor" if fits else "torchvision"
