"""Building blocks of the models: activations, pooling, padding by name, and the exact
output-size and receptive-field arithmetic of conv / pool stacks."""

from lightcnn.nn.activations import ACTIVATIONS, ScaledTanh, make_activation
from lightcnn.nn.arithmetic import (
    Field,
    layer_output_shape,
    next_field,
    output_size,
    receptive_field,
)
from lightcnn.nn.padding import PADDINGS, SamePad2d, make_conv, make_padding
from lightcnn.nn.pooling import GLOBAL_POOLS, POOLS, MinPool2d, make_pool

__all__ = [
    "ACTIVATIONS",
    "GLOBAL_POOLS",
    "PADDINGS",
    "POOLS",
    "Field",
    "MinPool2d",
    "SamePad2d",
    "ScaledTanh",
    "layer_output_shape",
    "make_activation",
    "make_conv",
    "make_padding",
    "make_pool",
    "next_field",
    "output_size",
    "receptive_field",
]
