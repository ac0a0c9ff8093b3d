"""VGG feature extraction, with layers addressed by their paper names.

The networks are the Gluon model zoo's VGG16 and VGG19 ``features`` stacks
(3x3 convolutions, ReLU, 2x2 max pooling), so a layer's index here is its index
in ``vision.vgg19().features``: ``conv1_1`` is 0, ``conv4_4`` is 25, ``conv5_1``
is 28 -- the Gluon notes' taps [0, 5, 10, 19, 28] / [25]. Every network takes
the package's tensor convention (ImageNet-normalized RGB, see :mod:`.images`).

Weights are not this module's business: :mod:`.store` builds an extractor here
and fills it.
"""
import re

import mxnet as mx
from mxnet.gluon import nn

from ..io import images
from ..errors import Error, unknown

#: convolutions per block
BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
CHANNELS = (64, 128, 256, 512, 512)
POOLINGS = ("max", "avg")

#: The default taps: Gatys et al.'s layers after their ReLU (as Caffe's in-place
#: ReLU gave them to the paper and to jcjohnson/neural-style), content relu4_2.
DEFAULT_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
DEFAULT_CONTENT_LAYERS = {"vgg19": ("relu4_2",), "vgg16": ("relu4_2",)}
#: Multipliers of the default style layers (with other layers: all 1). With each
#: layer's error relative to its target, five equal weights let relu4_1/relu5_1
#: (receptive fields of 100-200 px) repaint the scene's layout: towers and
#: windows melt. Halving them per block keeps the scene and its strokes.
DEFAULT_STYLE_LAYER_WEIGHTS = (1.0, 1.0, 1.0, 0.5, 0.25)
#: The Gluon notes' taps: ``features`` sliced at [0, 5, 10, 19, 28] and [25] (before
#: the ReLU). VGG16 has no conv4_4: its content tap is conv4_2, Gatys et al.'s layer.
NOTES_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
NOTES_CONTENT_LAYERS = {"vgg19": ("conv4_4",), "vgg16": ("conv4_2",)}
#: Johnson et al.'s perceptual-loss taps (VGG16).
JOHNSON_STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
JOHNSON_CONTENT_LAYERS = ("relu2_2",)


def layer_names(arch):
    """Names of the ``features`` layers of `arch`, in order (index = position).

    >>> layer_names("vgg19")[:6]
    ['conv1_1', 'relu1_1', 'conv1_2', 'relu1_2', 'pool1', 'conv2_1']
    """
    check_arch(arch)
    names = []
    for b, n in enumerate(BLOCKS[arch], 1):
        for i in range(1, n + 1):
            names += ["conv%d_%d" % (b, i), "relu%d_%d" % (b, i)]
        names.append("pool%d" % b)
    return names


def check_arch(arch):
    if arch not in BLOCKS:
        raise Error("unknown VGG architecture %r (valid: %s)" % (arch, ", ".join(sorted(BLOCKS))))


def layer_index(arch, name):
    """Index of layer `name` in `arch`'s ``features``; Error listing valid names."""
    names = layer_names(arch)
    if name not in names:
        valid = [n for n in names if not n.startswith("pool")]
        raise unknown("layer", name, valid, where=" for %s" % arch, sep=" ")
    return names.index(name)


def conv_channels(arch, name):
    """Number of channels of layer `name` (a conv, relu or pool of block b)."""
    layer_index(arch, name)
    return CHANNELS[int(re.search(r"\d", name).group()) - 1]


def min_input_side(layers):
    """The smallest image side on which a VGG reaches every one of `layers`.

    Each 2x2 pooling halves the side, rounding down, and needs 2 pixels, so a
    layer of block b (after b - 1 poolings; pool b after b) needs ``2**(b-1)``
    pixels: 16 for relu5_1, 8 for relu4_3. An unknown name is an :class:`Error`.
    """
    def poolings(name):
        layer_index("vgg19", name)  # VGG19's names hold VGG16's
        block = int(re.search(r"\d", name).group())
        return block - (0 if name.startswith("pool") else 1)
    return 2 ** max(poolings(n) for n in layers)


def deepest_layer(layers):
    """The one of `layers` that needs the largest input (see :func:`min_input_side`)."""
    return max(layers, key=lambda name: min_input_side([name]))


class TooNarrow(Error):
    """An image too narrow at the run's size for VGG's poolings; ``needed`` is the
    smallest size that would do."""

    def __init__(self, problem, needed, advice):
        super().__init__("%s: %s" % (problem, advice % needed))
        self.problem, self.needed = problem, needed


def check_reach(img, source, role, size, layers, scale=1.0):
    """Refuse (:class:`TooNarrow`) an image that is too narrow at ``size * scale`` (see
    :func:`images.resize_max_side`) for VGG's poolings to reach `layers`: MXNet
    would fail inside the network. `source` is its path or the image, `role` says
    what it is."""
    need = min_input_side(layers)
    at = size if scale == 1 else max(images.MIN_SIDE, round(size * scale))
    w, h = images.fit_size(img.size, at)
    if min(w, h) >= need:
        return
    side = images.size_for_side(img.size, need)
    needed = size
    while max(images.MIN_SIDE, round(needed * scale)) < side:
        needed += 1
    where = role if hasattr(source, "convert") else images.where(role, source)
    raise TooNarrow("%s (%dx%d) is %dx%d at %s %d; the loss network's poolings need both "
                    "sides at least %d px (up to %s)" % (
                        where, img.size[0], img.size[1], w, h,
                        "size" if scale == 1 else "the style's size", at, need,
                        deepest_layer(layers)),
                    needed, "it needs a size of at least %d" + (
                        "" if scale == 1 else " (times the style scale %g)" % scale))


def conv_indices(arch):
    """Indices of the convolutions, in order (13 for VGG16, 16 for VGG19)."""
    return [i for i, n in enumerate(layer_names(arch)) if n.startswith("conv")]


def vgg_layers(arch, upto, pooling="max"):
    """A ``HybridSequential`` of `arch`'s ``features`` layers ``0..upto``.

    Its children are indexed like the model zoo's ``features``, so parameter
    ``"%d.weight" % i`` here is ``"features.%d.weight" % i`` in a zoo file.
    """
    if pooling not in POOLINGS:
        raise Error("unknown pooling %r (valid: %s)" % (pooling, ", ".join(POOLINGS)))
    names = layer_names(arch)
    net = nn.HybridSequential(prefix="")
    in_ch = 3
    with net.name_scope():
        for name in names[: upto + 1]:
            if name.startswith("conv"):
                ch = conv_channels(arch, name)
                net.add(nn.Conv2D(ch, kernel_size=3, padding=1, in_channels=in_ch))
                in_ch = ch
            elif name.startswith("relu"):
                net.add(nn.Activation("relu"))
            elif pooling == "max":
                net.add(nn.MaxPool2D(pool_size=2, strides=2))
            else:
                net.add(nn.AvgPool2D(pool_size=2, strides=2))
    return net


class VGGTaps(nn.HybridBlock):
    """The VGG stack up to the deepest requested layer, returning a tuple of
    the requested layers' outputs in the order they were asked for."""

    def __init__(self, arch, layers, pooling="max", *, body=None, **kwargs):
        super().__init__(**kwargs)
        if not layers:
            raise Error("no feature layers requested")
        self.arch = arch
        self.layers = tuple(layers)
        self._index = [layer_index(arch, n) for n in self.layers]
        depth = max(self._index) + 1
        if body is None:
            with self.name_scope():
                self.body = vgg_layers(arch, depth - 1, pooling)
        else:  # run on the first layers of an existing stack (see subset)
            if depth > len(body):
                raise Error("layer %s is deeper than this stack" % self.layers[
                    self._index.index(depth - 1)])
            self.body = nn.HybridSequential(prefix="")
            self.body.add(*list(body._children.values())[:depth])

    def subset(self, layers):
        """A :class:`VGGTaps` for `layers` that runs only as deep as they need,
        on this stack's own layers (shared parameters, nothing copied)."""
        return VGGTaps(self.arch, layers, body=self.body, prefix=self.prefix)

    def hybrid_forward(self, F, x):
        wanted = set(self._index)
        found = {}
        for i, layer in enumerate(self.body._children.values()):
            x = layer(x)
            if i in wanted:
                found[i] = x
        return tuple(found[i] for i in self._index)


class FeatureExtractor:
    """Calls a hybridized :class:`VGGTaps` and names its outputs.

    ``extractor(x)`` returns ``{layer name: NDArray}``; ``extractor.taps`` is
    the HybridBlock itself, for building larger hybridized graphs on it.
    """

    def __init__(self, taps, *, source=""):
        self.taps = taps
        self.source = source

    @property
    def arch(self):
        return self.taps.arch

    @property
    def layers(self):
        return self.taps.layers

    def __call__(self, x):
        out = self.taps(x)
        if isinstance(out, mx.nd.NDArray):
            out = (out,)
        return dict(zip(self.layers, out))
