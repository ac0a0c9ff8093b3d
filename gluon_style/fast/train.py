"""Fast mode, training (Johnson et al.): a transformer per style, VGG16 loss net.

:class:`StyleTrainer` sets a run up (or picks up its checkpoint) and
:meth:`StyleTrainer.steps` trains, yielding a :class:`TrainStep` per step and
writing a checkpoint every ``checkpoint_every`` steps: the network, the Adam
state and the step, so a killed run continues exactly where it stopped.

Loss weighting departs from the paper: each style layer's Gram error is divided
by the mean square of the style image's Gram matrix at that layer, and the
content error by the mean square of the style image's features at the content
layer. The terms are then relative errors whatever the loss net's activation
scale, and `style_weight` / `content_weight` keep their meaning across styles
and networks.

Distributed training (``kvstore="dist_sync"``, MXNet's parameter server, e.g.
under :mod:`gluon_style.launch`): `batch_size` is the global batch; worker `r`
of `n` reads shard `r` of the photos (:mod:`gluon_style.fast.data`) and takes
``batch_size / n`` of them a step. The servers sum the workers' gradients,
each of the mean loss over the worker's images, and every worker runs the same
Adam update on the sum divided by `n` (``Trainer.step(contexts * n)``): the
step of one process on the whole batch, which is what ``data_shards=n`` in one
process reproduces. Rank 0 alone writes the checkpoints and the loss log (the
losses averaged over the workers); a resume has every worker read rank 0's
checkpoint, so `checkpoint_dir` must be a folder they share (the workers check
that they resumed at the same step). With ``dist_async`` the servers hold Adam's
state (MXNet runs the optimizer there in async mode and cannot save it from a
worker): checkpoints keep the weights and the step, and Adam restarts on resume.
"""
import contextlib
import csv
import json
import logging
import math
import os
import time
from collections import namedtuple

import mxnet as mx
from mxnet import autograd, gluon

from . import data
from ..nets import features, store, transformer
from ..io import images
from ..errors import Error, unknown
from . import check_style_name
from ..io.fileio import atomic_path, atomic_write, digest
from ..optimization.losses import PerceptualLoss, check_weights, gram
from ..options import TrainOptions, takes
from ..runtime import interrupts_held, parse_ctx
from ..nets.transformer import OUTPUTS, load_weights, save_weights, transformer_net

log = logging.getLogger("gluon_style")

TrainStep = namedtuple("TrainStep", "step losses seconds")
#: settings that must match to resume a checkpoint
_RESUME_KEYS = ("style",) + TrainOptions.resume_keys()
CSV_FIELDS = ("step", "total", "content", "style", "tv", "seconds")
#: KVStore keys of our own, beside the Trainer's (0 .. parameters - 1)
_STEP_KEY, _LOSS_KEY = 1 << 20, (1 << 20) + 1
#: test hook: "RANK:STEP" makes the worker of that rank exit (status 3) before that step
FAIL_ENV = "GLUON_STYLE_TEST_FAIL_AT"


def painting_loss(extractor, painting, cfg, ctx):
    """(the perceptual loss, the Gram targets) of one painting (PIL, at its training
    size) under the training settings `cfg`: each style layer's weight normalized
    by its Gram matrix's mean square, the content weight by the painting's mean
    square content feature, so the settings mean the same for any painting."""
    feats = extractor(images.to_tensor(painting, ctx=ctx))
    layers = cfg["style_layers"]
    n = len(layers)
    grams = [gram(mx.nd, feats[layer]) for layer in layers]
    style_weights = [w * cfg["style_weight"] / (n * float(mx.nd.mean(g * g).asscalar()) + 1e-30)
                     for w, g in zip(cfg["style_layer_weights"] or [1.0] * n, grams)]
    content_scale = float(mx.nd.mean(feats[cfg["content_layer"]] ** 2).asscalar()) + 1e-30
    loss = PerceptualLoss(extractor.taps, layers, [cfg["content_layer"]],
                          style_weights=style_weights,
                          content_weights=[cfg["content_weight"] / content_scale],
                          tv_weight=cfg["tv_weight"])
    return loss, grams


class StyleTrainer:
    """Train a transformer for one style.

    Parameters
    ----------
    style : str
        The style image.
    dataset : str
        A folder of photos (searched recursively).
    name : str
        The style's name: checkpoints go to ``checkpoint_dir/name``.
    options : TrainOptions or None
        The run's settings (:class:`gluon_style.options.TrainOptions`, which says
        what each does); keywords override them, e.g. ``steps=400``.
    resume : bool
        Continue from the checkpoint in ``checkpoint_dir/name``.
    """

    #: settings that must match to resume a checkpoint
    resume_keys = _RESUME_KEYS
    #: the transformer variants it trains
    variants = tuple(transformer.VARIANTS)
    #: whether a dist kvstore is taken
    distributed = True

    @takes(TrainOptions, after=3)
    def __init__(self, style, dataset, options, *, name, resume=False):
        check_style_name(name)
        o = self.options = options
        if o.output not in OUTPUTS:
            raise unknown("output mapping", o.output, OUTPUTS)
        if o.variant not in self.variants:
            raise unknown("transformer variant", o.variant, self.variants)
        style_layers, content_layer, image_size = o.style_layers, o.content_layer, o.image_size
        layers = list(style_layers) + [content_layer]
        need = max(transformer.MIN_SIDE, features.min_input_side(layers))
        if image_size < need:
            raise Error("image size %d is too small: the loss network's poolings need crops of at "
                        "least %d px (up to %s)"
                        % (image_size, need, features.deepest_layer(layers)))
        self.ctx = parse_ctx(o.ctx)
        self._setup_kvstore(o)
        if o.batch_size % (len(self.ctx) * self.num_shards):
            raise Error("batch size %d does not split over %d contexts x %d %s"
                        % (o.batch_size, len(self.ctx), self.num_shards,
                           "workers" if self.kv_type.startswith("dist") else "data shards"))
        share = o.batch_size // len(self.ctx) // self.num_shards
        self.micro_batch = max(d for d in range(1, min(int(o.micro_batch), share) + 1)
                               if share % d == 0)
        # what a checkpoint stores, and a resume must match: the style and the resume options
        self.config = dict(style=os.path.abspath(style),
                           **{k: getattr(o, k) for k in TrainOptions.resume_keys()})
        self.config.update(
            image_size=int(image_size), style_size=int(o.style_size or image_size),
            batch_size=int(o.batch_size), lr=float(o.lr), style_weight=float(o.style_weight),
            content_weight=float(o.content_weight), tv_weight=float(o.tv_weight),
            style_layers=list(style_layers), seed=int(o.seed),
            style_layer_weights=None if o.style_layer_weights is None else
            check_weights("style layer weights", o.style_layer_weights, len(style_layers)),
            network=o.network if o.network != "auto" else None,
            init_from=os.path.abspath(o.init_from) if o.init_from else None)
        self.name, self.total_steps = name, int(o.steps)
        self.saved_step = None  # the step of the checkpoint on disk
        self.checkpoint_every, self.workers = int(o.checkpoint_every), int(o.workers)
        self.dir = os.path.join(o.checkpoint_dir, name)
        # every name is checked before the dataset's photos are read
        net = store.resolve(o.network, archs=("vgg16", "vgg19"))
        for layer in layers:
            features.layer_index(net.arch, layer)
        self.config["network"] = net.name
        if self.num_shards > 1:  # the data order (not a resume key: a run may change it)
            self.config["data_shards"] = self.num_shards
        self.network = net
        self.dataset = data.PhotoFolder(dataset, size=image_size, shards=self.shards,
                                        num_shards=self.num_shards)
        self._build(style, net)
        self.step = 0
        if resume:
            self._resume()
        elif self.rank == 0 and os.path.exists(os.path.join(self.dir, "state.json")):
            raise Error("checkpoint %s exists: pass --resume to continue it, or another --name"
                        % self.dir)
        if self.kv_type.startswith("dist"):
            self._agree_on_step()
            self._broadcast_weights()

    def _setup_kvstore(self, o):
        """The kvstore (a name, or the dist KVStore object), this worker's rank and shards."""
        self.kv_type = o.kvstore
        self.rank, self.num_workers = 0, 1
        self.num_shards, self.shards = int(o.data_shards), list(range(int(o.data_shards)))
        self.kvstore = o.kvstore
        if not o.kvstore.startswith("dist"):
            return
        if not self.distributed:
            raise Error("%s does not train on a parameter server" % type(self).__name__)
        if "DMLC_ROLE" not in os.environ:
            raise Error("--kvstore %s needs a parameter-server job: run it under python -m "
                        "gluon_style.launch (or set the DMLC_* variables)" % o.kvstore)
        self.kvstore = kv = mx.kv.create(o.kvstore)
        self.rank, self.num_workers = kv.rank, kv.num_workers
        if o.data_shards not in (1, kv.num_workers):
            raise Error("data shards %d with %d workers: each worker reads its own shard"
                        % (o.data_shards, kv.num_workers))
        self.num_shards, self.shards = kv.num_workers, [kv.rank]
        log.info("worker rank %d of %d (%s)", self.rank, self.num_workers, o.kvstore)

    def _agree_on_step(self):
        """Every worker starts at rank 0's step (a resume from another checkpoint is an
        error: the folder is not shared, or a rank read an older state)."""
        kv = self.kvstore
        kv.init(_STEP_KEY, mx.nd.array([self.step]))  # rank 0's value, then a barrier
        theirs = mx.nd.zeros((1,))
        kv.pull(_STEP_KEY, out=theirs)
        theirs = int(theirs.asscalar())
        if theirs != self.step:
            raise Error("worker rank %d is at step %d of %s, rank 0 at step %d: every worker "
                        "resumes from rank 0's checkpoint, so --checkpoint-dir must be a folder "
                        "they share" % (self.rank, self.step, self.dir, theirs))
        if self.kv_type == "dist_sync":
            kv.init(_LOSS_KEY, mx.nd.zeros((4,)))

    def _broadcast_weights(self):
        """Rank 0's weights on every worker, landed before any gradient is pushed.

        Gluon's Trainer broadcasts them lazily, inside its first ``step()``: ``init``
        then an asynchronous pull per key, followed at once by the push of that key's
        gradient. MXNet's dist kvstore gives that push its own buffer (the gradient),
        so nothing orders it after the pull: when it overtook the pull, the servers
        had summed the gradients first and the pull wrote that sum into the weights
        (on any rank, for a few parameters; the runs diverged from step 2 on). Here
        the broadcast runs before the first step and is waited for.
        """
        trainer = self.trainer
        if not trainer._kv_initialized:
            trainer._init_kvstore()
        if trainer._params_to_init:  # done already when a resume loaded the Adam state
            trainer._init_params()
        for p in self.net.collect_params().values():
            for d in p.list_data():
                d.wait_to_read()

    # ---------------------------------------------------------------- setup
    def _build(self, style, net):
        cfg = self.config
        mx.random.seed(cfg["seed"])
        self.net = transformer_net(cfg["variant"], output=cfg["output"])
        self.net.initialize(mx.init.Xavier(), ctx=self.ctx)
        if cfg["init_from"]:
            if not os.path.isfile(cfg["init_from"]):
                raise Error("init weights %s: no such file" % cfg["init_from"])
            try:
                trained = load_weights(self.net, cfg["init_from"], ctx=self.ctx)
            except Error as e:
                raise Error("init weights %s: not a %s transformer (%s)" % (
                    cfg["init_from"], cfg["variant"], e)) from None
            if trained != cfg["output"]:
                raise Error("init weights %s were trained with the %s output; pass --output %s"
                            % (cfg["init_from"], trained, trained))
        self.net.hybridize(static_alloc=True, static_shape=True)
        layers = list(cfg["style_layers"]) + [cfg["content_layer"]]
        self.extractor = store.load_extractor(net, layers, ctx=self.ctx[0])
        taps = self.extractor.taps
        style_img = images.load_image(style, role="style image")
        features.check_reach(style_img, style, "style image", cfg["style_size"], layers)
        style_img = images.resize_max_side(style_img, cfg["style_size"])
        self.loss, grams = painting_loss(self.extractor, style_img, cfg, self.ctx[0])
        self.loss.hybridize(static_alloc=True, static_shape=True)
        self.precision = self._loss_precision()
        if self.precision == "bfloat16":
            from ..precision import LossOnFirstCall
            self.loss = LossOnFirstCall(self.loss, ctx=self.ctx[0])
        # The photos' content targets need the VGG only up to the content layer.
        self.content_taps = taps.subset([cfg["content_layer"]])
        self.content_taps.hybridize(static_alloc=True, static_shape=True)
        taps.collect_params().reset_ctx(self.ctx)
        self.grams = [[g.as_in_context(c) for g in grams] for c in self.ctx]
        kw = {}
        if self.kv_type != "device":
            # dist_sync: the servers sum, each worker updates (its Adam state can be saved)
            kw = dict(kvstore=self.kvstore,
                      update_on_kvstore=False if self.kv_type == "dist_sync" else None)
        self.trainer = gluon.Trainer(self.net.collect_params(), "adam",
                                     {"learning_rate": cfg["lr"]}, **kw)
        # gradients add up over a step's passes (zeroed at its start)
        self._trained = [p for p in self.net.collect_params().values() if p.grad_req != "null"]
        for p in self._trained:
            p.grad_req = "add"

    # ---------------------------------------------------------------- checkpoints
    def _loss_precision(self):
        """float32 or bfloat16 for the loss network (the option ``precision``); bfloat16
        runs on one device only (the converted block's weights live on one)."""
        from ..precision import report, resolve
        asked = self.options.precision
        chosen, why = resolve(asked, kind="vgg", ctx=self.ctx[0])
        if chosen == "bfloat16" and len(self.ctx) > 1:
            chosen, why = "float32", "bfloat16 trains on one device only"
        report(asked, chosen, why, "the loss network")
        return chosen

    def _paths(self):
        return {k: os.path.join(self.dir, f) for k, f in
                (("params", "model.params"), ("states", "trainer.states"),
                 ("state", "state.json"), ("csv", "log.csv"))}

    def save_checkpoint(self):
        """Write the network, the optimizer state and the step (each file atomically;
        an interrupt waits until all three are written). ``state.json``, written
        last, holds the sha256 of the other two: a checkpoint that a kill left
        half written is refused by :meth:`_resume`, not resumed from a mix."""
        p = self._paths()
        if self.rank != 0:  # rank 0 writes the checkpoint of every worker
            self.saved_step = self.step
            return self.dir
        kept = ("params", "states") if self._local_optimizer() else ("params",)
        with interrupts_held():
            os.makedirs(self.dir, exist_ok=True)
            with atomic_path(p["params"], role="checkpoint") as tmp:
                save_weights(self.net, tmp, dtype="float32")  # exact, with its output mapping
            if "states" in kept:
                with atomic_path(p["states"], role="checkpoint") as tmp:
                    self.trainer.save_states(tmp)
            files = {os.path.basename(p[k]): digest(p[k]) for k in kept}
            with atomic_write(p["state"], "w", role="checkpoint") as f:
                json.dump({"step": self.step, "config": self.config, "sha256": files}, f,
                          indent=1)
            self.saved_step = self.step
        return self.dir

    def _local_optimizer(self):
        """False with dist_async: Adam runs on the servers, its state out of reach."""
        return self.kv_type != "dist_async"

    def stop(self):
        """After an interrupt: save the checkpoint of the last finished step unless it is
        on disk already. Returns the step of the checkpoint, or None when no step
        had finished (then nothing is left: the run's empty log goes)."""
        if self.step == 0 and self.saved_step is None:
            self._discard()
            return None
        if self.saved_step != self.step:
            self.save_checkpoint()
        return self.step

    def _discard(self):
        """Remove the log of a run that wrote no checkpoint (and its folder if empty)."""
        if self.saved_step is None and self.rank == 0:
            with contextlib.suppress(OSError):
                os.remove(self._paths()["csv"])
            with contextlib.suppress(OSError):
                os.rmdir(self.dir)

    def _resume(self):
        p = self._paths()
        try:
            with open(p["state"]) as f:
                state = json.load(f)
        except OSError:
            raise Error("no checkpoint to resume in %s%s" % (self.dir, "" if self.rank == 0 else
                        " (worker rank %d: every worker resumes from rank 0's checkpoint, so "
                        "--checkpoint-dir must be a folder they share)" % self.rank))
        except ValueError:
            raise Error("checkpoint %s: state.json is damaged" % self.dir)
        state["config"].setdefault("output", "sigmoid")  # checkpoints from before the option
        changed = [k for k in self.resume_keys if state["config"].get(k) != self.config.get(k)]
        if changed:
            raise Error("checkpoint %s was made with other settings (%s); use another --name"
                        % (self.dir, ", ".join(changed)))
        for name, sha in state.get("sha256", {}).items():  # none in older checkpoints
            path = os.path.join(self.dir, name)
            if not os.path.isfile(path) or digest(path) != sha:
                raise Error("checkpoint %s is incomplete: %s is not the one of step %s (a kill "
                            "while it was written?); start again with another --name"
                            % (self.dir, name, state["step"]))
        load_weights(self.net, p["params"], ctx=self.ctx)
        if self._local_optimizer() and os.path.basename(p["states"]) in state.get(
                "sha256", {os.path.basename(p["states"]): None}):
            self.trainer.load_states(p["states"])
        else:
            log.warning("checkpoint %s: no optimizer state (dist_async keeps it on the servers);"
                        " Adam starts again from the step's weights", self.dir)
        if state["config"].get("data_shards", 1) != self.num_shards:
            log.warning("checkpoint %s was read as %d data shard(s), this run reads %d: the "
                        "photo order changes from here", self.dir,
                        state["config"].get("data_shards", 1), self.num_shards)
        self.step = self.saved_step = int(state["step"])
        self._truncate_csv()
        log.info("resumed %s at step %d", self.dir, self.step)

    def _truncate_csv(self):
        path = self._paths()["csv"]
        if self.rank != 0 or not os.path.exists(path):
            return
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= self.step]
        with atomic_write(path, "w", newline="", role="training log") as f:
            w = csv.DictWriter(f, CSV_FIELDS)
            w.writeheader()
            w.writerows(rows)

    # ---------------------------------------------------------------- training
    def _batch_losses(self, batch):
        parts = gluon.utils.split_and_load(batch, self.ctx, even_split=True)
        share, m = parts[0].shape[0], self.micro_batch
        for p in self._trained:
            p.zero_grad()
        outs = []
        for start in range(0, share, m):  # passes of m images per device, gradients summed
            heads = []
            with autograd.record():
                for x, grams in zip(parts, self.grams):
                    x = x[start:start + m]
                    with autograd.pause():
                        content_target = self.content_taps(x)[0]
                    outs.append(self.loss(self.net(x), *grams, content_target))
                    # each pass's losses are means over its m images: weighted,
                    # they sum to the mean over the device's share
                    heads.append(outs[-1][0] * (m / share))
            autograd.backward(heads)
        # dist_sync: the servers sum the workers' gradients, so divide by them too
        self.trainer.step(len(parts) * (self.num_workers if self.kv_type == "dist_sync" else 1))
        terms = mx.nd.concat(*[mx.nd.concat(*o, dim=0).as_in_context(mx.cpu()) for o in outs],
                             dim=0)
        values = terms.reshape((len(outs), 4)).mean(axis=0)
        if self.kv_type == "dist_sync":  # the log's losses: the mean over every worker
            self.kvstore.push(_LOSS_KEY, values / self.num_workers)
            self.kvstore.pull(_LOSS_KEY, out=values)
        values = values.asnumpy()
        return dict(zip(("total", "content", "style", "tv"), (float(v) for v in values)))

    def steps(self):
        """Train to ``steps``, yielding a :class:`TrainStep` after each step.

        A step is never stopped halfway: Ctrl-C or SIGTERM during one is delivered
        when it has finished (its log row and any checkpoint due written), so that
        :meth:`stop` then saves exactly that step. A loss that stops being finite
        is an :class:`Error` naming the checkpoint that is kept.
        """
        cfg = self.config
        loader = data.photo_loader(self.dataset, batch_size=cfg["batch_size"] // self.num_workers,
                                   seed=cfg["seed"], start=self.step, stop=self.total_steps,
                                   workers=self.workers)
        # rank 0 writes the log; the others' rows go nowhere
        path = self._paths()["csv"] if self.rank == 0 else os.devnull
        if self.rank == 0:
            os.makedirs(self.dir, exist_ok=True)
        try:
            with open(path, "w" if self.step == 0 else "a", newline="") as f:
                writer = csv.DictWriter(f, CSV_FIELDS)
                if self.step == 0:  # a new log (one left by a run that saved nothing goes)
                    writer.writeheader()
                for batch in loader:
                    with interrupts_held():
                        done = self._train_step(batch, writer, f)
                    yield done
        except Error:
            self._discard()
            raise

    def _train_step(self, batch, writer, log_file):
        if os.environ.get(FAIL_ENV) == "%d:%d" % (self.rank, self.step + 1):
            log.error("%s: worker rank %d exits before step %d", FAIL_ENV, self.rank,
                      self.step + 1)
            os._exit(3)
        t0 = time.perf_counter()
        losses = self._batch_losses(batch)
        if not all(math.isfinite(v) for v in losses.values()):
            kept = ("no checkpoint was written (try a lower --lr)" if self.saved_step is None
                    else "the checkpoint of step %d is kept in %s" % (self.saved_step, self.dir))
            raise Error("loss became %s at step %d; %s" % (losses["total"], self.step + 1, kept))
        self.step += 1
        seconds = time.perf_counter() - t0
        writer.writerow(dict(step=self.step, seconds=round(seconds, 4),
                             **{k: "%.6g" % v for k, v in losses.items()}))
        if self.step % self.checkpoint_every == 0 or self.step == self.total_steps:
            log_file.flush()
            self.save_checkpoint()
        return TrainStep(self.step, losses, seconds)

    def history(self):
        """The CSV log as ``{term: [(step, value)]}``."""
        out = {}
        with open(self._paths()["csv"], newline="") as f:
            for row in csv.DictReader(f):
                for k in ("total", "content", "style", "tv"):
                    out.setdefault(k, []).append((int(row["step"]), float(row[k])))
        return out

