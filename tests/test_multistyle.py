"""The multi-style network: blends, controls, adding styles, training resume,
export and the command line, on the synthetic Magenta networks (tests/magenta_onnx.py)."""
import json

import mxnet as mx
import numpy as np
import pytest
from PIL import Image

from gluon_style.fast import export, multistyle
from gluon_style import fast, transfer
from gluon_style.io import images
from gluon_style.nets import store
from gluon_style.errors import Error

from .conftest import make_painting, make_photo

onnx = pytest.importorskip("onnx")
from gluon_style.nets import onnx_weights  # noqa: E402

from .test_arbitrary import installed_synthetic, synthetic  # noqa: E402,F401  (fixtures)

NAMES = ["dots", "stripes", "waves"]


@pytest.fixture
def ms_dir(installed_synthetic, tmp_path, monkeypatch):  # noqa: F811
    """A params folder with a 3-style table of random vectors, found by name."""
    d = tmp_path / "params"
    d.mkdir()
    rows = np.random.RandomState(0).standard_normal((3, multistyle._dim())).astype(np.float32)
    paintings = [make_painting(tmp_path / ("%s.png" % n), seed=i) for i, n in enumerate(NAMES)]
    multistyle.add_styles(str(d), rows, NAMES, paintings=paintings, credits=["test"] * 3,
                          training=[{"steps": 0}] * 3)
    monkeypatch.setenv("GLUON_STYLE_PARAMS", str(d))
    return d


@pytest.fixture
def photo_img(tmp_path):
    return Image.open(make_photo(tmp_path / "photo.png", 37, 29))


def _arr(img):
    return np.asarray(img, np.int16)


def test_one_hot_blend_is_that_style(ms_dir, photo_img):
    ms = fast.load_multistyle()
    assert ms.names == NAMES
    for i, name in enumerate(NAMES):
        by_name = fast.load_style(name)(photo_img)
        by_blend = fast.load_style(None, weights={name: 1.0})(photo_img)
        by_spec = fast.load_style(None, weights="%s:3" % name)(photo_img)
        assert np.array_equal(_arr(by_name), _arr(by_blend))
        assert np.array_equal(_arr(by_name), _arr(by_spec))
        # the network with the weights as an input paints the same
        x = images.to_tensor(photo_img)
        w = mx.nd.array(np.eye(3)[i:i + 1])
        direct = images.to_images(ms.net(x, w))[0]
        assert np.abs(_arr(direct) - _arr(by_name)).max() <= 1
    # two different styles differ
    assert not np.array_equal(_arr(fast.load_style("dots")(photo_img)),
                              _arr(fast.load_style("waves")(photo_img)))


def test_blend_weights_are_normalized_and_checked(ms_dir, photo_img):
    np.testing.assert_allclose(multistyle.weight_vector({"dots": 2, "waves": 6}, NAMES),
                               [0.25, 0, 0.75])
    ms = fast.load_multistyle()
    np.testing.assert_allclose(ms.vector("dots:1,stripes:1"),
                               (ms.table[0] + ms.table[1]) / 2, rtol=1e-6)
    a = fast.load_style(None, weights="dots:1,stripes:1")(photo_img)
    b = fast.load_style(None, weights={"dots": 5, "stripes": 5})(photo_img)
    assert np.array_equal(_arr(a), _arr(b))
    for bad, words in [("dots:-1,stripes:1", ">= 0"), ("dots:0,stripes:0", "not all 0"),
                       ("dots:nan", ">= 0"), ("dots:x", "is not a number"),
                       ("dots,dots", "given twice"), ("dots,,waves", "empty style name"),
                       ("dots:1,nope:1", "unknown style 'nope'"), ("nope", "unknown style")]:
        with pytest.raises(Error, match=words):
            fast.load_style(None, weights=bad)


def test_strength_zero_is_the_photo_one_the_style(ms_dir, photo_img):
    full = _arr(fast.load_style("stripes")(photo_img))
    assert np.array_equal(_arr(fast.load_style("stripes", strength=0.0)(photo_img)),
                          _arr(photo_img.convert("RGB")))
    assert np.array_equal(_arr(fast.load_style("stripes", strength=1.0)(photo_img)), full)
    half = _arr(fast.load_style("stripes", strength=0.5)(photo_img))
    assert np.abs(half - (full + _arr(photo_img.convert("RGB"))) / 2).max() <= 1
    lum = fast.load_style("stripes", preserve_colors="luminance")(photo_img)
    assert lum.size == photo_img.size and not np.array_equal(_arr(lum), full)
    for bad in ({"strength": 1.5}, {"strength": -0.1}, {"preserve_colors": "sepia"}):
        with pytest.raises(Error):
            fast.load_style("stripes", **bad)


def test_adding_a_style_leaves_the_others_bit_identical(ms_dir, photo_img, tmp_path):
    before = {n: _arr(fast.load_style(n)(photo_img)) for n in NAMES}
    table = multistyle.read_table(str(ms_dir / multistyle.TABLE_FILE))
    new = np.random.RandomState(7).standard_normal((1, multistyle._dim())).astype(np.float32)
    order = multistyle.add_styles(str(ms_dir), new, ["mosaic"],
                                  paintings=[make_painting(tmp_path / "m.png", seed=9)])
    assert order == NAMES + ["mosaic"]
    grown = multistyle.read_table(str(ms_dir / multistyle.TABLE_FILE))
    assert np.array_equal(grown[:3], table) and np.array_equal(grown[3], new[0])
    for n in NAMES:  # every entry carries the new table's sha256 and still loads
        assert np.array_equal(_arr(fast.load_style(n)(photo_img)), before[n]), n
    assert fast.load_multistyle().names == order
    assert (ms_dir / "mosaic.jpg").exists()
    # a blend of old styles is unchanged too
    assert fast.load_style(None, weights="dots:1,waves:1")(photo_img).size == photo_img.size


def _dataset(root):
    d = root / "photos"
    if not d.exists():
        d.mkdir(parents=True)
        for i in range(3):
            make_photo(d / ("%d.png" % i), 48, 40 + 4 * i)
    return str(d)


def _trainer(synthetic, tmp_path, paintings, **kw):  # noqa: F811
    _, params = synthetic
    return multistyle.MultiStyleTrainer(
        paintings, _dataset(tmp_path), name="ms", network="vgg16-random", image_size=32,
        style_size=32, batch_size=2, lr=0.05, checkpoint_dir=str(tmp_path / "ck"),
        checkpoint_every=2, workers=0, transformer=params["transformer"],
        predictor=params["predictor"], **kw)


def test_training_resume_equals_an_uninterrupted_run(synthetic, tmp_path):  # noqa: F811
    paintings = [make_painting(tmp_path / "a.png"), make_painting(tmp_path / "b.png", seed=4)]
    straight = _trainer(synthetic, tmp_path / "one", paintings, steps=4)
    losses = [s.losses["total"] for s in straight.steps()]
    assert not np.allclose(straight.rows(), straight.initial)  # both rows were trained
    assert all(not np.array_equal(r, i) for r, i in zip(straight.rows(), straight.initial))

    first = _trainer(synthetic, tmp_path / "two", paintings, steps=4)
    steps = first.steps()
    for _ in range(2):
        next(steps)
    steps.close()
    resumed = _trainer(synthetic, tmp_path / "two", paintings, steps=4, resume=True)
    assert resumed.step == 2
    rest = [s.losses["total"] for s in resumed.steps()]
    assert np.array_equal(resumed.rows(), straight.rows())
    assert rest == losses[2:]
    with pytest.raises(Error, match="other settings"):
        _trainer(synthetic, tmp_path / "two", paintings[:1], steps=4, resume=True)


def test_random_init_has_the_predicted_norm(synthetic, tmp_path):  # noqa: F811
    tr = _trainer(synthetic, tmp_path / "r", [make_painting(tmp_path / "a.png")], steps=1,
                  init="random")
    pr = _trainer(synthetic, tmp_path / "p", [make_painting(tmp_path / "a.png")], steps=1)
    np.testing.assert_allclose(np.linalg.norm(tr.initial), np.linalg.norm(pr.initial), rtol=1e-5)
    assert not np.allclose(tr.initial, pr.initial)


def test_exported_onnx_with_a_blend_input_matches_mxnet(ms_dir, tmp_path):
    ms = fast.load_multistyle(ctx=mx.cpu())
    path = export.export_multistyle_onnx(ms.net, str(tmp_path / "ms.onnx"))
    model = onnx.load(path)
    assert [i.name for i in model.graph.input] == ["data", "weights"]
    run = onnx_weights.reference_evaluator(model)
    rng = np.random.RandomState(0)
    for shape in ((1, 3, 24, 32), (2, 3, 29, 19)):
        x = (rng.standard_normal(shape) * 0.5).astype(np.float32)
        w = rng.rand(shape[0], 3).astype(np.float32) * np.array([2, 0, 1], np.float32)
        got = ms.net(mx.nd.array(x), mx.nd.array(w)).asnumpy()
        ref = run.run(None, {"data": x, "weights": w})[0]
        # normalized-tensor scale: about 1/STD per unit of [0, 1] pixels
        assert np.abs(got - ref).max() < 1e-4 * 5, shape
        # weights are normalized inside the graph: scaling them changes nothing
        ref2 = run.run(None, {"data": x, "weights": w * 7})[0]
        assert np.abs(ref2 - ref).max() < 1e-4 * 5


def test_cli_fast_blend_export_and_errors(ms_dir, tmp_path, capsys):
    photo = make_photo(tmp_path / "p.png", 33, 27)
    out = tmp_path / "o.png"
    assert transfer.main(["fast", "--style-weights", "dots:0.5,waves:0.5", "--strength", "0.6",
                          "--preserve-colors", "histogram", "--content", photo,
                          "--output", str(out)]) == 0
    assert Image.open(out).size == (33, 27)
    assert transfer.main(["fast", "--model", "stripes", "--content", photo,
                          "--output", str(out)]) == 0
    capsys.readouterr()
    base = ["fast", "--content", photo, "--output", str(tmp_path / "x.png")]
    for extra, words in [(["--style-weights", "nope:1"], "unknown style 'nope'"),
                         (["--style-weights", "dots:1,nope:1"], "unknown style 'nope'"),
                         (["--style-weights", "dots:-2"], ">= 0"),
                         (["--style-weights", "dots:0"], "not all 0"),
                         (["--style-weights", "dots:abc"], "is not a number"),
                         (["--model", "nope"], "unknown style 'nope'"),
                         (["--style-weights", "dots:1", "--style-blend", "1"], "--style-weights")]:
        assert transfer.main(base + extra) == 2, extra
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, err
    for extra in (["--model", "dots", "--strength", "1.5"],
                  ["--model", "dots", "--style-weights", "dots:1"]):
        with pytest.raises(SystemExit) as e:
            transfer.main(base + extra)
        assert e.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) <= 3
    prefix = str(tmp_path / "exported")
    assert transfer.main(["export", "--model", "dots", "--output", prefix,
                          "--onnx", str(tmp_path / "e.onnx")]) == 0
    assert "dots,stripes,waves" in capsys.readouterr().out
    net = mx.gluon.SymbolBlock.imports(prefix + "-symbol.json", ["data0", "data1"],
                                       prefix + "-0000.params")
    x = mx.nd.array(np.random.RandomState(1).standard_normal((1, 3, 20, 20)) * 0.5)
    w = mx.nd.array([[0.0, 1.0, 0.0]])
    ms = fast.load_multistyle(ctx=mx.cpu())
    assert np.abs(net(x, w).asnumpy() - ms.net(x, w).asnumpy()).max() < 1e-4


def test_cli_multistyle_adds_predicted_styles(installed_synthetic, tmp_path, capsys,  # noqa: F811
                                              monkeypatch):
    d = tmp_path / "params"
    d.mkdir()
    a, b = make_painting(tmp_path / "a.png"), make_painting(tmp_path / "b.png", seed=3)
    assert transfer.main(["multistyle", "--style", a, "--credit", "A; public domain",
                          "--params-dir", str(d)]) == 0
    assert transfer.main(["multistyle", "--style", b, "--params-dir", str(d)]) == 0
    manifest = json.loads((d / "manifest.json").read_text())["styles"]
    assert [manifest[n]["row"] for n in ("a", "b")] == [0, 1]
    assert manifest["a"]["credit"].startswith("A; public domain; shared transformer: Magenta")
    assert manifest["a"]["training"]["init"] == "predicted"
    assert manifest["a"]["sha256"] == manifest["b"]["sha256"] == store.digest(
        str(d / multistyle.TABLE_FILE), "sha256")
    monkeypatch.setenv("GLUON_STYLE_PARAMS", str(d))
    assert fast.load_multistyle().names == ["a", "b"]
    capsys.readouterr()
    for argv, words in [(["--style", a, "--name", "x", "y"], "2 values for 1"),
                        (["--style", a, "--name", ".bad"], "style name"),
                        (["--style", str(tmp_path / "none.png")], "none.png"),
                        (["--style", a, "--steps", "3"], "needs --dataset")]:
        assert transfer.main(["multistyle", "--params-dir", str(d)] + argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, err


def test_a_style_runs_the_forward_only_formulation_when_no_gradient_is_asked(ms_dir,
                                                                           photo_img):
    """Conditioned used to trace the transformer with Symbols, so it always ran
    the differentiable graph; now inference runs the forward-only one (same
    pixels) and a recorded call the differentiable one."""
    style = fast.load_style("dots")
    net = style.net
    x = images.to_tensor(photo_img)
    fwd = net(x).asnumpy()
    inner = [b.inference for b in net.net._children.values() if hasattr(b, "inference")]
    assert inner and all(inner) and net.net.inference
    with mx.autograd.record():
        y = net(x)
    assert not net.net.inference
    np.testing.assert_allclose(y.asnumpy(), fwd, atol=2e-3)
    np.testing.assert_array_equal(net(x).asnumpy(), fwd)  # back to the forward-only graph
