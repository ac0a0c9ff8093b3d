"""Training photos for fast mode: a folder of images as random square crops.

The order of the photos and every crop are a function of (seed, step) alone, so
a run resumed from a checkpoint sees exactly the batches an uninterrupted run
would have, however many DataLoader workers there are.
"""
import logging

import numpy as np
from mxnet import gluon

from ..io import images
from ..errors import Error

log = logging.getLogger("gluon_style")


class PhotoFolder(gluon.data.Dataset):
    """Every readable image under `directory` (recursively), as training crops.

    ``dataset[(index, seed)]`` is the photo `index` cropped at random (from
    `seed`) to a `size` x `size` square, as a normalized float32 (3, size, size)
    array: the shorter side is scaled to ``size * U(1, max_zoom)``, a square is
    cut at a random place and flipped left-right half the time.
    Unreadable files are left out when the folder is read, with a count.
    """

    def __init__(self, directory, *, size=256, max_zoom=1.25):
        paths = images.list_images(directory, role="dataset folder")
        self.paths, skipped = [], 0
        for path in paths:
            try:
                img = images.load_image(path, role="photo")
            except Error:
                skipped += 1
                continue
            if min(img.size) >= 16:
                self.paths.append(path)
        if skipped:
            log.warning("dataset %s: skipped %d unreadable file(s) of %d",
                        directory, skipped, len(paths))
        if not self.paths:
            raise Error("dataset %s: no readable images" % directory)
        self.size, self.max_zoom = int(size), float(max_zoom)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, key):
        index, seed = key
        rng = np.random.RandomState(seed)
        img = images.load_image(self.paths[index], role="photo")
        scale = self.size * rng.uniform(1.0, self.max_zoom) / min(img.size)
        w = max(self.size, round(img.size[0] * scale))
        h = max(self.size, round(img.size[1] * scale))
        img = images.resize_to(img, w, h)
        left, top = rng.randint(0, w - self.size + 1), rng.randint(0, h - self.size + 1)
        img = img.crop((left, top, left + self.size, top + self.size))
        arr = np.asarray(img, dtype=np.float32)
        if rng.rand() < 0.5:
            arr = arr[:, ::-1]
        return images.normalize_np(arr)


class StepSampler(gluon.data.Sampler):
    """Batches of ``(index, crop seed)`` for steps ``start .. stop-1``.

    Each epoch is a permutation drawn from ``(seed, epoch)``; the crop seed of
    the j-th photo of step s is a function of ``(seed, s, j)``.
    """

    def __init__(self, n, batch_size, *, seed, start, stop):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.start, self.stop = start, stop

    def _order(self, epoch):
        return np.random.RandomState([self.seed, epoch]).permutation(self.n)

    def __iter__(self):
        for step in range(self.start, self.stop):
            batch = []
            for j in range(self.batch_size):
                k = step * self.batch_size + j
                index = int(self._order(k // self.n)[k % self.n])
                rs = np.random.RandomState([self.seed, step, j])
                batch.append((index, int(rs.randint(2 ** 31))))
            yield batch

    def __len__(self):
        return max(0, self.stop - self.start)


def photo_loader(dataset, *, batch_size, seed, start, stop, workers=0):
    """A DataLoader of (batch, 3, size, size) normalized crops, one batch per step.

    Workers are threads: forked worker processes crash MXNet once its OpenMP
    runtime is up, and decoding and resizing release the GIL anyway.
    """
    sampler = StepSampler(len(dataset), batch_size, seed=seed, start=start, stop=stop)
    return gluon.data.DataLoader(dataset, batch_sampler=sampler, num_workers=workers,
                                 thread_pool=True)
