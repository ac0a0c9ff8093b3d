"""Generate the bundled style image ``examples/images/brushwork.png``.

A deterministic "painting": thousands of overlapping brush strokes that follow
a swirling flow field (a few vortices plus the curl of smooth noise), in a
limited palette of ultramarine and deep blues, cyan, and yellow/orange accents.
Each stroke is drawn as a bundle of bristle lines (varying width, slight color
jitter, darker edges); a height map drawn alongside gives the paint relief.

Only NumPy and Pillow are used and the seed is fixed, so the output is the same
on every run (a few seconds on one core)::

    python examples/make_brushwork.py                  # -> examples/images/brushwork.png
    python examples/make_brushwork.py -o /tmp/b.png --seed 7
"""
import argparse
import os
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 512
DEFAULT_OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images",
                              "brushwork.png")

# the palette, sRGB
PRUSSIAN = (16, 30, 66)
ULTRAMARINE = (30, 52, 150)
COBALT = (48, 92, 186)
CERULEAN = (62, 140, 200)
CYAN = (96, 196, 218)
PALE = (196, 228, 226)
YELLOW = (246, 206, 62)
ORANGE = (232, 128, 36)
OCHRE = (196, 146, 52)


def smooth_noise(rng, size, cells):
    """Smooth random field in [-1, 1]: a `cells` x `cells` grid, bicubically upsampled."""
    grid = rng.uniform(-1, 1, (cells + 3, cells + 3)).astype(np.float32)
    img = Image.fromarray(grid, mode="F").resize((size + 3 * size // cells,) * 2, Image.BICUBIC)
    off = size // cells
    return np.asarray(img)[off:off + size, off:off + size]


class Flow:
    """Unit direction field from a stream function: vortices plus smooth noise.

    The velocity is the curl of the stream function psi, (dpsi/dy, -dpsi/dx),
    so the flow swirls around the vortex centers without sources or sinks.
    """

    def __init__(self, rng, size):
        y, x = np.mgrid[0:size, 0:size].astype(np.float32)
        psi = 0.55 * smooth_noise(rng, size, 3) + 0.18 * smooth_noise(rng, size, 6)
        self.vortices = [  # (x, y, radius, strength; sign = turning direction)
            (0.30 * size, 0.34 * size, 0.16 * size, 1.6),
            (0.72 * size, 0.62 * size, 0.20 * size, -1.8),
            (0.22 * size, 0.80 * size, 0.10 * size, 1.0),
            (0.80 * size, 0.16 * size, 0.09 * size, -0.9),
        ]
        for cx, cy, r, s in self.vortices:
            psi += s * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
        # a gentle diagonal current so the gaps between vortices are not still
        psi += 0.8 * (y - x) / size
        gy, gx = np.gradient(psi)
        vx, vy = gy, -gx
        norm = np.hypot(vx, vy) + 1e-9
        self.vx, self.vy, self.speed = vx / norm, vy / norm, norm
        self.size = size

    def at(self, px, py):
        i = int(min(max(py, 0), self.size - 1))
        j = int(min(max(px, 0), self.size - 1))
        return self.vx[i, j], self.vy[i, j]

    def trace(self, x, y, length, step=2.0):
        """A streamline through (x, y), `length` pixels long, centered on the start."""
        fwd = self._walk(x, y, length / 2, step)
        back = self._walk(x, y, length / 2, -step)
        return back[::-1] + fwd[1:]

    def _walk(self, x, y, length, step):
        pts = [(x, y)]
        for _ in range(int(length / abs(step))):
            dx, dy = self.at(x, y)  # midpoint (RK2) step
            mx, my = self.at(x + 0.5 * step * dx, y + 0.5 * step * dy)
            x, y = x + step * mx, y + step * my
            if not (-40 <= x <= self.size + 40 and -40 <= y <= self.size + 40):
                break
            pts.append((x, y))
        return pts


def jitter(rng, color, amount):
    c = np.asarray(color, np.float32) * (1 + rng.normal(0, amount)) + rng.normal(0, 10 * amount, 3)
    return tuple(int(v) for v in np.clip(c, 0, 255))


def mix(a, b, t):
    return tuple(int(round((1 - t) * u + t * v)) for u, v in zip(a, b))


class Canvas:
    def __init__(self, size, ground):
        self.size = size
        self.unit = size / 512.0
        self.img = Image.new("RGB", (size, size), ground)
        self.draw = ImageDraw.Draw(self.img)
        self.height = Image.new("L", (size, size), 0)
        self.hdraw = ImageDraw.Draw(self.height)

    def stroke(self, rng, pts, width, color, *, jit=0.06, edge=0.35, load=1.0):
        """One brush stroke along `pts`: a bundle of bristle lines across `width`.

        Bristles nearer the edge are darker (paint piles up there); each has
        its own slight color shift and may run out of paint before the end
        (dry-brush gaps, more of them when `load` is low).
        """
        pts = np.asarray(pts, np.float32)
        n = len(pts)
        if n < 3:
            return
        d = np.gradient(pts, axis=0)
        d /= np.linalg.norm(d, axis=1, keepdims=True) + 1e-9
        normal = np.stack([-d[:, 1], d[:, 0]], axis=1)
        t = np.linspace(0, 1, n)
        # taper: a blunt start, a thinner, lifted end
        profile = np.clip(np.minimum(t / 0.12, 1.0) * np.minimum((1 - t) / 0.3, 1.0), 0.25, 1)
        profile = profile * (1 + 0.15 * np.sin(t * np.pi * rng.uniform(1, 3) + rng.uniform(0, 6)))
        nb = max(3, int(width / (1.6 * self.unit)))
        base = np.asarray(color, np.float32)
        for k in range(nb):
            o = (k + rng.uniform(-0.3, 0.3)) / (nb - 1) - 0.5  # -0.5 .. 0.5 across the stroke
            shade = 1.0 - edge * (2 * abs(o)) ** 2.5 + rng.normal(0, jit)
            c = np.clip(base * shade + rng.normal(0, 255 * jit * 0.4, 3), 0, 255)
            # dry brush: bristle ends early, more often at the edges and with little paint
            stop = n if rng.random() > (0.25 + 0.5 * abs(o)) * (1.4 - load) else \
                int(n * rng.uniform(0.45, 1.0))
            start = int(n * rng.uniform(0, 0.08))
            if stop - start < 2:
                continue
            off = (o * width * profile)[:, None] * normal
            line = pts + off
            seg = line[start:stop].ravel().tolist()
            w = max(1, int(round(width / nb * rng.uniform(1.1, 1.8))))
            self.draw.line(seg, fill=tuple(int(v) for v in c), width=w, joint="curve")
            h = int(min(max(110 + 120 * (0.5 - abs(o)) + rng.normal(0, 45), 0), 255))
            self.hdraw.line(seg, fill=h, width=w, joint="curve")

    def relief(self, strength=1.0, blur=0.8):
        """The painted colors lit from the upper left according to the paint relief."""
        h = np.asarray(self.height.filter(ImageFilter.GaussianBlur(blur)), np.float32) / 255.0
        gy, gx = np.gradient(h)
        light = 1.0 + strength * (-gx - gy) * blur / 0.8
        rgb = np.asarray(self.img, np.float32) * light[..., None]
        return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def canvas_weave(img, amount=0.02):
    """A faint linen weave, as if the paint sat on a primed canvas."""
    n = img.width
    yy, xx = np.mgrid[0:img.height, 0:n]
    weave = 1.0 + amount * np.sin(xx * 1.9) * np.sin(yy * 1.9)
    rgb = np.asarray(img, np.float32) * weave[..., None]
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def palette_at(rng, light, warm, x, y, size):
    """The color for a stroke at (x, y): blues everywhere, cyan bands, warm accents."""
    i, j = int(min(max(y, 0), size - 1)), int(min(max(x, 0), size - 1))
    blues = [PRUSSIAN, ULTRAMARINE, COBALT, CERULEAN, CYAN, PALE]
    v = min(max(0.5 + 0.5 * light[i, j] + rng.normal(0, 0.18), 0), 0.999)
    idx = v * (len(blues) - 1)
    k = int(idx)
    c = mix(blues[k], blues[min(k + 1, len(blues) - 1)], idx - k)
    if (warm[i, j] > 0.45 and rng.random() < 0.6) or rng.random() < 0.015:
        c = [YELLOW, ORANGE, OCHRE, YELLOW][rng.integers(4)]
    return c


#: stroke passes, in pixels of a 512 canvas: (count, width range, length range, color jitter)
PASSES = [
    (260, (22, 34), (70, 150), 0.05),   # underpainting, dark blues only
    (900, (11, 20), (50, 130), 0.06),
    (1300, (6, 12), (30, 85), 0.07),
    (500, (3, 6), (15, 40), 0.08),      # final touches
]


def paint(seed=3, size=SIZE, supersample=2):
    """The painting as a `size` x `size` PIL image (drawn `supersample` times larger)."""
    rng = np.random.default_rng(seed)
    big = size * supersample
    unit = big / 512.0
    flow = Flow(rng, big)
    y, x = np.mgrid[0:big, 0:big].astype(np.float32)
    light = 0.9 * smooth_noise(rng, big, 4)
    # warm accents: ragged rings around the vortex cores plus a few blobs
    warm = 0.7 * smooth_noise(rng, big, 5) - 0.2
    for cx, cy, r, s in flow.vortices:
        d = np.hypot(x - cx, y - cy)
        ang = np.arctan2(y - cy, x - cx)
        ring = 0.55 * r * (1 + 0.22 * np.sin(3 * ang + rng.uniform(0, 6)))
        warm += 1.2 * np.exp(-((d - ring) ** 2) / (2 * (0.22 * r) ** 2)) * min(abs(s), 1.2)

    canvas = Canvas(big, PRUSSIAN)
    for n, (count, (w0, w1), (l0, l1), jit) in enumerate(PASSES):
        for _ in range(count):
            sx, sy = rng.uniform(-10 * unit, big + 10 * unit, 2)
            pts = flow.trace(sx, sy, rng.uniform(l0, l1) * unit, step=2.0 * unit)
            if n == 0:
                color = mix(PRUSSIAN, ULTRAMARINE, rng.uniform(0.2, 1.0))
            else:
                color = palette_at(rng, light, warm, sx, sy, big)
            canvas.stroke(rng, pts, rng.uniform(w0, w1) * unit, jitter(rng, color, jit),
                          jit=jit, load=rng.uniform(0.6, 1.0))
    img = canvas.relief(blur=0.8 * unit)
    if supersample > 1:
        img = img.resize((size, size), Image.BOX)
    return canvas_weave(img)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", default=DEFAULT_OUTPUT)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--size", type=int, default=SIZE)
    args = parser.parse_args(argv)
    start = time.time()
    img = paint(args.seed, args.size)
    folder = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(folder, exist_ok=True)
    img.save(args.output, optimize=True)
    print("wrote %s (%dx%d, %.0f KB) in %.1f s" % (args.output, img.width, img.height,
                                                  os.path.getsize(args.output) / 1024,
                                                  time.time() - start))


if __name__ == "__main__":
    main()
