"""Figures: loss curves beside the images they came from (matplotlib, no display)."""
from .io.fileio import atomic_path


def loss_figure(history, path, *, panels=(), title=None):
    """Save a figure of loss curves and an image strip to `path` (atomically).

    Parameters
    ----------
    history : dict of str to list of (step, value)
        One curve per term, drawn on a log scale.
    panels : sequence of (label, PIL.Image.Image)
        Images shown in a row above the curves (e.g. content, style, result).
    """
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n = max(1, len(panels))
    fig = plt.figure(figsize=(max(8, 3 * n), 7 if panels else 4), dpi=100)
    grid = fig.add_gridspec(2 if panels else 1, n, height_ratios=[1.2, 1] if panels else [1])
    for i, (label, img) in enumerate(panels):
        ax = fig.add_subplot(grid[0, i])
        ax.imshow(img)
        ax.set_title(label, fontsize=10)
        ax.axis("off")
    ax = fig.add_subplot(grid[-1, :])
    top = max((v for points in history.values() for _, v in points), default=1.0)
    for name, points in history.items():
        # a term that starts at 0 (content, from a content init) would stretch the axis
        points = [(s, v) for s, v in points if v > top * 1e-6]
        if points:
            steps, values = zip(*points)
            ax.plot(steps, values, label=name, lw=1.5 if name == "total" else 1)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (weighted)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return path


def contact_sheet(grid, path, *, cell=256, labels=None, pad=6, quality=95, captions=None):
    """Save a grid of images (rows of PIL images, None for empty) with column labels.

    Each image is fit into a `cell` x `cell` box keeping its aspect; `labels`
    name the columns; `captions` (rows of strings or None, like `grid`) are
    written under each image (which then sits at the bottom of its cell).
    Written atomically (JPEG/WebP at `quality`); returns the sheet as a PIL image.
    """
    from PIL import Image, ImageDraw

    top = 22 if labels else 0
    line = 16 if captions else 0
    rows, cols = len(grid), max(len(r) for r in grid)
    step_x, step_y = cell + pad, cell + pad + line
    sheet = Image.new("RGB", (cols * step_x + pad, rows * step_y + pad + top), "white")
    draw = ImageDraw.Draw(sheet)
    for j, label in enumerate(labels or ()):
        draw.text((pad + j * step_x + 4, 5), str(label), fill=(20, 20, 20))
    for i, row in enumerate(grid):
        for j, img in enumerate(row):
            caption = captions[i][j] if captions and j < len(captions[i]) else None
            if caption:
                draw.text((pad + j * step_x + 4, top + pad + i * step_y + cell + 2), caption,
                          fill=(20, 20, 20))
            if img is None:
                continue
            thumb = img.copy()
            thumb.thumbnail((cell, cell))
            x = pad + j * step_x + (cell - thumb.size[0]) // 2
            # with captions, images sit on them; otherwise centred in the cell
            y = top + pad + i * step_y + (cell - thumb.size[1]) // (1 if captions else 2)
            sheet.paste(thumb.convert("RGB"), (x, y))
    from .io.images import save_image
    save_image(sheet, path, quality=quality)
    return sheet


def progress_gif(frames, path, *, duration_ms=150, hold_ms=1200, max_side=512):
    """Save PIL frames as an animated GIF (atomically), the last one held longer."""
    if not frames:
        raise ValueError("no frames")
    small = []
    for frame in frames:
        frame = frame.convert("RGB")
        frame.thumbnail((max_side, max_side))
        small.append(frame.resize(small[0].size) if small else frame)
    with atomic_path(path, role="animation") as tmp:
        small[0].save(tmp, save_all=True, append_images=small[1:], loop=0, optimize=False,
                      duration=[duration_ms] * (len(small) - 1) + [hold_ms])
    return path
