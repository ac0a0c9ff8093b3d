"""Bulk stylization on Dask (gluon_style.fast.bulk, ``fast --dask``): a LocalCluster of
2 worker processes (one thread each) on loopback, a tiny untrained style."""
import os
import shutil

import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")
pytest.importorskip("fsspec")

import numpy as np  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from gluon_style import Error, fast  # noqa: E402
from gluon_style.cli import main  # noqa: E402
from gluon_style.fast import bulk  # noqa: E402

from .conftest import make_photo, make_style  # noqa: E402


@pytest.fixture(scope="module")
def style_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("dask_params")
    make_style(d, "dots")
    return d


@pytest.fixture(scope="module")
def client(style_dir):
    """``local:2``: 2 worker processes, 1 thread each, on 127.0.0.1; they find the style
    "dots" by name through $GLUON_STYLE_PARAMS, inherited when they are spawned."""
    old = os.environ.get("GLUON_STYLE_PARAMS")
    os.environ["GLUON_STYLE_PARAMS"] = str(style_dir)
    client, cluster = bulk.connect("local:2")
    try:
        info = client.scheduler_info()["workers"]
        assert len(info) == 2 and all(w["nthreads"] == 1 for w in info.values())
        assert all(a.startswith("tcp://127.0.0.1:") for a in info)
        yield client
    finally:
        client.close()
        cluster.close()
        if old is None:
            os.environ.pop("GLUON_STYLE_PARAMS", None)
        else:
            os.environ["GLUON_STYLE_PARAMS"] = old


def make_folder(root):
    """7 photos (3 sizes, one in a subfolder, one GIF: written as PNG) and a corrupt one."""
    os.makedirs(root / "sub")
    made = []
    for i, (w, h) in enumerate([(48, 40), (40, 48), (32, 32), (48, 40), (40, 32), (32, 40)]):
        p = make_photo(root / ("sub" if i == 2 else "") / ("p%d.png" % i), w, h)
        img = Image.open(p)
        img = [img, ImageOps.mirror(img), ImageOps.flip(img)][i % 3].rotate(90 * (i // 3))
        img.save(p)
        made.append(p)
    Image.open(made[0]).save(root / "anim.gif")
    (root / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root


FLOAT32 = bulk.StyleSpec(model="dots", precision="float32")


def reference(folder, out, style_dir, names):
    """The single-process folder run on the good images (same output names), in float32
    (the runs below ask for it too: bfloat16's sums depend on the thread count more)."""
    style = fast.load_style(str(style_dir / "dots.params"), precision="float32")
    inputs = [os.path.join(folder, n) for n in names]
    outputs = fast.output_paths(inputs, str(folder), str(out))
    for d in {os.path.dirname(o) for o in outputs}:
        os.makedirs(d, exist_ok=True)
    list(fast.stylize_files(style, inputs, outputs))
    return {os.path.relpath(o, out): open(o, "rb").read() for o in outputs}


def written(out):
    return {os.path.relpath(os.path.join(r, f), out): open(os.path.join(r, f), "rb").read()
            for r, _, fs in os.walk(out) for f in fs}


def assert_same_pictures(got, want):
    """The same names, and each picture the single-process one within one level (the
    batch norms' sums depend on the thread count: workers run one thread each), in
    under 1% of its values; nothing else (no temp files) written."""
    import io
    assert sorted(got) == sorted(want)
    for name, data in got.items():
        a = np.asarray(Image.open(io.BytesIO(data)), np.int16)
        b = np.asarray(Image.open(io.BytesIO(want[name])), np.int16)
        assert a.shape == b.shape, name
        d = np.abs(a - b)
        assert d.max() <= 1 and (d > 0).mean() < 0.01, (name, d.max(), (d > 0).mean())


GOOD = ["anim.gif", "p0.png", "p1.png", "sub/p2.png", "p3.png", "p4.png", "p5.png"]


def test_a_folder_on_two_workers_matches_one_process_and_reruns_resume(client, style_dir,
                                                                       tmp_path):
    """Every output written once, the single-process result (within a level); the corrupt file
    reported, the others written; the style loaded once per worker; a rerun makes tasks
    only for the missing outputs and leaves the others untouched."""
    folder = make_folder(tmp_path / "photos")
    want = reference(folder, tmp_path / "ref", style_dir, GOOD)
    assert sorted(want) == sorted(["anim.png"] + GOOD[1:])
    out = tmp_path / "out"
    seen = []
    r = bulk.stylize_many(str(folder), str(out), style=FLOAT32, client=client,
                          on_result=lambda s, w: seen.append(s))
    good = [p for p in bulk.list_sources(str(folder))[0] if not p.endswith("bad.png")]
    plan = list(fast.plan_batches((fast.load_content(p).size, p) for p in good))
    assert len(plan) < 7  # some batches of several images: the same batches, the same bytes
    assert r.tasks == len(plan) and len(r.written) == 7 and not r.skipped
    assert len(r.failed) == 1, r.failed
    assert "bad.png" in r.failed[0] and "not an image" in r.failed[0], r.failed
    assert sorted(seen) == ["failed"] + ["written"] * 7
    got = written(out)
    assert_same_pictures(got, want)
    loads = client.run(lambda: bulk.loads)
    assert sorted(loads.values()) in ([1, 1], [0, 1]), loads
    stamps = {p: os.stat(out / p).st_mtime_ns for p in got}

    os.remove(out / "p3.png")
    r = bulk.stylize_many(str(folder), str(out), style=FLOAT32, client=client)
    assert r.tasks == 1 and r.written == [str(out / "p3.png")] and len(r.skipped) == 6
    assert len(r.failed) == 1
    assert_same_pictures(written(out), want)
    assert all(os.stat(out / p).st_mtime_ns == t for p, t in stamps.items() if p != "p3.png")
    assert max(client.run(lambda: bulk.loads).values()) == 1


def test_cli_on_a_scheduler_address_with_fsspec_urls(client, style_dir, tmp_path, capsys):
    """``fast --content file://DIR --output DIR --dask ADDRESS``: inputs read through fsspec;
    one line per failed file, exit status 2, the others written as the single-process run
    writes them; a rerun skips them (exit 0 once the bad file is gone)."""
    folder = make_folder(tmp_path / "photos")
    want = reference(folder, tmp_path / "ref", style_dir, GOOD)
    out = tmp_path / "out"
    address = client.scheduler.address
    argv = ["fast", "--model", "dots", "--content", "file://" + str(folder), "--output",
            str(out), "--dask", address, "--quiet", "--precision", "float32"]
    assert main(argv) == 2
    cap = capsys.readouterr()
    failed = [line for line in cap.err.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1 and "bad.png" in failed[0], cap.err
    assert "7 images, 0 skipped as already there, 1 failed" in cap.out
    assert_same_pictures(written(out), want)

    os.remove(folder / "bad.png")
    shutil.rmtree(out / "sub")
    assert main(argv) == 0
    assert "1 image, 6 skipped as already there, 0 failed" in capsys.readouterr().out
    assert_same_pictures(written(out), want)


def test_the_list_of_uris_and_the_options(tmp_path):
    """Outputs of a list of URIs are named relative to their common folder, as a folder's;
    local:N is checked; --dask is an option of fast like the others."""
    names = bulk.output_names(["file:///a/b/x.png", "file:///a/b/c/y.gif"], None, str(tmp_path))
    assert names == [str(tmp_path / "x.png"), str(tmp_path / "c" / "y.png")]
    with pytest.raises(Error, match="local:N"):
        bulk.connect("local:zero")
    with pytest.raises(Error, match="one of model"):
        bulk.StyleSpec()
    from gluon_style.cli.fast import fast_parser
    assert fast_parser().parse_args(["--model", "m", "--content", "a", "--output", "b",
                                     "--dask", "local:2"]).dask == "local:2"
