"""The networks and their weights: :mod:`~gluon_style.nets.features` (VGG layer
tables, the tap extractor), :mod:`~gluon_style.nets.store` (the loss-network
store), :mod:`~gluon_style.nets.transformer` (Johnson et al.'s feed-forward
network), :mod:`~gluon_style.nets.magenta` (Magenta's arbitrary-style networks)
and :mod:`~gluon_style.nets.onnx_weights` (reading their int8 ONNX weights)."""
