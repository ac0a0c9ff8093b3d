"""Fast mode (Johnson et al.), applying a trained style: one forward pass per image.

This package is the style registry and :func:`load_style`; its modules train a
style (:mod:`~gluon_style.fast.train` on :mod:`~gluon_style.fast.data`), the
multi-style network (:mod:`~gluon_style.fast.multistyle`), any painting in one
pass (:mod:`~gluon_style.fast.arbitrary`), exports
(:mod:`~gluon_style.fast.export`) and video (:mod:`~gluon_style.fast.video`).

Trained styles live in a ``params/`` folder beside a ``manifest.json`` that
names each one: its file, sha256 (checked on every load), format version,
network variant, output mapping, training settings and the credit of its
style image. Loading a style never builds or loads a VGG.

Format 2 entries name the output mapping their weights were trained with
(``"output"``, also recorded in the weight file itself); format 1 entries, the
first shipped styles, are "sigmoid" (see :mod:`gluon_style.nets.transformer`).

Styles are looked up by name in, in order: ``./params`` and the package's own
``params/`` (the checkout's, or the installed copy). ``$GLUON_STYLE_PARAMS``,
when set, replaces that list (folders separated by ``os.pathsep``, earlier
ones win), as ``MXNET_HOME`` replaces MXNet's cache folder.
"""
import json
import os
import re
import sys

import mxnet as mx

from ..io import images
from ..errors import Error, did_you_mean
from ..io.fileio import atomic_write, digest
from ..options import FastOptions
from ..runtime import default_ctx
from ..nets.transformer import (MIN_SIDE, VARIANTS, load_weights, read_weights, transformer_net,
                                weights_output)

MANIFEST = "manifest.json"
FORMAT_VERSION = 2  # written; format 1 (no "output": sigmoid) is still read
READ_FORMATS = (1, 2)
#: a style's name names its files (NAME.params, NAME.jpg, checkpoints/NAME/): letters,
#: digits and ``_-.``, not starting with a dot
STYLE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")


def check_style_name(name):
    """Return `name` if it is a plain style name (:data:`STYLE_NAME`), else raise :class:`Error`."""
    if not isinstance(name, str) or not STYLE_NAME.fullmatch(name):
        raise Error("style name %r: use letters, digits and _-. only, not starting with a dot, "
                    "at most 100 characters (it names files)" % (name,))
    return name


def sha256_file(path):
    return digest(path, "sha256")


def params_dirs():
    """The folders searched for styles by name, in order (existing ones only)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # gluon_style/
    if os.environ.get("GLUON_STYLE_PARAMS"):
        dirs = os.environ["GLUON_STYLE_PARAMS"].split(os.pathsep)
    else:
        dirs = [os.path.join(os.getcwd(), "params"), os.path.join(os.path.dirname(here), "params"),
                os.path.join(sys.prefix, "share", "gluon_style", "params")]
    out = []
    for d in dirs:
        if d and os.path.isfile(os.path.join(d, MANIFEST)) and os.path.abspath(d) not in out:
            out.append(os.path.abspath(d))
    return out


def read_manifest(directory):
    """The manifest of a params folder (an empty one if there is none), checked:
    anything but ``{"styles": {NAME: {"file": ..., "sha256": ..., ...}}}`` is an
    :class:`Error` naming the manifest and the entry."""
    path = os.path.join(directory, MANIFEST)
    if not os.path.exists(path):
        return {"format": FORMAT_VERSION, "styles": {}}
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except OSError as e:
        raise Error("style manifest %s: cannot read it (%s)" % (path, e.strerror)) from None
    except ValueError:
        raise Error("style manifest %s is damaged (not JSON)" % path) from None
    problem = _manifest_problem(manifest)
    if problem:
        raise Error("style manifest %s: %s" % (path, problem))
    return manifest


def _manifest_problem(manifest):
    """What is wrong with a manifest's shape, or None."""
    if not isinstance(manifest, dict) or "styles" not in manifest:
        return 'has no "styles"'
    if not isinstance(manifest["styles"], dict):
        return '"styles" is not an object of named entries'
    for name, entry in manifest["styles"].items():
        if not isinstance(entry, dict):
            return "entry %r is not an object" % name
        for key in ("file", "sha256"):
            if key not in entry:
                return 'entry %r has no "%s"' % (name, key)
        file = entry["file"]
        if not isinstance(file, str) or not file or os.path.basename(file) != file \
                or file in (os.curdir, os.pardir) or "\\" in file:
            return 'entry %r: "file" must be a file name in the manifest\'s folder, got %r' % (
                name, file)
        if not isinstance(entry["sha256"], str) or not re.fullmatch("[0-9a-f]{64}",
                                                                    entry["sha256"]):
            return 'entry %r: "sha256" is not a sha256 digest' % name
    return None


def list_styles():
    """``{name: manifest entry}`` of every style found (earlier folders win)."""
    styles = {}
    for d in reversed(params_dirs()):
        for name, entry in read_manifest(d)["styles"].items():
            styles[name] = dict(entry, path=os.path.join(d, entry["file"]))
    return styles


def register_style(directory, name, params_file, **entry):
    """Add (or replace) `name` in `directory`'s manifest, with the file's sha256
    and output mapping."""
    check_style_name(name)
    manifest = read_manifest(directory)
    manifest["styles"][name] = dict(entry, file=os.path.basename(params_file),
                                    sha256=sha256_file(params_file), format=FORMAT_VERSION,
                                    output=weights_output(params_file))
    with atomic_write(os.path.join(directory, MANIFEST), "w", role="style manifest") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


def write_thumbnail(style_image, directory, name, *, size=256):
    """Save a small JPEG of the style's painting as ``directory/NAME.jpg``."""
    img = images.resize_max_side(images.load_image(style_image, role="style image"), size,
                                 upscale=False)
    path = os.path.join(directory, name + ".jpg")
    with images.atomic_path(path, role="style thumbnail") as tmp:
        img.save(tmp, format="JPEG", quality=88)
    return path


def _resolve(model):
    """(params path, variant or None, manifest entry or None) for a name or path."""
    if os.path.sep in model or model.endswith(".params") or os.path.exists(model):
        if not os.path.isfile(model):
            raise Error("model %s: no such file" % model)
        return model, None, None
    styles = list_styles()
    if model not in styles:
        raise Error("unknown style %r (available: %s; or give a .params file)%s"
                    % (model, ", ".join(sorted(styles)) or "none found",
                       did_you_mean(model, styles)))
    entry = styles[model]
    if entry.get("format") not in READ_FORMATS:
        raise Error("style %r has format %r; this gluon_style reads formats %s"
                    % (model, entry.get("format"), ", ".join(map(str, READ_FORMATS))))
    if not os.path.isfile(entry["path"]):
        raise Error("style %r: file %s is missing" % (model, entry["path"]))
    if sha256_file(entry["path"]) != entry["sha256"]:
        raise Error("style %r: %s does not match its sha256 in the manifest (damaged or "
                    "replaced)" % (model, entry["path"]))
    return entry["path"], entry.get("variant"), entry


#: the controls' defaults are arbitrary mode's (1 = the full style, 0 = the
#: photo; "none" or keep the photo's colours, see :func:`apply_controls`)
from .arbitrary import PRESERVE_COLORS, STRENGTH  # noqa: E402

#: numeric precision asked for (see :mod:`gluon_style.precision`)
PRECISION = FastOptions.precision

#: the (width, height) of :meth:`FastStyle.warm_up`'s image: small, and at least
#: :attr:`~gluon_style.nets.transformer.NormAux.min_pixels` (2**17), so that it traces the
#: one-image formulation that photos of ordinary size run in
WARM_UP_SIZE = (512, 256)


def check_controls(strength, preserve_colors):
    """`strength` as a float in [0, 1] and `preserve_colors`, checked (one line)."""
    from .arbitrary import check_preserve_colors, check_strength
    return check_strength(strength), check_preserve_colors(preserve_colors)


def apply_controls(out, photo, *, strength=STRENGTH, preserve_colors=PRESERVE_COLORS):
    """A fast-mode result `out` (PIL) of `photo` with the controls applied.

    `preserve_colors`: "luminance" keeps the photo's chroma under the painted
    luminance, "histogram" recolors the result to the photo's colour mean and
    covariance (Gatys et al. 2016, "Preserving Color in Neural Artistic Style
    Transfer": a trained network cannot re-read a recolored painting, so the
    histogram is matched on its output). Then `strength` blends the pixels:
    ``strength * out + (1 - strength) * photo``, so 0 is the photo itself and
    1 the result, whatever the network.
    """
    from .. import color
    if preserve_colors == "luminance":
        out = color.luminance_only(out, photo)
    elif preserve_colors == "histogram":
        out = color.match_histogram(out, photo)
    if strength == 1.0:
        return out
    if strength == 0.0:
        return photo.convert("RGB").copy()
    import numpy as np
    from PIL import Image
    a = np.asarray(out.convert("RGB"), np.float32)
    b = np.asarray(photo.convert("RGB"), np.float32)
    return Image.fromarray(np.clip(np.rint(strength * a + (1.0 - strength) * b), 0, 255)
                           .astype(np.uint8))


class FastStyle:
    """A trained transformer, hybridized, ready to stylize.

    ``style(img)`` takes a PIL image (or a list of same-size images) and returns
    the stylized image(s) at the same size, with the controls of
    :func:`apply_controls` (`strength`, `preserve_colors`) applied, in the numeric
    precision :func:`gluon_style.precision.resolve` chose for `precision`
    (:attr:`precision`, and why: :attr:`precision_reason`).
    """

    def __init__(self, net, *, variant, name="", entry=None, ctx=None, strength=STRENGTH,
                 preserve_colors=PRESERVE_COLORS, precision=PRECISION):
        from ..precision import Precise, report, resolve
        self.net, self.variant, self.name = net, variant, name
        self.entry, self.ctx = entry or {}, ctx or mx.cpu()
        self.strength, self.preserve_colors = check_controls(strength, preserve_colors)
        self.precision, self.precision_reason = resolve(
            precision, kind="johnson" if variant in VARIANTS else "magenta", ctx=self.ctx)
        report(precision, self.precision, self.precision_reason, "style %s" % (name or variant))
        # per-style networks traced once (folded, or converted to bfloat16); the
        # multi-style network is called as it is (float32: precision.HOLDS)
        self._forward = (Precise(net, self.precision, ctx=self.ctx) if variant in VARIANTS
                         else net)

    def warm_up(self):
        """Run the network once on a :data:`WARM_UP_SIZE` image, so that a first
        call's one-time work is done before a photo waits for it: the graph traced and
        folded (or converted to bfloat16), the kernels oneDNN generates once whatever
        the size (those of its first matrix product), the weights in oneDNN's layout.
        Photos of ordinary size then run the formulation it traced (one image, from
        :attr:`~gluon_style.nets.transformer.NormAux.min_pixels` up). The app does it
        for the style its page picks first, while nobody waits."""
        from PIL import Image
        self._pass([Image.new("RGB", WARM_UP_SIZE, (128, 128, 128))])

    def _pass(self, batch):
        """The network's pass on a list of same-size images, without the controls."""
        return images.to_images(self._forward(images.to_tensor(batch, ctx=self.ctx)))

    def __call__(self, img):
        batch = img if isinstance(img, list) else [img]
        if self.variant in VARIANTS and len(batch) > 1:  # one by one: see norm_min_pixels
            out = [o for im in batch for o in self._pass([im])]
        else:
            out = self._pass(batch)
        if self.strength != 1.0 or self.preserve_colors != "none":
            out = [apply_controls(o, p, strength=self.strength,
                                  preserve_colors=self.preserve_colors)
                   for o, p in zip(out, batch)]
        return out if isinstance(img, list) else out[0]


def multistyle_names(path):
    """The styles of the multi-style table `path`, by row (from the manifests)."""
    rows = {}
    for name, entry in list_styles().items():
        if entry.get("variant") == "multistyle" and os.path.abspath(entry["path"]) == \
                os.path.abspath(path):
            rows[int(entry["row"])] = name
    if sorted(rows) != list(range(len(rows))):
        raise Error("style table %s: the manifest gives rows %s, not 0..%d"
                    % (path, sorted(rows), len(rows) - 1))
    return [rows[i] for i in range(len(rows))]


#: loaded multi-style networks by (table, its sha256, rows, device, transformer file): every
#: style and blend of a table shares one loaded, hybridized transformer
_MULTISTYLES = {}
_MULTISTYLES_KEPT = 2


def _multistyle(path, sha256, ctx):
    """The :class:`~gluon_style.fast.multistyle.MultiStyle` of table `path` on `ctx`,
    loaded once while its table, rows and transformer weights stay the same."""
    from ..nets import store
    from .multistyle import MultiStyle
    names = tuple(multistyle_names(path))
    weights = store.magenta_params("transformer")
    key = (os.path.abspath(path), sha256, names, str(ctx), weights, os.stat(weights).st_mtime_ns)
    net = _MULTISTYLES.pop(key, None) or MultiStyle(path, names, ctx=ctx)
    _MULTISTYLES[key] = net  # most recently used last
    while len(_MULTISTYLES) > _MULTISTYLES_KEPT:
        _MULTISTYLES.pop(next(iter(_MULTISTYLES)))
    return net


def load_multistyle(name=None, *, ctx=None):
    """The :class:`~gluon_style.fast.multistyle.MultiStyle` network holding style
    `name` (default: the first multi-style table found)."""
    if name is None:
        found = [n for n, e in sorted(list_styles().items()) if e.get("variant") == "multistyle"]
        if not found:
            raise Error("no multi-style network found (in %s)" % (", ".join(params_dirs())
                                                                  or "no params folder"))
        name = found[0]
    path, variant, entry = _resolve(name)
    if variant != "multistyle":
        raise Error("style %r is not a style of a multi-style network" % name)
    return _multistyle(path, entry["sha256"], ctx or default_ctx())


def load_style(model, *, ctx=None, weights=None, strength=STRENGTH,
               preserve_colors=PRESERVE_COLORS, precision=PRECISION):
    """Load a trained style by name (see :func:`list_styles`) or ``.params`` path,
    with the controls of :func:`apply_controls`, to run in `precision` (``"auto"``,
    ``"float32"`` or ``"bfloat16"``: see :mod:`gluon_style.precision`).

    Styles of a multi-style network (variant ``"multistyle"``) may be blended:
    `weights` (``{name: weight}`` or ``"starry_night:0.5,wave:0.5"``) names
    styles of one network and replaces `model`, which may then be None.
    """
    ctx = ctx or default_ctx()
    check_controls(strength, preserve_colors)
    if weights is not None:
        from .multistyle import parse_style_weights
        spec = parse_style_weights(weights) if isinstance(weights, str) else dict(weights)
        if not spec:
            raise Error("an empty blend")
        return load_multistyle(next(iter(spec)), ctx=ctx).style(
            spec, strength=strength, preserve_colors=preserve_colors, precision=precision)
    path, variant, entry = _resolve(model)
    if variant == "multistyle":  # resolved and checked already: not through load_multistyle
        return _multistyle(path, entry["sha256"], ctx).style(
            {model: 1.0}, name=model, strength=strength, preserve_colors=preserve_colors,
            precision=precision)
    try:
        read_weights(path)  # a file MXNet cannot read is that, whatever the variant
    except Error as e:
        raise Error("model %s: %s" % (path, e)) from None
    errors = []
    for v in ([variant] if variant else VARIANTS):
        net = transformer_net(v)
        try:
            load_weights(net, path, ctx=ctx)
        except Error as e:
            errors.append("%s: %s" % (v, e))
            continue
        expected = (entry or {}).get("output", "sigmoid" if entry else net.output)
        if net.output != expected:
            raise Error("style %r: its manifest says output %r, %s holds %r weights"
                        % (model, expected, path, net.output))
        net.hybridize(static_alloc=True)
        return FastStyle(net, variant=v, name=model, entry=entry, ctx=ctx, strength=strength,
                         preserve_colors=preserve_colors, precision=precision)
    raise Error("model %s: not a gluon_style transformer (%s)" % (path, "; ".join(errors)))


def load_content(path, max_size=None):
    """A content image shrunk to `max_size` (None: as it is); :class:`Error` naming the
    file if it cannot be read or is then too small for the transformer."""
    img = images.load_image(path, role="content image")
    if not max_size:
        return img
    w, h = images.fit_size(img.size, max_size, upscale=False)
    if min(w, h) < MIN_SIDE:
        raise Error("%s (%dx%d) is %dx%d at max size %d; the transformer needs both sides at "
                    "least %d px: a max size of at least %d"
                    % (images.where("content image", path), img.size[0], img.size[1], w, h,
                       max_size, MIN_SIDE, images.size_for_side(img.size, MIN_SIDE)))
    return images.resize_max_side(img, max_size, upscale=False)


def output_paths(inputs, top, output):
    """Where :func:`stylize_files` writes a folder's images: the same relative paths under
    `output`, as PNG for a format that is read but not written (GIF). Two inputs
    with one output name are an :class:`Error`."""
    outputs, seen = [], {}
    for path in inputs:
        stem, ext = os.path.splitext(os.path.relpath(path, top))
        out = os.path.join(output, stem + (ext if ext.lower() in images.WRITE_EXTENSIONS
                                           else ".png"))
        if out in seen:
            raise Error("content images %s and %s would both be written as %s; rename one"
                        % (seen[out], path, out))
        seen[out] = path
        outputs.append(out)
    return outputs


def check_contents(inputs, max_size=None, *, role="content folder", top=None, most=10):
    """Check every input with :func:`load_content` before anything is written: an
    :class:`Error` naming each bad one (the first `most`) and how many there are."""
    bad = []
    for path in inputs:
        try:
            load_content(path, max_size)
        except Error as e:
            bad.append(str(e))
    if bad and len(inputs) == 1:
        raise Error(bad[0])
    if bad:
        raise Error("%s%d of %d images cannot be used, nothing written: %s%s" % (
            "" if top is None else images.where(role, top) + ": ", len(bad), len(inputs),
            "; ".join(bad[:most]), "; and %d more" % (len(bad) - most) if len(bad) > most else ""))


def run_order(inputs, max_size=None):
    """The indices of `inputs` largest image first (its size after `max_size`, read from
    the file's header), images of one size together, ties in input order; a file whose
    header cannot be read comes first (its error before anything is written). The order
    of ``stylize_files(..., largest_first=True)``.

    The first image's buffers are then the largest the run needs, and the smaller ones'
    fit in the memory the process keeps (:func:`gluon_style.runtime.keep_freed_memory`):
    a folder of mixed sizes holds less memory at its end (``docs/precision.md``, "Phase
    form"), in the same time within the noise.
    """
    def key(i):
        wh = images.stored_size(inputs[i])
        if wh is None:
            return (0, 0, 0, i)
        if max_size:
            wh = images.fit_size(wh, max_size, upscale=False)
        return (1, -wh[0] * wh[1], -wh[0], i)
    return sorted(range(len(inputs)), key=key)


def stylize_files(style, inputs, outputs, *, max_size=FastOptions.max_size, largest_first=False):
    """Stylize each input file to its output file, in input order (`largest_first`: in
    :func:`run_order`); yields the output paths as they are written.

    Consecutive small images of one size (after `max_size`) go through in one batch
    (:func:`plan_batches`); every other image alone. Decoding the next image and
    encoding the last batch run in a second thread while the network works (PIL
    releases the GIL in both; ``benchmarks/bench_throughput.py``); this thread
    writes each output, whole, before it yields it and before the next batch is
    encoded, so an interruption leaves exactly the yielded outputs written.
    """
    from concurrent.futures import ThreadPoolExecutor
    if largest_first:
        order = run_order(inputs, max_size)
        inputs, outputs = [inputs[i] for i in order], [outputs[i] for i in order]
    with ThreadPoolExecutor(1, thread_name_prefix="gluon_style-io") as worker:
        def sized():
            decodes = ((worker.submit(load_content, src, max_size), dst)  # lazily
                       for src, dst in zip(inputs, outputs))
            ahead = next(decodes, None)
            while ahead:
                decoded, dst = ahead
                ahead = next(decodes, None)  # the next decode starts before this one is used
                img = decoded.result()
                yield img.size, (img, dst)

        encoding = []  # the last batch's (future bytes, dst)
        try:
            for group in plan_batches(sized()):
                outs = style([img for img, _ in group])
                yield from _write(encoding)
                encoding = [(worker.submit(images.encode_image, out, dst), dst)
                            for out, (_, dst) in zip(outs, group)]
            yield from _write(encoding)
        except BaseException:
            for future, _ in encoding:
                future.cancel()
            raise


def _write(encoding):
    """Write and yield each encoded output of `encoding`, taking it off the list (what
    is left there when a write fails is cancelled by the caller)."""
    while encoding:
        future, dst = encoding.pop(0)
        images.write_bytes(future.result(), dst)
        yield dst


#: a batch holds at most this many images and this many pixels in all: on 2 CPU cores
#: (``benchmarks/bench_throughput.py``), batches of up to 4 images of 96x64 to 256x192
#: take 15-45% less time per image than single images, while at 400x300 and beyond a
#: batch takes as long or longer per image (at 1024x1024, batch 4: +40%)
BATCH_IMAGES, BATCH_PIXELS = 4, 200000
# An image is batched only below BATCH_PIXELS / 2 pixels, and its norms run as batch
# norms alone only from NormAux.min_pixels up (per-style networks: every image runs
# alone, FastStyle.__call__): so each image's formulation, hence its bytes, depends on
# its size alone, not on the plan (tests/test_fast.py checks it).


def batch_limit(size):
    """Images of `size` = (w, h) per batch: up to :data:`BATCH_IMAGES`, at most
    :data:`BATCH_PIXELS` pixels in all (at least one)."""
    return max(1, min(BATCH_IMAGES, BATCH_PIXELS // (size[0] * size[1])))


def plan_batches(sized):
    """The batches :func:`stylize_files` runs, lazily and in input order, from ``(size,
    item)`` pairs: consecutive items of one size, up to :func:`batch_limit` of them; so
    nothing is held back and a large image always goes alone. A batch's pixels may
    differ from those of its images run alone (by one level), so
    :mod:`~gluon_style.fast.bulk` plans its tasks with this too, to write the same bytes."""
    batch, size_of_batch, limit = [], None, 0
    for size, item in sized:
        if batch and size != size_of_batch:
            yield batch
            batch = []
        if not batch:
            size_of_batch, limit = size, batch_limit(size)
        batch.append(item)
        if len(batch) == limit:
            yield batch
            batch = []
    if batch:
        yield batch


