"""Fast mode, applying: styles by name with a checked manifest, files and folders."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from gluon_style import fast, transfer
from gluon_style.nets import store
from gluon_style.errors import Error

from .conftest import make_photo


def test_manifest_entry(params_dir):
    manifest = json.loads((params_dir / "manifest.json").read_text())
    entry = manifest["styles"]["dots"]
    assert entry["file"] == "dots.params" and entry["variant"] == "small"
    assert entry["format"] == fast.FORMAT_VERSION
    assert entry["sha256"] == fast.sha256_file(str(params_dir / "dots.params"))
    assert "dots" in fast.list_styles()


def test_load_by_name_keeps_the_size_and_builds_no_vgg(params_dir, monkeypatch):
    def no_vgg(*a, **kw):
        raise AssertionError("fast mode must not build a VGG")

    monkeypatch.setattr(store, "load_extractor", no_vgg)
    style = fast.load_style("dots")
    img = Image.fromarray(np.random.RandomState(0).randint(0, 255, (37, 53, 3), np.uint8))
    out = style(img)
    assert out.size == (53, 37) and out.mode == "RGB"
    # and it is the network's output, not the input
    assert np.abs(np.asarray(out, float) - np.asarray(img, float)).mean() > 5


def test_a_tampered_file_is_rejected(params_dir):
    with open(params_dir / "dots.params", "r+b") as f:
        f.seek(-4, os.SEEK_END)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(Error, match="does not match its sha256"):
        fast.load_style("dots")


def test_unknown_style_lists_the_available_ones(params_dir):
    with pytest.raises(Error, match="unknown style 'nope' \\(available: dots"):
        fast.load_style("nope")


def test_a_vgg_file_is_not_a_transformer(tmp_path):
    path = str(tmp_path / "vgg.params")
    ext = store.load_extractor("vgg16-random", ["conv1_1"], hybridize=False)
    ext.taps.save_parameters(path)
    with pytest.raises(Error, match="not a gluon_style transformer"):
        fast.load_style(path)


def test_cli_stylizes_a_folder(params_dir, tmp_path, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    make_photo(src / "a.png", 40, 30)
    make_photo(src / "b.png", 40, 30, seed=2)
    make_photo(src / "sub" / "c.jpg", 33, 21)
    out = tmp_path / "out"
    code = transfer.main(["fast", "--model", "dots", "--content", str(src), "--output", str(out),
                          "--quiet"])
    assert code == 0
    assert sorted(os.path.relpath(os.path.join(r, f), out)
                  for r, _, fs in os.walk(out) for f in fs) \
        == ["a.png", "b.png", os.path.join("sub", "c.jpg")]
    assert Image.open(out / "sub" / "c.jpg").size == (33, 21)
    assert "3 images" in capsys.readouterr().out


MIXED = [(40, 30), (33, 21), (40, 30), (50, 20), (40, 30), (40, 30), (33, 21), (48, 40)]


def test_cli_folder_of_mixed_sizes_in_input_order_each_as_if_alone(params_dir, tmp_path,
                                                                     monkeypatch):
    """Interleaved sizes: every output at its own input's size, equal (within one level)
    to that image stylized alone (none swapped with another of its batch), and written
    in input order."""
    from gluon_style.io import images
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    rng = np.random.default_rng(5)
    names = []
    for i, (w, h) in enumerate(MIXED):
        p = make_photo(src / ("p%d.png" % i), w, h)
        arr = np.asarray(Image.open(p), np.int16) + rng.integers(-60, 60, (h, w, 3))
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(p)  # each one different
        names.append("p%d.png" % i)
    order, real = [], images.write_bytes

    def write(data, path, **kw):
        order.append(os.path.basename(path))
        return real(data, path, **kw)
    monkeypatch.setattr(images, "write_bytes", write)
    code = transfer.main(["fast", "--model", "dots", "--content", str(src), "--output", str(out),
                          "--quiet"])
    assert code == 0 and order == names
    style = fast.load_style("dots")
    for name, size in zip(names, MIXED):
        got = Image.open(out / name)
        assert got.size == size
        alone = style(fast.load_content(str(src / name)))
        diff = np.abs(np.asarray(got, np.int16) - np.asarray(alone, np.int16))
        assert diff.max() <= 1, (name, diff.max())


def test_run_order_is_largest_first_by_header_with_sizes_together(tmp_path):
    """By the size each image is stylized at (EXIF orientation and max size applied,
    read from the header), largest first, one size's images together in input order; a
    file that cannot be read first: what `largest_first` runs (by default, input order)."""
    from gluon_style.io import images
    sizes = [(40, 30), (60, 18), (30, 40), (80, 60), (40, 30), (50, 50)]
    paths = [str(make_photo(tmp_path / ("p%d.png" % i), w, h)) for i, (w, h) in enumerate(sizes)]
    turned = tmp_path / "turned.jpg"  # stored 40x30, shown upright 30x40 (EXIF 6)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.open(paths[0]).save(turned, exif=exif)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    paths += [str(turned), str(bad)]
    assert images.stored_size(turned) == (30, 40) and images.stored_size(bad) is None
    assert fast.load_content(str(turned)).size == (30, 40)
    # 80x60; 50x50; 40x30 twice; 30x40 (the stored one, then the turned one); 60x18
    assert fast.run_order(paths) == [7, 3, 5, 0, 4, 2, 6, 1]
    # at max size 40: 40x40 (50x50), 40x30 (40x30, 80x60, 40x30), 30x40, 40x12 (60x18)
    assert fast.run_order(paths, max_size=40) == [7, 5, 0, 3, 4, 2, 6, 1]
    out = [str(tmp_path / ("o%d.png" % i)) for i in range(len(paths) - 1)]
    seen = []

    def forward(imgs):
        seen.append([im.size for im in imgs])
        return imgs
    assert list(fast.stylize_files(forward, paths[:-1], out)) == out
    assert [s for batch in seen for s in batch] == sizes + [(30, 40)]
    seen.clear()
    assert list(fast.stylize_files(forward, paths[:-1], out, largest_first=True)) == [
        out[i] for i in (3, 5, 0, 4, 2, 6, 1)]
    assert seen[:2] == [[(80, 60)], [(50, 50)]] and seen[2] == [(40, 30), (40, 30)]


def test_batches_are_consecutive_images_of_one_size_and_small():
    sizes = [(40, 30), (40, 30), (33, 21), (40, 30)] + [(64, 48)] * 6 + [(400, 300)] * 2
    plan = list(fast.plan_batches((s, i) for i, s in enumerate(sizes)))
    assert [i for batch in plan for i in batch] == list(range(len(sizes)))  # input order
    assert plan == [[0, 1], [2], [3], [4, 5, 6, 7], [8, 9], [10], [11]]
    assert fast.batch_limit((1024, 1024)) == 1 and fast.batch_limit((16, 16)) == 4


def test_cli_max_size_shrinks(params_dir, tmp_path, capsys):
    make_photo(tmp_path / "a.png", 80, 60)
    code = transfer.main(["fast", "--model", "dots", "--content", str(tmp_path / "a.png"),
                          "--output", str(tmp_path / "o.png"), "--max-size", "40"])
    assert code == 0 and Image.open(tmp_path / "o.png").size == (40, 30)


def test_cli_bad_file_in_a_folder_writes_nothing(params_dir, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    make_photo(src / "a.png", 40, 30)
    (src / "z.jpg").write_text("not an image")
    code = transfer.main(["fast", "--model", "dots", "--content", str(src), "--output",
                          str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "z.jpg" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_cli_refuses_to_overwrite_inputs(params_dir, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    make_photo(src / "a.png", 40, 30)
    before = (src / "a.png").read_bytes()
    code = transfer.main(["fast", "--model", "dots", "--content", str(src), "--output", str(src)])
    assert code == 2 and (src / "a.png").read_bytes() == before


def test_example_style_sheet(params_dir, tmp_path):
    import importlib.util
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location("style_sheet", os.path.join(
        here, "examples", "style_sheet.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    photo = make_photo(tmp_path / "p.png", 64, 64)
    out = tmp_path / "sheet.png"
    assert module.main(["--photos", photo, "--output", str(out), "--cell", "64",
                        "--styles", "dots"]) == 0
    sheet = np.asarray(Image.open(out).convert("RGB"), float)
    pad, top, cell = 6, 22, 64
    assert sheet.shape == (top + 2 * (cell + pad) + pad, 2 * (cell + pad) + pad, 3)
    row = top + pad + cell + pad  # the photo's row
    original = sheet[row:row + cell, pad:pad + cell]
    styled = sheet[row:row + cell, 2 * pad + cell:2 * pad + 2 * cell]
    assert np.abs(original - np.asarray(Image.open(photo), float)).max() <= 1
    assert np.abs(styled - original).mean() > 5
    assert module.main(["--photos", photo, "--output", str(out), "--styles", "nope"]) == 2


def test_search_path(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    from .conftest import make_style
    make_style(a, "dots", seed=1)
    make_style(b, "dots", seed=2)
    make_style(b, "rings", seed=3)
    monkeypatch.setenv("GLUON_STYLE_PARAMS",
                       os.pathsep.join([str(a), str(tmp_path / "no"), str(b)]))
    assert fast.params_dirs() == [str(a), str(b)]  # only these, in order, existing ones
    styles = fast.list_styles()
    assert sorted(styles) == ["dots", "rings"] and styles["dots"]["path"] == str(a / "dots.params")
    monkeypatch.delenv("GLUON_STYLE_PARAMS")
    monkeypatch.chdir(b)  # then ./params and the package's own
    make_style(b / "params", "local")
    dirs = fast.params_dirs()
    assert dirs[0] == str(b / "params") and "local" in fast.list_styles()


SHIPPED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "params")


def _shipped():
    if not os.path.isfile(os.path.join(SHIPPED, fast.MANIFEST)):
        return []
    return sorted(fast.read_manifest(SHIPPED)["styles"].items())


@pytest.mark.skipif(not _shipped(), reason="no trained styles in params/")
def test_shipped_styles_are_whole_small_and_carry_their_paintings_colors(tmp_path, monkeypatch):
    monkeypatch.setenv("GLUON_STYLE_PARAMS", SHIPPED)
    assert sum(os.path.getsize(os.path.join(SHIPPED, f)) for f in os.listdir(SHIPPED)) < 20e6
    photo = np.asarray(Image.open(make_photo(tmp_path / "p.png", 96, 72)), float)
    from gluon_style.nets import store
    wheel = store.magenta_onnx_path("arbitrary_transform.onnx") is not None
    for name, entry in _shipped():
        assert "public domain" in entry["credit"]
        if entry["variant"] == "multistyle":  # a row of the multi-style table (Magenta's net)
            assert entry["dtype"] == "float32" and "Apache-2.0" in entry["credit"]
            assert entry["training"]["init"] == "predicted" and "cpu_hours" in entry["training"]
            if not wheel:
                continue
        else:
            assert entry["training"]["steps"] >= 200
            assert entry["dtype"] == "float16" and entry["variant"] == "full"
        painting = np.asarray(Image.open(os.path.join(SHIPPED, entry["thumbnail"]))
                              .convert("RGB"), float).reshape(-1, 3)
        out = np.asarray(fast.load_style(name)(Image.fromarray(photo.astype(np.uint8))), float)
        assert out.shape == photo.shape
        # its colors are the painting's: each output pixel has a near color in the painting
        # (trained starry_night: 0.08 of the photo's distance; an untrained network: 0.65)
        assert _palette_distance(out, painting) < 0.3 * _palette_distance(photo, painting), name


def _palette_distance(img, palette, n=3000):
    """Mean RGB distance from each pixel of `img` to its nearest color in `palette`."""
    palette = palette[np.random.RandomState(0).permutation(len(palette))[:n]]
    px = img.reshape(-1, 3)
    d = ((px[:, None, :] - palette[None, :, :]) ** 2).sum(-1)
    return np.sqrt(d.min(1)).mean()


def test_styles_from_before_the_output_option_load_with_their_sigmoid(tmp_path, monkeypatch):
    """A format-1 style (weights without an output marker, as the first shipped
    Johnson styles and any user's older `train` output) is read as it was
    trained: the sigmoid, whatever the default mapping of new networks."""
    import mxnet as mx

    from gluon_style.io import images
    from gluon_style.nets.transformer import DEFAULT_OUTPUT, transformer_net

    from .test_transformer import _reference

    d = tmp_path / "params"
    d.mkdir()
    net = transformer_net("small", output="sigmoid")
    net.initialize(mx.init.Xavier(magnitude=3), ctx=mx.cpu())
    net(mx.nd.zeros((1, 3, 16, 16)))
    net.save_parameters(str(d / "old.params"))  # no marker: the old files
    fast.register_style(str(d), "old", str(d / "old.params"), variant="small")
    manifest = json.loads((d / "manifest.json").read_text())
    manifest["styles"]["old"].update(format=1)
    del manifest["styles"]["old"]["output"]  # as format 1 wrote it
    (d / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("GLUON_STYLE_PARAMS", str(d))
    assert DEFAULT_OUTPUT == "linear"
    img = Image.fromarray(np.random.RandomState(3).randint(0, 255, (28, 36, 3), np.uint8))
    style = fast.load_style("old", precision="float32")  # the mapping, not the rounding
    assert style.net.output == "sigmoid"
    want = images.to_images(_reference(style.net, images.to_tensor(img, ctx=mx.cpu())))[0]
    got = np.asarray(style(img), float)
    assert np.abs(got - np.asarray(want, float)).max() <= 1  # rounding to 8 bits only
    assert np.asarray(want, float).std() > 1  # it paints something, not a flat image


def test_every_shipped_style_is_one_of_the_multistyle_network():
    """The blotting per-style sigmoid networks are not shipped any more."""
    shipped = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "params")
    styles = fast.read_manifest(shipped)["styles"]
    assert len(styles) >= 9
    assert {e["variant"] for e in styles.values()} == {"multistyle"}
    assert not [f for f in os.listdir(shipped) if f.endswith(".params")
                and f != "multistyle.params"]


def test_the_manifest_records_the_output_mapping_of_the_weights(tmp_path, monkeypatch):
    import mxnet as mx

    from gluon_style.nets.transformer import save_weights, transformer_net

    d = tmp_path / "params"
    d.mkdir()
    for name, output in (("lin", "linear"), ("sig", "sigmoid")):
        net = transformer_net("small", output=output)
        net.initialize(mx.init.Xavier())
        save_weights(net, str(d / (name + ".params")))
        fast.register_style(str(d), name, str(d / (name + ".params")), variant="small")
    monkeypatch.setenv("GLUON_STYLE_PARAMS", str(d))
    manifest = json.loads((d / "manifest.json").read_text())
    assert manifest["styles"]["lin"]["output"] == "linear"
    assert manifest["styles"]["sig"]["output"] == "sigmoid"
    assert manifest["styles"]["lin"]["format"] == 2
    assert fast.load_style("lin").net.output == "linear"
    assert fast.load_style("sig").net.output == "sigmoid"
    # a manifest that says otherwise than the file is refused, not half-trusted
    manifest["styles"]["lin"]["output"] = "sigmoid"
    (d / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(Error, match="manifest says output 'sigmoid'.*'linear' weights"):
        fast.load_style("lin")
    manifest["styles"]["lin"].update(format=1)
    del manifest["styles"]["lin"]["output"]  # a format-1 entry is a sigmoid style
    (d / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(Error, match="manifest says output 'sigmoid'"):
        fast.load_style("lin")
    manifest["styles"]["lin"].update(format=3)
    (d / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(Error, match="format 3; this gluon_style reads formats 1, 2"):
        fast.load_style("lin")
def test_an_interrupted_folder_run_says_what_it_wrote(params_dir, tmp_path, capsys, monkeypatch):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(5):
        make_photo(src / ("p%d.png" % i), 40 + 8 * i, 30)  # sizes differ: one image per batch
    real, saves = Image.Image.save, []

    def save(img, fp, *args, **kwargs):  # Ctrl-C while the third output is being written
        saves.append(fp)
        if len(saves) == 3:
            fp.write(b"half an image")
            raise KeyboardInterrupt
        return real(img, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    code = transfer.main(["fast", "--model", "dots", "--content", str(src), "--output", str(out),
                          "--quiet"])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == 130 and err.count("\n") == 1, err
    assert "interrupted" in err and "wrote 2 of 5 images" in err and str(out) in err, err
    written = sorted(os.listdir(out))
    assert len(written) == 2 and all(Image.open(out / f).size[1] == 30 for f in written)


@pytest.mark.parametrize("change, expect", [
    (lambda m: m.update(styles=[m["styles"]]), "\"styles\" is not an object"),
    (lambda m: m["styles"].update(dots="dots.params"), "entry 'dots' is not an object"),
    (lambda m: m["styles"]["dots"].pop("sha256"), "entry 'dots' has no \"sha256\""),
    (lambda m: m["styles"]["dots"].pop("file"), "entry 'dots' has no \"file\""),
    (lambda m: m["styles"]["dots"].update(file="../dots.params"), "entry 'dots': \"file\" "),
    (lambda m: m["styles"]["dots"].update(sha256=7), "entry 'dots': \"sha256\" "),
    (lambda m: m.clear(), "has no \"styles\""),
])
def test_a_manifest_of_the_wrong_shape_is_one_line(params_dir, tmp_path, capsys, change, expect):
    path, photo = params_dir / "manifest.json", make_photo(tmp_path / "p.png")
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(Error) as e:
        fast.list_styles()
    assert str(e.value).startswith("style manifest %s: " % path) and expect in str(e.value)
    for argv in (["styles"], ["fast", "--model", "dots", "--content", photo, "--output",
                              str(tmp_path / "o.png")]):
        assert transfer.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(path) in err and expect in err, err
    path.write_text("[]")
    with pytest.raises(Error, match="has no \"styles\""):
        fast.list_styles()


@pytest.mark.parametrize("damage", ["truncated", "noise", "empty dict"])
def test_a_damaged_params_file_gets_our_own_one_line_message(params_dir, tmp_path, damage,
                                                             capsys):
    import mxnet as mx
    path = tmp_path / "bad.params"
    whole = (params_dir / "dots.params").read_bytes()
    if damage == "truncated":
        path.write_bytes(whole[:len(whole) // 2])
    elif damage == "noise":
        path.write_bytes(np.random.RandomState(0).bytes(4000))
    else:
        mx.nd.save(str(path), {})
    with pytest.raises(Error) as e:
        fast.load_style(str(path))
    msg = str(e.value)
    assert msg.startswith("model %s: " % path) and "Traceback" not in msg and "\n" not in msg
    assert ("not an MXNet parameter file" if damage != "empty dict" else "no parameters") in msg
    code = transfer.main(["fast", "--model", str(path), "--content", make_photo(tmp_path / "p.png"),
                          "--output", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_a_transformer_of_the_other_variant_is_named(params_dir):
    from gluon_style.nets import transformer
    with pytest.raises(Error, match="parameter down1.weight has shape \\(16, 3, 9, 9\\); the "
                                    "full network's is \\(32, 3, 9, 9\\)"):
        transformer.load_weights(transformer.transformer_net("full"),
                                 str(params_dir / "dots.params"))


def test_a_folder_run_takes_gifs_and_names_every_bad_file(params_dir, tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    make_photo(src / "a.png", 40, 30)
    Image.open(make_photo(tmp_path / "g.png", 36, 28)).convert("P").save(src / "sub" / "b.gif")
    (src / "z.jpg").write_text("not an image")
    make_photo(src / "y.png", 40, 30)
    (src / "y.png").write_bytes((src / "y.png").read_bytes()[:-40])  # truncated
    argv = ["fast", "--model", "dots", "--content", str(src), "--output", str(out), "--quiet"]
    assert transfer.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2 of 4 images" in err, err
    assert "z.jpg" in err and "y.png" in err and "b.gif" not in err, err
    assert not out.exists()
    os.remove(src / "z.jpg")
    os.remove(src / "y.png")
    assert transfer.main(argv) == 0
    assert "2 images" in capsys.readouterr().out
    assert sorted(os.listdir(out)) == ["a.png", "sub"]
    with Image.open(out / "sub" / "b.png") as gif_out:  # GIF is read, not written: PNG
        assert gif_out.format == "PNG" and gif_out.size == (36, 28)
    make_photo(src / "sub" / "b.png", 40, 30)  # two inputs, one output name
    assert transfer.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "b.gif" in err and "b.png" in err, err


def test_a_max_size_too_small_for_the_transformer_names_the_file(params_dir, tmp_path, capsys):
    photo = make_photo(tmp_path / "wide.png", 96, 20)
    for content in (photo, str(tmp_path)):
        code = transfer.main(["fast", "--model", "dots", "--content", content, "--output",
                              str(tmp_path / ("o.png" if content == photo else "out")),
                              "--max-size", "20"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert "wide.png" in err and "20x4" in err and "at least 5 px" in err, err
        assert "a max size of at least 22" in err, err  # 22x5
    with pytest.raises(Error, match="wide.png"):
        list(fast.stylize_files(fast.load_style("dots"), [photo], [str(tmp_path / "o.png")],
                                max_size=20))
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("quiet", [True, False])
def test_fast_and_video_set_up_logging_so_quiet_hides_notices(params_dir, tmp_path, quiet):
    import logging
    logger = logging.getLogger("gluon_style")
    src = make_photo(tmp_path / "a.png", 40, 30)
    for argv in (["fast", "--model", "dots", "--content", src, "--output",
                  str(tmp_path / "o.png")],
                 ["video", "--model", "dots", "--input", str(tmp_path / "missing.mp4"),
                  "--output", str(tmp_path / "o.mp4")]):
        logger.handlers[:], logger.level = [], logging.NOTSET
        transfer.main(argv + (["--quiet"] if quiet else []))
        assert logger.level == (logging.WARNING if quiet else logging.INFO), argv
        assert logger.handlers and not logger.propagate


def test_unknown_style_suggests_the_closest(params_dir):
    with pytest.raises(Error, match="unknown style 'dot' .*; did you mean 'dots'\\?"):
        fast.load_style("dot")


def test_the_package_docstring_names_only_what_exists():
    import re

    import gluon_style
    from gluon_style.fast import train
    for name in re.findall(r":func:`~?([\w.]+)`", gluon_style.__doc__):
        owner = train if name == "StyleTrainer" else gluon_style
        for part in name.split(".")[1:] if name.startswith("gluon_style.") else [name]:
            owner = getattr(owner, part)


def test_no_image_that_can_be_batched_runs_its_norms_as_batch_norms_alone():
    """Its pixels then depend on its size only, not on the batches of a plan (bulk.py
    writes the same bytes as one process)."""
    from gluon_style.nets.transformer import NormAux
    assert fast.BATCH_PIXELS // 2 < NormAux.min_pixels
    side = int(NormAux.min_pixels ** 0.5) + 1
    assert fast.batch_limit((side, side)) == 1
    assert fast.batch_limit((side // 2, side // 2)) > 1


def test_a_folder_run_decodes_and_encodes_beside_the_network(params_dir, tmp_path, monkeypatch):
    """While the network paints image k, the I/O thread decodes image k + 2 and encodes
    image k - 1 (each forward waits for those to start: without the thread it would
    time out); each output is written whole before its path is yielded, in input order,
    and a failure stops the run with the yielded outputs written and no other."""
    import threading

    from gluon_style.io import images
    run = tmp_path / "run"
    run.mkdir()
    n = 5
    inputs = [str(make_photo(run / ("p%d.png" % i), 40 + 8 * (n - i), 30)) for i in range(n)]
    outputs = [str(run / ("o%d.png" % i)) for i in range(n)]
    real_load, real_encode, threads = fast.load_content, images.encode_image, set()
    decoding = {p: threading.Event() for p in inputs}
    encoding = {p: threading.Event() for p in outputs}

    def load(path, max_size=None):
        threads.add(threading.current_thread().name)
        decoding[path].set()
        return real_load(path, max_size)

    def encode(img, path, **kw):
        threads.add(threading.current_thread().name)
        encoding[path].set()
        return real_encode(img, path, **kw)
    monkeypatch.setattr(fast, "load_content", load)
    monkeypatch.setattr(images, "encode_image", encode)
    style, calls = fast.load_style("dots"), []

    def forward(imgs):
        k = len(calls)
        calls.append(k)
        if k + 2 < n:
            assert decoding[inputs[k + 2]].wait(10), "no decode beside the network"
        if k >= 1:
            assert encoding[outputs[k - 1]].wait(10), "no encode beside the network"
        return style(imgs)
    done = []
    for dst in fast.stylize_files(forward, inputs, outputs):
        assert Image.open(dst).size == (40 + 8 * (n - len(done)), 30)  # whole when yielded
        done.append(dst)
    assert done == outputs and len(calls) == n
    assert threads and all(t.startswith("gluon_style-io") for t in threads)

    for o in outputs:
        os.remove(o)

    def failing(img, path, **kw):
        if path == outputs[2]:
            raise Error("output %s: disk full" % path)
        return real_encode(img, path, **kw)
    monkeypatch.setattr(images, "encode_image", failing)
    written = []
    with pytest.raises(Error, match="disk full"):
        for dst in fast.stylize_files(style, inputs, outputs):
            written.append(dst)
    assert written == outputs[:2] and sorted(os.listdir(run)) == sorted(
        [os.path.basename(p) for p in inputs + outputs[:2]])


def test_a_warm_up_runs_the_network_once_and_changes_no_pixel(params_dir):
    """FastStyle.warm_up: one pass at WARM_UP_SIZE, traced in the one-image formulation;
    a photo after it runs that traced copy, with the pixels of a style never warmed up."""
    img = Image.fromarray(np.random.RandomState(3).randint(0, 255, (37, 53, 3), np.uint8))
    expected = np.asarray(fast.load_style("dots")(img))
    style = fast.load_style("dots")
    real, seen = style._forward, []

    def forward(x):
        seen.append(tuple(x.shape))
        return real(x)
    style._forward = forward
    style.warm_up()
    w, h = fast.WARM_UP_SIZE
    assert seen == [(1, 3, h, w)] and len(real._traced) == 1
    traced = dict(real._traced)
    out = style(img)
    assert real._traced == traced  # the same traced copy, not another
    np.testing.assert_array_equal(np.asarray(out), expected)


def test_the_warm_up_traces_what_photos_of_ordinary_size_run():
    """A shipped style (the multi-style network, its vector folded in): after the
    warm-up, a 640x480 photo runs the graph it traced and folded, none other."""
    style = fast.load_style("starry_night")
    style.warm_up()
    folded = dict(style._forward.folded)
    assert len(folded) == 1
    style(Image.new("RGB", (640, 480), (90, 120, 200)))
    assert style._forward.folded == folded
