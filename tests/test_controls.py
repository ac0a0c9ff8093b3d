"""Artist controls of optimization mode: style blends, style scale, layer weights."""
import numpy as np
import pytest

from gluon_style.optimization import gatys
from gluon_style.errors import Error

from .conftest import make_painting

OPTS = dict(size=24, iterations=3, network="vgg16-random", seed=5, init="content",
            style_layers=["conv1_1", "conv2_1"],
            content_layers=["conv2_2"])


def _run(photo, style, **kw):
    steps = list(gatys.stylize_steps(photo, style, **dict(OPTS, **kw)))
    return [[s.losses[k] for k in ("total", "content", "style", "tv")] for s in steps], \
        steps[-1].image.asnumpy()


def test_blend_one_zero_equals_the_single_style(photo, painting, tmp_path):
    other = make_painting(tmp_path / "other.png", 40, 40, seed=9)
    single_losses, single = _run(photo, painting)
    blend_losses, blended = _run(photo, [painting, other], style_blend=[1.0, 0.0])
    np.testing.assert_allclose(blended, single, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(blend_losses, single_losses, rtol=1e-5, atol=1e-12)
    mixed_losses, _ = _run(photo, [painting, other], style_blend=[0.5, 0.5])
    assert mixed_losses[0][2] != pytest.approx(single_losses[0][2], rel=1e-3)


def test_blend_weights_are_normalized(photo, painting, tmp_path):
    other = make_painting(tmp_path / "other.png", 40, 40, seed=9)
    a, _ = _run(photo, [painting, other], style_blend=[0.7, 0.3])
    b, _ = _run(photo, [painting, other], style_blend=[7.0, 3.0])
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-12)


def test_style_scale_changes_the_style_target(photo, painting):
    base, _ = _run(photo, painting)
    big, _ = _run(photo, painting, style_scale=2.0)
    assert big[0][2] != pytest.approx(base[0][2], rel=1e-3)
    assert big[0][1] == pytest.approx(base[0][1], abs=1e-6)


def test_layer_weights_scale_each_layer(photo, painting):
    both, _ = _run(photo, painting, iterations=1)
    first, _ = _run(photo, painting, iterations=1, style_layer_weights=[1.0, 0.0])
    second, _ = _run(photo, painting, iterations=1, style_layer_weights=[0.0, 1.0])
    assert first[0][2] + second[0][2] == pytest.approx(both[0][2], rel=1e-4)
    assert 0 < first[0][2] < both[0][2]


@pytest.mark.parametrize("kw, msg", [
    (dict(style_blend=[1.0]), "1 weights given for 2 layers"),
    (dict(style_blend=[1.0, -0.5]), "non-negative"),
    (dict(style_blend=[0.0, 0.0]), "must not all be zero"),
    (dict(style_scale=0), "style scale must be a finite number > 0"),
    (dict(style_layer_weights=[1.0]), "style layer weights"),
])
def test_bad_control_values(photo, painting, kw, msg):
    with pytest.raises(Error, match=msg):
        gatys.stylize_steps(photo, [painting, painting], **dict(OPTS, **kw))


@pytest.mark.parametrize("kw, msg", [
    (dict(lr=float("nan")), "learning rate must be a finite number > 0, got nan"),
    (dict(lr=-1), "learning rate"), (dict(lr_decay=float("nan")), "lr decay"),
    (dict(style_scale=float("inf")), "style scale"),
    (dict(style_weight=float("nan")), "style weight"),
    (dict(tv_weight=-1), "tv weight"), (dict(seed=-1), "seed"),
    (dict(lr_decay_every=0.5), "period"),
])
def test_numbers_are_checked_before_any_work(tmp_path, kw, msg):
    missing = str(tmp_path / "not-read-yet.png")
    with pytest.raises(Error, match=msg):
        gatys.stylize_steps(missing, missing, **dict(OPTS, **kw))


def _chroma(img):
    from gluon_style import color
    return color.rgb_to(np.asarray(img, np.float64) / 255.0, "yiq")[..., 1:]


def test_luminance_only_keeps_the_content_chroma(photo, painting, tmp_path):
    from PIL import Image
    # muted colors: saturated ones cannot keep their chroma at every luminance (gamut)
    muted = np.asarray(Image.open(photo).convert("RGB"), np.float64) * 0.35 + 0.65 * 128
    photo = str(tmp_path / "muted.png")
    Image.fromarray(muted.astype(np.uint8)).save(photo)
    opts = dict(OPTS, iterations=10, init="noise")
    run = gatys.stylize_steps(photo, painting, preserve_colors="luminance", **opts)
    step = None
    for step in run:
        pass
    result = run.picture(step.image)
    content = Image.open(photo).convert("RGB").resize(result.size, Image.BICUBIC)
    # where the result's luminance is near black or white the chroma is clipped away
    from gluon_style import color
    y = color.rgb_to(np.asarray(result, np.float64) / 255.0, "yiq")[..., 0]
    mid = (y > 0.2) & (y < 0.8)
    assert mid.mean() > 0.3
    assert np.abs(_chroma(result) - _chroma(content))[mid].mean() < 2 / 255
    plain = gatys.stylize(photo, painting, **opts)
    assert np.abs(_chroma(plain) - _chroma(content))[mid].mean() > 5 / 255  # colors do change


def test_histogram_mode_matches_each_style_to_the_content(photo, painting, tmp_path, monkeypatch):
    from gluon_style import color
    other = make_painting(tmp_path / "other.png", 40, 40, seed=9)
    calls = []
    real = color.match_histogram

    def spy(style, content, **kw):
        calls.append((style.size, content.size))
        return real(style, content, **kw)

    monkeypatch.setattr(color, "match_histogram", spy)
    matched, _ = _run(photo, [painting, other], preserve_colors="histogram", iterations=1)
    assert calls == [((24, 24), (24, 20)), ((24, 24), (24, 20))]
    monkeypatch.setattr(color, "match_histogram", real)
    plain, _ = _run(photo, [painting, other], iterations=1)
    assert matched[0][2] != pytest.approx(plain[0][2], rel=1e-3)  # another style target


def test_unknown_preserve_colors(photo, painting):
    with pytest.raises(Error, match="unknown preserve-colors mode 'sepia'"):
        gatys.stylize_steps(photo, painting, preserve_colors="sepia", **OPTS)


def test_coarse_to_fine_reaches_the_size_and_lowers_the_loss_at_each_scale(photo, painting):
    opts = dict(OPTS, size=128, iterations=6, scales=3, init="noise", lr_decay_every=100)
    run = gatys.stylize_steps(photo, painting, **opts)
    assert run.sizes == [32, 64, 128]
    steps = list(run)
    # later scales refine: half the first scale's iterations each
    assert run.iterations == [6, 3, 3] and [s.step for s in steps] == list(range(1, 13))
    totals = [s.losses["total"] for s in steps]
    for begin, end in ((0, 6), (6, 9), (9, 12)):
        scale = totals[begin:end]
        assert scale[-1] < scale[0], (begin, scale)
    assert steps[-1].image.shape == (1, 3, 107, 128)  # the 48x40 photo at 128 px
    # each scale starts from the last one's result, not from noise again
    assert totals[6] < totals[0]


def test_cli_scales(photo, painting, tmp_path, capsys):
    from PIL import Image
    from gluon_style import transfer
    out = tmp_path / "r.png"
    code = transfer.main(["--content", photo, "--style", painting, "--output", str(out),
                          "--size", "32", "--iterations", "2", "--scales", "2", "--network",
                          "vgg16-random", "--style-layers", "conv1_1", "--content-layers",
                          "conv1_2", "--quiet"])
    assert code == 0 and Image.open(out).size == (32, 27)
    with pytest.raises(SystemExit) as exit_:
        transfer.main(["--content", photo, "--style", painting, "--output", str(out),
                       "--scales", "0"])
    assert exit_.value.code == 2 and "--scales" in capsys.readouterr().err


def test_mask_keeps_the_content_outside(photo, painting, tmp_path):
    from PIL import Image
    mask = np.zeros((40, 48), np.uint8)
    mask[:, 24:] = 255  # stylize the right half only
    Image.fromarray(mask).save(tmp_path / "mask.png")
    opts = dict(OPTS, size=48, iterations=5, init="noise")
    result = np.asarray(gatys.stylize(photo, painting, mask=str(tmp_path / "mask.png"), **opts),
                        float)
    content = np.asarray(Image.open(photo).convert("RGB"), float)
    assert np.abs(result[:, :22] - content[:, :22]).max() <= 1.0  # left: the content
    assert np.abs(result[:, 26:] - content[:, 26:]).mean() > 10  # right: optimized from noise


def test_mask_of_the_wrong_size(photo, painting, tmp_path):
    from PIL import Image
    Image.new("L", (30, 30), 255).save(tmp_path / "m.png")
    with pytest.raises(Error, match="mask .*m.png is 30x30 but the content image is 48x40"):
        gatys.stylize_steps(photo, painting, mask=str(tmp_path / "m.png"), **OPTS)


def _solid(path, rgb, w=48, h=40, seed=0):
    from PIL import Image
    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(rgb)[None, None] + rng.integers(-30, 30, (h, w, 3)), 0, 255)
    Image.fromarray(arr.astype(np.uint8)).save(path)
    return str(path)


def _halves(tmp_path, w=48, h=40):
    from PIL import Image
    left = np.zeros((h, w), np.uint8)
    left[:, : w // 2] = 255
    Image.fromarray(left).save(tmp_path / "left.png")
    Image.fromarray(255 - left).save(tmp_path / "right.png")
    return str(tmp_path / "left.png"), str(tmp_path / "right.png")


def test_masked_gram_sees_only_its_region():
    import mxnet as mx
    from gluon_style.optimization.losses import gram, masked_gram
    x = mx.nd.random.normal(shape=(1, 4, 6, 8))
    ones = mx.nd.ones((1, 1, 6, 8))
    np.testing.assert_allclose(masked_gram(mx.nd, x, ones).asnumpy(), gram(mx.nd, x).asnumpy(),
                               rtol=1e-5)
    m = mx.nd.zeros((1, 1, 6, 8))
    m[:, :, :, :3] = 1
    changed = x.copy()
    changed[:, :, :, 3:] = 100  # outside the mask
    np.testing.assert_allclose(masked_gram(mx.nd, changed, m).asnumpy(),
                               masked_gram(mx.nd, x, m).asnumpy(), rtol=1e-5)
    # inside, it is the Gram matrix of the region alone
    np.testing.assert_allclose(masked_gram(mx.nd, x, m).asnumpy(),
                               gram(mx.nd, x[:, :, :, :3]).asnumpy(), rtol=1e-5)


def test_each_region_takes_its_own_style(photo, tmp_path):
    blue = _solid(tmp_path / "blue.png", (30, 60, 220))
    yellow = _solid(tmp_path / "yellow.png", (230, 200, 30), seed=1)
    left, right = _halves(tmp_path)
    opts = dict(OPTS, size=48, iterations=40, init="noise", style_layers=["conv1_1", "conv1_2"],
                content_weight=0.0, tv_weight=0.0, style_weight=1e6)
    result = np.asarray(gatys.stylize(photo, [blue, yellow], mask=[left, right], **opts), float)
    left_mean, right_mean = result[:, :20].mean((0, 1)), result[:, 28:].mean((0, 1))
    # blue on the left, yellow on the right: the regions did not swap or mix
    assert left_mean[2] - left_mean[0] > 40, left_mean
    assert right_mean[0] - right_mean[2] > 40, right_mean


def test_region_errors(photo, painting, tmp_path):
    left, right = _halves(tmp_path)
    other = make_painting(tmp_path / "other.png", 40, 40, seed=9)
    with pytest.raises(Error, match="3 masks for 2 style images"):
        gatys.stylize_steps(photo, [painting, other], mask=[left, right, left], **OPTS)
    with pytest.raises(Error, match="style blend mixes styles over one region"):
        gatys.stylize_steps(photo, [painting, other], mask=[left, right], style_blend=[1, 1],
                            **OPTS)
    from PIL import Image
    Image.new("L", (48, 40), 0).save(tmp_path / "black.png")
    with pytest.raises(Error, match="mask 2 of 2 is all black"):
        gatys.stylize_steps(photo, [painting, other], mask=[left, str(tmp_path / "black.png")],
                            **OPTS)


def test_cli_one_style_per_region(photo, painting, tmp_path, capsys):
    from PIL import Image
    from gluon_style import transfer
    left, right = _halves(tmp_path)
    other = make_painting(tmp_path / "other.png", 40, 40, seed=9)
    out = tmp_path / "r.png"
    base = ["--content", photo, "--output", str(out), "--size", "48", "--iterations", "2",
            "--network", "vgg16-random", "--style-layers", "conv1_1", "--content-layers",
            "conv1_2", "--quiet"]
    assert transfer.main(base + ["--style", painting, other, "--mask", left, right]) == 0
    assert Image.open(out).size == (48, 40)
    out.unlink()
    assert transfer.main(base + ["--style", painting, other, "--mask", left, right, left]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: 3 masks for 2 style images: give one mask, or one per style")
    assert not out.exists()


def test_explicit_scale_sizes_and_iterations_per_scale(photo, painting):
    run = gatys.stylize_steps(photo, painting, **dict(OPTS, size=64, scales=[24, 40, 64],
                                                      iterations=[5, 3, 2]))
    assert run.sizes == [24, 40, 64] and run.total == 10
    shapes = [s.image.shape[2:] for s in run]
    assert shapes == [(20, 24)] * 5 + [(33, 40)] * 3 + [(53, 64)] * 2


@pytest.mark.parametrize("kw, message", [
    (dict(size=64, scales=[40, 24, 64]), "scale sizes must increase, got 40 24 64"),
    (dict(size=64, scales=[24, 48]), "scale sizes end at 48 but the size is 64"),
    (dict(size=64, scales=[8, 64]), "scale size 8 is below the smallest size, 16"),
    (dict(size=64, scales=2, iterations=[3, 2, 1]), "3 iterations given for 2 scales"),
    (dict(size=64, scales=2, iterations=[3, 0]), "iterations must be a positive whole number"),
])
def test_bad_scales(photo, painting, kw, message):
    with pytest.raises(Error, match=message):
        gatys.stylize_steps(photo, painting, **dict(OPTS, **kw))


def test_an_earlier_runs_graphs_are_freed_before_the_next(photo, painting, monkeypatch):
    import gc
    import weakref
    made = []
    real = gatys.LossProblem

    class Spy(real):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            made.append(weakref.ref(self.loss))

    monkeypatch.setattr(gatys, "LossProblem", Spy)
    gc.disable()  # as if the collector had not come round yet
    try:
        gatys.stylize(photo, painting, **OPTS)
        gatys.stylize(photo, painting, **OPTS)
    finally:
        gc.enable()
    assert len(made) == 2 and made[0]() is None


@pytest.mark.parametrize("scales", [1, 2])
def test_a_luminance_runs_step_picture_is_the_coloured_result(photo, painting, scales):
    run = gatys.stylize_steps(photo, painting, preserve_colors="luminance",
                              **dict(OPTS, size=48, scales=scales))
    for step in run:
        picture = step.picture()  # the one to save: colours back, not the grey optimized image
        assert np.array_equal(np.asarray(picture), np.asarray(run.picture(step.image)))
        assert np.abs(np.diff(np.asarray(picture, np.int16), axis=2)).max() > 0
