"""Fast-mode training: data order, a few steps, checkpoints and exact resume."""
import csv
import logging
import os

import mxnet as mx
import numpy as np
import pytest

from gluon_style.fast import data
from gluon_style.errors import Error
from gluon_style.fast.train import StyleTrainer
from gluon_style.nets.transformer import save_weights, weights_output

from .conftest import make_painting, make_photo


@pytest.fixture
def photos(tmp_path):
    d = tmp_path / "photos"
    (d / "sub").mkdir(parents=True)
    for i in range(3):
        make_photo(d / ("p%d.png" % i), 40 + 4 * i, 36, seed=i)
    make_photo(d / "sub" / "deep.png", 44, 40)
    (d / "broken.jpg").write_bytes(b"not a jpeg")
    return str(d)


def test_photo_folder_skips_unreadable_files_with_a_count(photos, caplog):
    with caplog.at_level(logging.WARNING, logger="gluon_style"):
        ds = data.PhotoFolder(photos, size=24)
    assert len(ds) == 4  # recursive, the broken file left out
    assert "skipped 1 unreadable file(s) of 5" in caplog.text
    crop = ds[(0, 7)]
    assert crop.shape == (3, 24, 24) and crop.dtype == np.float32
    np.testing.assert_array_equal(crop, ds[(0, 7)])  # a crop is a function of its seed
    assert not np.array_equal(crop, ds[(0, 8)])


def test_step_sampler_is_a_function_of_seed_and_step():
    full = list(data.StepSampler(10, 4, seed=3, start=0, stop=9))
    tail = list(data.StepSampler(10, 4, seed=3, start=5, stop=9))
    assert full[5:] == tail
    first_epoch = [i for batch in full for i, _ in batch][:10]
    assert sorted(first_epoch) == list(range(10))  # each photo once per epoch
    other = list(data.StepSampler(10, 4, seed=4, start=0, stop=9))
    assert other != full


def _trainer(tmp_path, photos, style, **kw):
    opts = dict(name="t", steps=4, image_size=24, batch_size=2, checkpoint_every=2,
                network="vgg16-random", checkpoint_dir=str(tmp_path / "ck"), workers=0, seed=1,
                variant="small", lr=5e-3)
    opts.update(kw)
    return StyleTrainer(style, photos, **opts)


def _params(trainer):
    return {k: v.data().asnumpy() for k, v in trainer.net._collect_params_with_prefix().items()}


def _assert_same_updates(start, a, b):
    """Runs `a` and `b` moved every weight tensor from `start` alike: their
    updates differ by under 1% of their size. (Element-wise equality is too
    strict: Adam turns rounding noise in a near-zero gradient into a step.)"""
    assert start.keys() == a.keys() == b.keys()
    moved = 0
    for k in start:
        da, db = a[k] - start[k], b[k] - start[k]
        size = np.linalg.norm(da)
        moved += size > 0
        assert np.linalg.norm(da - db) <= 1e-2 * size + 1e-7, k
    assert moved >= len(start) // 2  # the runs did train


def _params_file(path):
    return {k: v.asnumpy() for k, v in mx.nd.load(str(path)).items()}


def test_training_lowers_the_loss(tmp_path, photos):
    style = make_painting(tmp_path / "s.png", 40, 40)
    t = _trainer(tmp_path, photos, style, steps=30, checkpoint_every=100, lr=1e-2)
    totals = [s.losses["total"] for s in t.steps()]
    assert np.mean(totals[-5:]) < 0.7 * np.mean(totals[:5]), totals


def test_resume_after_a_kill_equals_an_uninterrupted_run(tmp_path, photos):
    style = make_painting(tmp_path / "s.png", 40, 40)
    straight = _trainer(tmp_path / "a", photos, style)
    for _ in straight.steps():
        pass
    # the same run killed during step 3: the checkpoint is step 2's, the log has row 3
    killed = _trainer(tmp_path / "b", photos, style)
    for step in killed.steps():
        if step.step == 3:
            break
    resumed = _trainer(tmp_path / "b", photos, style, resume=True)
    assert resumed.step == 2
    for _ in resumed.steps():
        pass
    a, b = _params(straight), _params(resumed)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6, err_msg=k)
    with open(os.path.join(resumed.dir, "log.csv")) as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2, 3, 4]


def test_a_batch_split_over_two_contexts_trains_as_one(tmp_path, photos):
    # "cpu0,cpu1": two MXNet contexts on the same cores, i.e. the multi-GPU path
    # (split_and_load, one forward/backward per device, gradients summed) without a GPU
    # (TV 0.5, as when this test was written: at the default 0.05 one bias of this tiny
    # network gets a gradient of ~0, whose Adam step's sign is the summation order's)
    style = make_painting(tmp_path / "s.png", 40, 40)
    one = _trainer(tmp_path / "a", photos, style, steps=3, checkpoint_every=100, tv_weight=0.5)
    two = _trainer(tmp_path / "b", photos, style, steps=3, checkpoint_every=100, ctx="cpu0,cpu1",
                   tv_weight=0.5)
    assert two.ctx == [mx.cpu(0), mx.cpu(1)]
    losses_one = [s.losses for s in one.steps()]
    losses_two = [s.losses for s in two.steps()]
    for a, b in zip(losses_one, losses_two):
        for k in a:
            assert b[k] == pytest.approx(a[k], rel=1e-4), k
    _assert_same_updates(_params(_trainer(tmp_path / "c", photos, style, tv_weight=0.5)),
                         _params(one), _params(two))
    with pytest.raises(Error, match="batch size 3 does not split over 2 contexts"):
        _trainer(tmp_path / "d", photos, style, batch_size=3, ctx="cpu0,cpu1")


def test_micro_batches_train_as_the_whole_batch(tmp_path, photos):
    # TV 0.5, as in the test of two contexts: at the default 0.05 one bias gets a gradient
    # of ~0 whose Adam step's sign is the summation order's. On an AMD EPYC, passes of 1
    # then put step 3's loss 7e-4 off the whole batch's (0.97195 vs 0.97265), step 2's
    # within 1e-7
    style = make_painting(tmp_path / "s.png", 40, 40)
    runs = [_trainer(tmp_path / str(m), photos, style, steps=3, checkpoint_every=100,
                     batch_size=4, micro_batch=m, tv_weight=0.5) for m in (4, 1, 3)]
    assert [t.micro_batch for t in runs] == [4, 1, 2]  # 3 does not divide 4: passes of 2
    losses = [[s.losses for s in t.steps()] for t in runs]
    start = _params(_trainer(tmp_path / "start", photos, style, batch_size=4, tv_weight=0.5))
    for t, run_losses in zip(runs[1:], losses[1:]):
        for a, b in zip(losses[0], run_losses):
            for k in a:
                assert b[k] == pytest.approx(a[k], rel=1e-4), k
        _assert_same_updates(start, _params(runs[0]), _params(t))


def test_style_layer_weights_scale_each_layers_term(tmp_path, photos):
    style = make_painting(tmp_path / "s.png", 40, 40)

    def first_style_loss(name, weights):
        t = _trainer(tmp_path, photos, style, name=name, steps=1, style_layer_weights=weights)
        return next(iter(t.steps())).losses["style"]

    plain = first_style_loss("plain", None)
    assert first_style_loss("double", [2, 2, 2, 2]) == pytest.approx(2 * plain, rel=1e-4)
    first = first_style_loss("first", [4, 0, 0, 0])  # relu1_2 alone, 4x its share of 1/4
    assert first == pytest.approx(first_style_loss("first2", [1, 0, 0, 0]) * 4, rel=1e-4)
    assert first != pytest.approx(plain, rel=1e-2)
    with pytest.raises(Error, match="style layer weights: 2 weights given for 4 layers"):
        _trainer(tmp_path, photos, style, name="bad", style_layer_weights=[1, 2])
    with pytest.raises(Error, match="other settings.*style_layer_weights"):
        _trainer(tmp_path, photos, style, name="plain", resume=True,
                 style_layer_weights=[1, 1, 1, 2])


def test_a_checkpoint_a_kill_left_half_written_is_refused(tmp_path, photos):
    style = make_painting(tmp_path / "s.png", 40, 40)
    t = _trainer(tmp_path, photos, style, steps=4, checkpoint_every=2)
    steps = t.steps()
    next(steps), next(steps)  # the checkpoint of step 2
    next(steps)  # step 3; killed while its checkpoint was written: the weights are new
    t.net.save_parameters(os.path.join(t.dir, "model.params"))
    with pytest.raises(Error, match="checkpoint .* is incomplete: model.params is not the one "
                                    "of step 2"):
        _trainer(tmp_path, photos, style, steps=4, resume=True)


def test_resume_refuses_other_settings_and_overwrites_nothing(tmp_path, photos):
    style = make_painting(tmp_path / "s.png", 40, 40)
    t = _trainer(tmp_path, photos, style, steps=2)
    for _ in t.steps():
        pass
    with pytest.raises(Error, match="other settings.*style_weight"):
        _trainer(tmp_path, photos, style, resume=True, style_weight=99.0)
    with pytest.raises(Error, match="pass --resume"):
        _trainer(tmp_path, photos, style)
    with pytest.raises(Error, match="no checkpoint to resume"):
        _trainer(tmp_path, photos, style, name="other", resume=True)


def test_bad_training_settings(tmp_path, photos):
    style = make_painting(tmp_path / "s.png", 40, 40)
    with pytest.raises(Error, match="batch_size must be a positive"):
        _trainer(tmp_path, photos, style, batch_size=0)
    with pytest.raises(Error, match="unknown transformer variant"):
        _trainer(tmp_path, photos, style, variant="huge")
    with pytest.raises(Error, match="unknown layer 'relu9_9'"):
        _trainer(tmp_path, photos, style, content_layer="relu9_9")
    (tmp_path / "empty").mkdir()
    with pytest.raises(Error, match="empty"):
        _trainer(tmp_path, str(tmp_path / "empty"), style)
    narrow = make_painting(tmp_path / "narrow.png", 200, 16)  # 24x2 at the style size 24
    with pytest.raises(Error, match="style image .*narrow.png' \\(200x16\\) is 24x2 at size 24; "
                                    ".* at least 8 px \\(up to relu4_3\\)"):
        _trainer(tmp_path, photos, narrow)


def test_train_command_registers_the_style_with_a_thumbnail(tmp_path, photos, monkeypatch):
    from gluon_style import fast, transfer
    style = make_painting(tmp_path / "painting.png", 64, 48)
    params = tmp_path / "params"
    code = transfer.main(["train", "--style", style, "--dataset", photos, "--name", "stripes",
                          "--variant", "small", "--steps", "2", "--image-size", "24",
                          "--batch-size", "2", "--network", "vgg16-random", "--workers", "0",
                          "--checkpoint-dir", str(tmp_path / "ck"), "--params-dir", str(params),
                          "--credit", "test stripes", "--style-layer-weights", "2", "1", "1", "0.5",
                          "--micro-batch", "1", "--quiet"])
    assert code == 0
    monkeypatch.setenv("GLUON_STYLE_PARAMS", str(params))
    entry = fast.list_styles()["stripes"]
    assert entry["training"]["style_layer_weights"] == [2, 1, 1, 0.5]
    assert entry["credit"] == "test stripes" and entry["variant"] == "small"
    assert entry["training"]["steps"] == 2 and entry["training"]["style"] == "painting.png"
    from PIL import Image
    with Image.open(params / entry["thumbnail"]) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (64, 48)  # never enlarged
    style = fast.load_style("stripes")
    assert style.variant == "small" and entry["dtype"] == "float16"
    stored = mx.nd.load(entry["path"])
    assert {a.dtype for a in stored.values()} == {np.float16}
    ckpt = _params_file(tmp_path / "ck" / "stripes" / "model.params")
    assert entry["training"]["init_from"] is None
    for name, p in style.net._collect_params_with_prefix().items():  # the trained weights, rounded
        np.testing.assert_array_equal(p.data().asnumpy(),
                                      ckpt[name].astype(np.float16).astype(np.float32))


def test_fine_tuning_starts_from_given_weights(tmp_path, photos):
    style = make_painting(tmp_path / "s.png", 40, 40)
    first = _trainer(tmp_path, photos, style, name="a", steps=2)
    for _ in first.steps():
        pass
    saved = str(tmp_path / "a.params")
    save_weights(first.net, saved, dtype="float32")
    tuned = _trainer(tmp_path, photos, style, name="b", init_from=saved, style_weight=3.0, seed=7)
    for k, v in _params(first).items():
        np.testing.assert_array_equal(_params(tuned)[k], v)
    fresh = _trainer(tmp_path, photos, style, name="c", seed=7)
    assert any(not np.array_equal(_params(fresh)[k], v) for k, v in _params(first).items())
    (tmp_path / "bad.params").write_bytes(b"junk")
    with pytest.raises(Error, match="init weights .*bad.params: not a small transformer"):
        _trainer(tmp_path, photos, style, name="d", init_from=str(tmp_path / "bad.params"))
    with pytest.raises(Error, match="init weights .*none.params: no such file"):
        _trainer(tmp_path, photos, style, name="e", init_from=str(tmp_path / "none.params"))


def test_the_manifest_says_where_a_fine_tuned_style_started(tmp_path, photos, monkeypatch):
    from gluon_style import fast, transfer
    style = make_painting(tmp_path / "painting.png", 48, 48)
    monkeypatch.chdir(tmp_path)
    common = ["--style", style, "--dataset", photos, "--variant", "small", "--image-size", "24",
              "--batch-size", "2", "--network", "vgg16-random", "--workers", "0", "--quiet",
              "--checkpoint-dir", "ck", "--params-dir", "params"]
    assert transfer.main(["train", "--name", "a", "--steps", "1"] + common) == 0
    outside = tmp_path.parent / (tmp_path.name + "_elsewhere.params")
    outside.write_bytes((tmp_path / "params" / "a.params").read_bytes())
    for name, init, shown in (("b", str(tmp_path / "ck" / "a" / "model.params"),
                               os.path.join("ck", "a", "model.params")),
                              ("c", str(outside), outside.name)):
        assert transfer.main(["train", "--name", name, "--steps", "1", "--init-from", init]
                             + common) == 0
        assert fast.read_manifest("params")["styles"][name]["training"]["init_from"] == shown


def test_the_output_mapping_is_a_setting_and_the_checkpoint_records_it(tmp_path, photos):
    style = make_painting(tmp_path / "s.png", 40, 40)
    t = _trainer(tmp_path, photos, style, name="lin", steps=2)
    assert t.config["output"] == "linear" and t.net.output == "linear"  # the default
    for _ in t.steps():
        pass
    assert weights_output(os.path.join(t.dir, "model.params")) == "linear"
    with pytest.raises(Error, match="other settings.*output"):
        _trainer(tmp_path, photos, style, name="lin", resume=True, output="sigmoid")
    with pytest.raises(Error, match="unknown output mapping 'tanh'"):
        _trainer(tmp_path, photos, style, name="x", output="tanh")
    # fine-tuning keeps the mapping the weights were trained with, or says which it is
    old = _trainer(tmp_path, photos, style, name="sig", output="sigmoid")
    legacy = str(tmp_path / "legacy.params")
    old.net.save_parameters(legacy)  # no marker, like the first shipped styles
    with pytest.raises(Error, match="trained with the sigmoid output; pass --output sigmoid"):
        _trainer(tmp_path, photos, style, name="y", init_from=legacy)
    tuned = _trainer(tmp_path, photos, style, name="z", init_from=legacy, output="sigmoid")
    assert tuned.net.output == "sigmoid"


def test_a_checkpoint_from_before_the_option_resumes_as_sigmoid(tmp_path, photos):
    import json
    style = make_painting(tmp_path / "s.png", 40, 40)
    t = _trainer(tmp_path, photos, style, name="old", steps=3, output="sigmoid")
    for step in t.steps():
        if step.step == 2:
            break
    state_path = os.path.join(t.dir, "state.json")
    with open(state_path) as f:
        state = json.load(f)
    del state["config"]["output"]  # as written before the option existed
    state.pop("sha256")  # and before checkpoints recorded their files' digests
    with open(state_path, "w") as f:
        json.dump(state, f)
    t.net.save_parameters(os.path.join(t.dir, "model.params"))  # nor a marker in the weights
    with pytest.raises(Error, match="other settings.*output"):
        _trainer(tmp_path, photos, style, name="old", steps=3, resume=True)
    resumed = _trainer(tmp_path, photos, style, name="old", steps=3, resume=True, output="sigmoid")
    assert resumed.step == 2 and resumed.net.output == "sigmoid"
    for _ in resumed.steps():
        pass
    assert resumed.step == 3
def _train_argv(tmp_path, photos, name, *extra):
    style = make_painting(tmp_path / "painting.png", 48, 48)
    return (["train", "--name", name, "--style", style, "--dataset", photos, "--variant", "small",
             "--steps", "4", "--checkpoint-every", "2", "--image-size", "24", "--batch-size", "2",
             "--lr", "5e-3", "--seed", "1", "--network", "vgg16-random", "--workers", "0",
             "--checkpoint-dir", str(tmp_path / "ck"), "--params-dir", str(tmp_path / "params"),
             "--quiet"] + list(extra))


def test_ctrl_c_during_a_step_checkpoints_that_step_exactly(tmp_path, photos, monkeypatch,
                                                           capsys):
    # Ctrl-C right after the optimizer's update of step 3: the checkpoint said step 2 but
    # held step 3's weights and Adam state, so --resume ran step 3 twice
    import json
    import signal

    from mxnet import gluon

    from gluon_style import transfer
    assert transfer.main(_train_argv(tmp_path, photos, "straight")) == 0
    real, updates = gluon.Trainer.step, []

    def update_then_ctrl_c(self, *args, **kwargs):
        real(self, *args, **kwargs)
        updates.append(1)
        if len(updates) == 3:
            signal.raise_signal(signal.SIGINT)

    with monkeypatch.context() as m:
        m.setattr(gluon.Trainer, "step", update_then_ctrl_c)
        assert transfer.main(_train_argv(tmp_path, photos, "stopped")) == 130
    assert "interrupted at step 3" in capsys.readouterr().err
    with open(tmp_path / "ck" / "stopped" / "state.json") as f:
        assert json.load(f)["step"] == 3
    assert transfer.main(_train_argv(tmp_path, photos, "stopped", "--resume")) == 0
    a = _params_file(tmp_path / "ck" / "straight" / "model.params")
    b = _params_file(tmp_path / "ck" / "stopped" / "model.params")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6, err_msg=k)
    with open(tmp_path / "ck" / "stopped" / "log.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2, 3, 4]


def _files(root):
    return sorted(os.path.join(r, f) for r, _, fs in os.walk(root) for f in fs)


@pytest.mark.parametrize("name", ["../../evil", "a/b", ".hidden", "two words", ""])
def test_a_style_name_must_be_plain(tmp_path, photos, name, capsys, monkeypatch):
    from gluon_style import transfer
    argv = _train_argv(tmp_path, photos, name)
    work = tmp_path / "w" / "x"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = _files(tmp_path)
    assert transfer.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "style name %r" % name in err and "letters" in err, err
    assert _files(tmp_path) == before
    with pytest.raises(Error, match="style name"):
        _trainer(tmp_path, photos, str(tmp_path / "painting.png"), name=name)


@pytest.mark.parametrize("option, value, expect", [
    ("--lr", "nan", "--lr"), ("--lr", "inf", "--lr"), ("--lr", "-1", "--lr"), ("--lr", "0", "--lr"),
    ("--seed", "-1", "--seed"), ("--workers", "-1", "--workers"),
    ("--image-size", "7", "image size 7"), ("--style-weight", "nan", "--style-weight")])
def test_numeric_training_options_are_checked_first(tmp_path, photos, option, value, expect,
                                                    capsys):
    from gluon_style import transfer
    argv = _train_argv(tmp_path, photos, "t")
    if option in argv:
        argv[argv.index(option) + 1] = value
    else:
        argv += [option, value]
    before = _files(tmp_path)
    try:
        code = transfer.main(argv)
    except SystemExit as e:  # argparse's own errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and expect in err, err
    assert _files(tmp_path) == before and not (tmp_path / "ck").exists()


def test_a_diverging_run_names_the_checkpoint_it_keeps(tmp_path, photos, monkeypatch):
    style = make_painting(tmp_path / "s.png", 40, 40)

    def diverging(trainer, at):
        real = trainer._batch_losses

        def losses(batch):
            out = real(batch)
            return dict(out, total=float("nan")) if trainer.step + 1 == at else out
        monkeypatch.setattr(trainer, "_batch_losses", losses)
        return trainer

    early = diverging(_trainer(tmp_path, photos, style, name="early"), 2)
    with pytest.raises(Error) as e:
        list(early.steps())
    assert "loss became nan at step 2" in str(e.value) and "no checkpoint" in str(e.value)
    assert not os.path.exists(early.dir)  # no log of a run that left nothing to resume
    late = diverging(_trainer(tmp_path, photos, style, name="late", checkpoint_every=1), 3)
    with pytest.raises(Error, match="loss became nan at step 3; the checkpoint of step 2 "):
        list(late.steps())
    assert _trainer(tmp_path, photos, style, name="late", checkpoint_every=1,
                    resume=True).step == 2


def test_a_run_diverging_after_a_resume_from_an_interrupt_names_the_step_saved(
        tmp_path, photos, monkeypatch):
    style = make_painting(tmp_path / "s.png", 40, 40)
    first = _trainer(tmp_path, photos, style, name="cut", steps=6, checkpoint_every=2)
    steps = first.steps()
    for _ in range(3):  # Ctrl-C after step 3: stop() saves step 3, not a multiple of 2
        next(steps)
    steps.close()
    assert first.stop() == 3
    again = _trainer(tmp_path, photos, style, name="cut", steps=6, checkpoint_every=2,
                     resume=True)
    real = again._batch_losses
    monkeypatch.setattr(again, "_batch_losses", lambda batch: dict(real(batch), total=float("nan")))
    with pytest.raises(Error, match="loss became nan at step 4; the checkpoint of step 3 is kept"):
        list(again.steps())


@pytest.mark.parametrize("option, value, named", [
    ("variant", "ful", "unknown transformer variant 'ful'.*did you mean 'full'"),
    ("network", "vgg61", "unknown network 'vgg61'.*did you mean"),
    ("content_layer", "relu2_3", "unknown layer 'relu2_3' for vgg.*did you mean"),
])
def test_a_bad_option_is_reported_before_the_dataset_is_read(tmp_path, photos, monkeypatch,
                                                              option, value, named):
    style = make_painting(tmp_path / "s.png", 40, 40)

    def read(*args, **kwargs):
        raise AssertionError("the dataset was read before the options were checked")
    monkeypatch.setattr(data, "PhotoFolder", read)
    with pytest.raises(Error, match=named):
        _trainer(tmp_path, photos, style, **{option: value})
