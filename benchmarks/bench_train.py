"""Short, comparable fast-mode training runs for ablations: snapshots and loss logs.

    python benchmarks/bench_train.py --style PAINTING --dataset PHOTOS/ --out DIR --name RUN
        [--stage SIZE:STEPS[:LR] ...] [--snapshot-every N] [--set KEY=VALUE ...]

Each ``--stage`` trains a :class:`gluon_style.fast.train.StyleTrainer` for STEPS steps on
SIZE px crops (learning rate LR, default the trainer's), the next stage starting
from the last one's weights (``train --init-from``: a fresh Adam state), so every
recipe here is one the ``train`` command can run stage by stage. ``--set`` passes
any other StyleTrainer keyword (JSON values: ``--set style_weight=2.5
--set output='"sigmoid"'``). ``--relabel-init`` starts from ``init_from``'s
weights with the run's output mapping instead of the one they were trained
with (e.g. a sigmoid-trained style fine-tuned with the linear mapping, its
tangent at 0). Runs are resumable: run the same command again.

Writes ``DIR/RUN/stageK/`` (the trainer's checkpoint and ``log.csv``), snapshots
``DIR/RUN/step_NNNNN.params`` (float16, numbered over all stages; a stage starts
from the float32 checkpoint of the last) and
``DIR/RUN/run.json`` (settings, and per stage the steps done, wall seconds and
CPU seconds of this process: the cost of a step whatever else runs beside it;
``snapshots``: [step, wall seconds, CPU seconds] at each snapshot, cumulative).
"""
import argparse
import json
import os
import sys
import time

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet is imported)
from gluon_style.io.fileio import atomic_write
from gluon_style.fast.train import StyleTrainer
from gluon_style.nets.transformer import save_weights


def parse_stage(text):
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError("stage is SIZE:STEPS[:LR], got %r" % text)
    return dict(image_size=int(parts[0]), steps=int(parts[1]),
                **({"lr": float(parts[2])} if len(parts) == 3 else {}))


def parse_set(text):
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError("--set wants KEY=VALUE, got %r" % text)
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--style", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True, help="folder of runs")
    p.add_argument("--name", required=True)
    p.add_argument("--stage", type=parse_stage, nargs="+", required=True, metavar="SIZE:STEPS[:LR]")
    p.add_argument("--snapshot-every", type=int, default=100)
    p.add_argument("--set", type=parse_set, nargs="*", default=[], metavar="KEY=VALUE")
    p.add_argument("--relabel-init", action="store_true")
    args = p.parse_args(argv)
    extra = dict(args.set)
    run_dir = os.path.join(args.out, args.name)
    os.makedirs(run_dir, exist_ok=True)
    if args.relabel_init:
        from gluon_style.nets.transformer import DEFAULT_OUTPUT, load_weights, transformer_net
        net = transformer_net(extra.get("variant", "full"))
        load_weights(net, extra["init_from"])
        net.output = extra.get("output", DEFAULT_OUTPUT)
        extra["init_from"] = os.path.join(run_dir, "init.params")
        save_weights(net, extra["init_from"], dtype="float32")
    info_path = os.path.join(run_dir, "run.json")
    info = dict(style=args.style, dataset=args.dataset, stages=args.stage, settings=extra,
                seconds=[0.0] * len(args.stage), cpu_seconds=[0.0] * len(args.stage),
                done=[0] * len(args.stage), snapshots=[])
    if os.path.exists(info_path):
        with open(info_path) as f:
            old = json.load(f)
        if (old["stages"], old["settings"]) != (args.stage, extra):
            sys.exit("run %s exists with other settings" % run_dir)
        info = old
    offset, init = 0, extra.get("init_from")
    for k, stage in enumerate(args.stage):
        opts = dict({key: v for key, v in extra.items() if key != "init_from"}, **stage)
        opts.setdefault("checkpoint_every", args.snapshot_every)
        sdir = os.path.join(run_dir, "stage%d" % k)
        resume = os.path.exists(os.path.join(sdir, "stage", "state.json"))
        trainer = StyleTrainer(args.style, args.dataset, name="stage", checkpoint_dir=sdir,
                               resume=resume, init_from=init, **opts)
        t0, c0 = time.perf_counter(), time.process_time()
        for step in trainer.steps():
            done = offset + step.step
            if step.step % args.snapshot_every == 0 or step.step == trainer.total_steps:
                save_weights(trainer.net, os.path.join(run_dir, "step_%05d.params" % done))
                info["seconds"][k] += time.perf_counter() - t0
                info["cpu_seconds"][k] += time.process_time() - c0
                info["done"][k] = step.step
                info["snapshots"].append([done, sum(info["seconds"]), sum(info["cpu_seconds"])])
                t0, c0 = time.perf_counter(), time.process_time()
                with atomic_write(info_path, "w") as f:
                    json.dump(info, f, indent=1)
                print("%s step %d (stage %d: %d/%d) %s" % (args.name, done, k, step.step,
                      trainer.total_steps, " ".join("%s=%.4g" % kv for kv in step.losses.items())),
                      flush=True)
        init = os.path.join(sdir, "stage", "model.params")  # float32, with its output mapping
        offset += trainer.total_steps
    return 0


if __name__ == "__main__":
    sys.exit(main())
