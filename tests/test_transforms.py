"""gluon_style inside MXNet pipelines: the data transforms, style augmentation, the batched
block, the public loss block and the examples, on the synthetic multi-style network
(tests/magenta_onnx.py) and the random VGG16: no download, no shared images."""
import importlib.util
import os
import pickle

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon
from mxnet.gluon.data.vision import transforms as T

from gluon_style.io import images
from gluon_style import transforms
from gluon_style.errors import Error

onnx = pytest.importorskip("onnx")

from .test_arbitrary import installed_synthetic, synthetic  # noqa: E402,F401  (fixtures)
from .test_multistyle import NAMES, ms_dir  # noqa: E402,F401  (fixtures)

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _images(n=6, h=20, w=24, seed=0):
    """Small uint8 HWC images, all different (smooth gradients plus noise)."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for i in range(n):
        base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy + 17 * i) % 255], -1)
        out.append(np.clip(base + rng.randint(-30, 30, (h, w, 3)), 0, 255).astype(np.uint8))
    return out


class _Images(gluon.data.Dataset):
    """A dataset of (image NDArray, label), as gluon.data.vision's."""

    def __init__(self, arrays):
        self.arrays = arrays

    def __getitem__(self, i):
        return mx.nd.array(self.arrays[i], dtype=np.uint8), i

    def __len__(self):
        return len(self.arrays)


def test_stylize_in_compose_and_dataloader_workers(ms_dir):  # noqa: F811
    arrays = _images(4)
    t = transforms.Stylize("dots:1,waves:1", strength=0.8)
    compose = T.Compose([t, T.ToTensor()])
    main = [compose(mx.nd.array(a, dtype=np.uint8)).asnumpy() for a in arrays]
    assert main[0].shape == (3, 20, 24) and main[0].dtype == np.float32
    # painted: not the photo, and the same again
    assert np.abs(main[0] * 255 - arrays[0].transpose(2, 0, 1)).mean() > 3
    np.testing.assert_array_equal(compose(mx.nd.array(arrays[0], dtype=np.uint8)).asnumpy(),
                                  main[0])
    # pickles without its network, and the copy paints the same
    copy = pickle.loads(pickle.dumps(t))
    assert copy._cache == {}
    np.testing.assert_array_equal(copy(mx.nd.array(arrays[1], dtype=np.uint8)).asnumpy(),
                                  np.rint(main[1] * 255).astype(np.uint8).transpose(1, 2, 0))
    dataset = _Images(arrays).transform_first(compose)
    loader = gluon.data.DataLoader(dataset, batch_size=2, num_workers=2)
    got = np.concatenate([x.asnumpy() for x, _ in loader])
    np.testing.assert_array_equal(got, np.stack(main))


def test_p_zero_is_the_identity(ms_dir):  # noqa: F811
    img = mx.nd.array(_images(1)[0], dtype=np.uint8)
    for t in (transforms.Stylize("dots", p=0), transforms.StyleAugment(p=0),
              transforms.Stylize("dots", strength=0)):
        assert t(img) is img
        assert "block" not in t._cache  # nothing was loaded
    assert transforms.Stylize("waves", p=0).draw_batch([1, 2])[1].tolist() == [0, 0]


def test_augmentation_reproducible_and_varied(ms_dir):  # noqa: F811
    arrays = _images(6)
    aug = transforms.StyleAugment(p=1.0, strength=(0.6, 1.0), seed=3)
    first = [aug(a) for a in arrays]
    assert all(isinstance(o, np.ndarray) and o.dtype == np.uint8 and o.shape == a.shape
               for o, a in zip(first, arrays))
    again = transforms.StyleAugment(p=1.0, strength=(0.6, 1.0), seed=3)
    for a, b in zip(first, [again(a) for a in reversed(arrays)][::-1]):  # order does not matter
        np.testing.assert_array_equal(a, b)
    draws = [aug.draw(transforms.image_key(a)) for a in arrays]
    w = np.stack([d.weights for d in draws])
    np.testing.assert_allclose(w.sum(1), 1, rtol=1e-9)
    assert len({tuple(np.round(x, 6)) for x in w}) == len(arrays)  # a blend per image
    s = [d.strength for d in draws]
    assert all(0.6 <= x <= 1.0 for x in s) and len(set(s)) == len(s)
    # another epoch, another seed draw otherwise; p draws which images are augmented
    key = transforms.image_key(arrays[0])
    assert not np.allclose(again.set_epoch(1).draw(key).weights, draws[0].weights)
    np.testing.assert_array_equal(again.set_epoch(0).draw(key).weights, draws[0].weights)
    with pytest.raises(Error, match="epoch must be"):
        again.set_epoch(-1)
    other = transforms.StyleAugment(p=1.0, seed=4).draw(transforms.image_key(arrays[0]))
    assert not np.allclose(other.weights, draws[0].weights)
    half = transforms.StyleAugment(p=0.5, seed=0)
    applied = [half.draw(k).applied for k in range(200)]
    assert 70 < sum(applied) < 130
    # a subset of styles, a peaked Dirichlet
    one = transforms.StyleAugment(styles=["stripes"], p=1.0).draw(5)
    np.testing.assert_allclose(one.weights, [0, 1, 0])
    for kwargs, words in [({"styles": ["nope"]}, "unknown style 'nope'"),
                          ({"alpha": 0}, "alpha must be"), ({"strength": (0.9, 0.1)}, "above"),
                          ({"strength": 0.5}, "a range"), ({"p": 1.5}, "p must be"),
                          ({"seed": -1}, "seed")]:
        with pytest.raises(Error, match=words):
            transforms.StyleAugment(**kwargs)
    with pytest.raises(Error, match="uint8"):
        aug(arrays[0].astype(np.float32))
    with pytest.raises(Error, match=r"\(H, W, 3\)"):
        aug(mx.nd.zeros((3, 8, 8), dtype=np.uint8))


@pytest.mark.parametrize("convention", transforms.INPUTS)
def test_batched_block_equals_per_image_transform(ms_dir, convention):  # noqa: F811
    arrays = _images(4)
    aug = transforms.StyleAugment(p=0.5, seed=0)
    per_image = [aug(a) for a in arrays]
    assert any(o is a for o, a in zip(per_image, arrays))  # some left alone at p=0.5
    assert any(o is not a for o, a in zip(per_image, arrays))
    stack = np.stack(arrays).astype(np.float32).transpose(0, 3, 1, 2)
    x = {"pixels": stack, "unit": stack / 255,
         "normalized": images.normalize_np(np.stack(arrays))}[convention]
    block = aug.batch_block(convention)
    out = block(mx.nd.array(x)).asnumpy()
    px = {"pixels": out, "unit": out * 255}.get(convention)
    px = images.denormalize_np(out).transpose(0, 3, 1, 2) if px is None else px
    for o, ref, a, xi, oi in zip(px, per_image, arrays, x, out):
        assert np.abs(o.transpose(1, 2, 0) - ref.astype(np.float32)).max() <= 1.0 + 1e-3
        if ref is a:  # left alone: exactly the input
            np.testing.assert_array_equal(oi, xi)
    # explicit draws, and hybridized (one traced graph): the same
    w, s = aug.draw_batch(block.keys(mx.nd.array(x)))
    block.hybridize()
    again = block(mx.nd.array(x), mx.nd.array(w), mx.nd.array(s)).asnumpy()
    np.testing.assert_allclose(again, out, atol=1e-3 * (255 if convention == "pixels" else 1))


def test_batched_block_checks_its_input(ms_dir):  # noqa: F811
    block = transforms.Stylize("dots").batch_block("unit")
    with pytest.raises(Error, match=r"takes values in \[0 0 0, 1 1 1\].*got \[255 255 255, 255"):
        block(mx.nd.full((1, 3, 8, 8), 255.0))
    with pytest.raises(Error, match=r"\(N, 3, H, W\) float"):
        block(mx.nd.zeros((1, 8, 8, 3)))
    with pytest.raises(Error, match="unknown input convention"):
        transforms.Stylize("dots").batch_block("bgr")
    with pytest.raises(Error, match="unknown style 'nope'"):
        transforms.Stylize("dots:1,nope:1")
    with pytest.raises(Error, match="both weights and strength"):
        block(mx.nd.full((1, 3, 8, 8), 0.5), mx.nd.ones((1, 3)))
    assert block(mx.nd.full((1, 3, 8, 8), 0.5)).shape == (1, 3, 8, 8)


@pytest.mark.filterwarnings("ignore:The 1-th input to HybridBlock is not used")  # style only
def test_public_loss_gradient_flows_to_user_parameters(tmp_path):
    from PIL import Image

    from gluon_style import blocks
    mx.random.seed(0)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(8, 3, padding=1, activation="relu"), gluon.nn.Conv2D(3, 3, padding=1))
    net.initialize(mx.init.Xavier())
    rng = np.random.RandomState(0)
    painting = Image.fromarray(rng.randint(0, 255, (32, 32, 3)).astype(np.uint8))
    x = mx.nd.array(rng.uniform(0, 1, (2, 3, 16, 16)))
    target = mx.nd.array(rng.uniform(0, 1, (2, 3, 16, 16)))
    for kwargs in ({}, {"style_layers": ("relu1_2", "relu2_2"), "tv_weight": 0.1},
                   {"style_layers": ("relu1_2",), "content_layers": (), "style_image": painting}):
        loss_fn = blocks.VGGLoss(network="vgg16-random", input="unit", **kwargs)
        for hybrid in (False, True):
            if hybrid:
                loss_fn.hybridize()
            with autograd.record():
                loss = loss_fn(net(x), target)
            loss.backward()
            assert loss.shape == (2,) and np.isfinite(loss.asnumpy()).all()
            for p in net.collect_params().values():
                g = p.grad().asnumpy()
                assert np.isfinite(g).all() and np.abs(g).max() > 0, (kwargs, p.name)
        assert all(p.grad_req == "null" for p in loss_fn.collect_params().values())
    # the loss is zero on the target itself, and per sample
    loss_fn = blocks.VGGLoss(network="vgg16-random", input="unit")
    np.testing.assert_allclose(loss_fn(target, target).asnumpy(), [0, 0], atol=1e-6)
    feats = blocks.VGGFeatures(["relu1_1", "conv2_1"], network="vgg16-random")
    a, b = feats(images.to_tensor(painting))
    assert a.shape == (1, 64, 32, 32) and b.shape == (1, 128, 16, 16)
    with pytest.raises(Error, match="unknown layer 'relu9_9'"):
        blocks.VGGFeatures(["relu9_9"], network="vgg16-random")
    with pytest.raises(Error, match="at least one"):
        blocks.VGGLoss((), (), network="vgg16-random")


def _example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, "examples",
                                                                     name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_augment_pipeline(ms_dir, tmp_path, capsys):  # noqa: F811
    from PIL import Image
    out = tmp_path / "out" / "grid.png"
    assert _example("augment_pipeline").main([
        "--generate", "3", "--size", "24", "--epochs", "2", "--workers", "2",
        "--output", str(out)]) == 0
    grid = np.asarray(Image.open(out).convert("RGB"), float)
    pad, top, cell, line = 6, 22, 96, 16
    assert grid.shape == (top + 3 * (cell + pad + line) + pad, 3 * (cell + pad) + pad, 3)
    crop = grid[top + pad:top + pad + cell, pad:pad + cell]
    epochs = [grid[top + pad:top + pad + cell, pad + j * (cell + pad):pad + j * (cell + pad)
                   + cell] for j in (1, 2)]
    assert all(np.abs(e - crop).mean() > 3 for e in epochs)  # augmented
    assert np.abs(epochs[0] - epochs[1]).mean() > 1  # another style each epoch
    assert "wrote" in capsys.readouterr().out
    assert _example("augment_pipeline").main([
        "--images", str(tmp_path / "none"), "--output", str(out)]) == 2


def test_example_perceptual_loss(tmp_path, capsys):
    out = tmp_path / "sr.png"
    assert _example("perceptual_loss").main([
        "--generate", "2", "--crop", "16", "--steps", "2", "--batch", "2",
        "--network", "vgg16-random", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.exists() and "held-out loss after 2 steps" in text and "nan" not in text
    assert _example("perceptual_loss").main([
        "--generate", "1", "--crop", "15", "--output", str(out)]) == 2


def test_example_stylize_frames(ms_dir, tmp_path):  # noqa: F811
    from PIL import Image
    out = tmp_path / "frames"
    assert _example("stylize_frames").main([
        "--generate", "5", "--size", "24", "--batch", "2", "--from", "dots", "--to", "waves",
        "--output", str(out)]) == 0
    frames = sorted(p for p in os.listdir(out) if p.startswith("frame_"))
    assert frames == ["frame_%04d.png" % i for i in range(5)] and (out / "strip.jpg").exists()
    # the first frame is painted with "dots", the last with "waves": as Stylize paints them
    src = _example("stylize_frames").generated_frames(5, 24)
    for i, style in ((0, "dots"), (4, "waves")):
        ref = transforms.Stylize(style)(np.asarray(src[i]))
        got = np.asarray(Image.open(out / frames[i]), np.int16)
        assert np.abs(got - ref).max() <= 1
    assert _example("stylize_frames").main([
        "--generate", "2", "--from", "nope", "--output", str(out)]) == 2


def test_api_doc_names_every_public_name_and_its_default():
    import ast
    import re

    from gluon_style import blocks
    with open(os.path.join(HERE, "docs", "API.md"), encoding="utf-8") as f:
        doc = f.read()
    checked = 0
    for module in (transforms, blocks):
        for name in module.__all__:
            assert re.search(r"\b%s\b" % name, doc), (module.__name__, name)
        for name, value in re.findall(r"`([A-Z_]+) = ([^`]+)`", doc):
            if name in module.__all__:
                assert ast.literal_eval(value) == getattr(module, name), name
                checked += 1
    assert checked == 12
