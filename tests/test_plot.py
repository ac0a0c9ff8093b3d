"""Contact sheets: layout, labels and per-image captions."""
import numpy as np
from PIL import Image

from gluon_style.plot import contact_sheet


def test_contact_sheet_writes_captions_under_their_images(tmp_path):
    red, blue = Image.new("RGB", (40, 20), (200, 0, 0)), Image.new("RGB", (20, 40), (0, 0, 200))
    plain = contact_sheet([[red, blue]], str(tmp_path / "a.png"), cell=50, pad=5)
    sheet = contact_sheet([[red, blue], [None, red]], str(tmp_path / "b.png"), cell=50, pad=5,
                          captions=[["0.31 s", None], ["", "12 s"]])
    assert plain.size == (2 * 55 + 5, 55 + 5)
    assert sheet.size == (2 * 55 + 5, 2 * 71 + 5)  # a 16 px caption line under each row
    arr = np.asarray(sheet.convert("L"))
    line = lambda row, col: arr[5 + row * 71 + 50:5 + row * 71 + 66,  # noqa: E731
                                5 + col * 55:5 + col * 55 + 50]
    assert line(0, 0).min() < 100 and line(1, 1).min() < 100  # text there
    assert line(0, 1).min() == 255 and line(1, 0).min() == 255  # none, or empty
    rgb = np.asarray(sheet)
    assert tuple(rgb[5 + 71 + 45, 5 + 55 + 25]) == (200, 0, 0)  # row 2's image
    assert tuple(rgb[5 + 49, 5 + 25]) == (200, 0, 0)  # a wide image sits on its caption
    assert tuple(rgb[5 + 20, 5 + 25]) == (255, 255, 255)
    assert tuple(np.asarray(plain)[5 + 25, 5 + 25]) == (200, 0, 0)  # centred without
