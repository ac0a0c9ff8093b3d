"""Training photos for fast mode: a folder of images as random square crops.

The order of the photos and every crop are a function of (seed, step) alone, so
a run resumed from a checkpoint sees exactly the batches an uninterrupted run
would have, however many DataLoader workers there are.

Distributed runs shard the photos: of the sorted file list, worker `r` of `n`
keeps files ``r, r + n, r + 2n...`` and draws its part of every batch from them
alone (the same rule, seeded with ``(seed, n, r)``). One process can read all
`n` shards (``shards=range(n)``): its batches are the workers' batches end to
end, which is how a distributed run is reproduced, or continued, on one host.
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

    def __init__(self, directory, *, size=256, max_zoom=1.25, shards=None, num_shards=1):
        listed = images.list_images(directory, role="dataset folder")
        self.num_shards = int(num_shards)
        ranks = [0] if shards is None else [int(r) for r in shards]
        if self.num_shards < 1 or not ranks or not all(0 <= r < self.num_shards for r in ranks):
            raise Error("dataset shards %s of %d: each must be in 0..%d"
                        % (ranks, self.num_shards, self.num_shards - 1))
        #: (first index in ``paths``, photo count, shard) of each shard read
        self.paths, self.shards, skipped, total = [], [], 0, 0
        for r in ranks:
            first = len(self.paths)
            paths = listed[r::self.num_shards]  # before the readability check: the
            total += len(paths)                 # shards never depend on a file's content
            for path in paths:
                try:
                    img = images.load_image(path, role="photo")
                except Error:
                    skipped += 1
                    continue
                if min(img.size) >= 16:
                    self.paths.append(path)
            if len(self.paths) == first:
                raise Error("dataset %s: no readable images%s" % (
                    directory, "" if self.num_shards == 1 else " in shard %d of %d (%d files)"
                    % (r, self.num_shards, len(paths))))
            self.shards.append((first, len(self.paths) - first, r))
        if skipped:
            log.warning("dataset %s: skipped %d unreadable file(s) of %d",
                        directory, skipped, total)
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

    With `shards` (:attr:`PhotoFolder.shards` of `num_shards`), a batch is one
    part per shard, end to end: the part of shard r comes from its photos alone,
    by the same rule seeded with ``(seed, num_shards, r)``.
    """

    def __init__(self, n, batch_size, *, seed, start, stop, shards=None, num_shards=1):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.start, self.stop = start, stop
        if shards is None or num_shards == 1:
            self.parts = [(0, n, [seed], batch_size)]
        else:
            if batch_size % len(shards):
                raise Error("batch of %d does not split over %d shards"
                            % (batch_size, len(shards)))
            self.parts = [(first, count, [seed, num_shards, r], batch_size // len(shards))
                          for first, count, r in shards]

    @staticmethod
    def _order(key, n, epoch):
        return np.random.RandomState(key + [epoch]).permutation(n)

    def __iter__(self):
        for step in range(self.start, self.stop):
            batch = []
            for first, n, key, size in self.parts:
                for j in range(size):
                    k = step * size + j
                    index = first + int(self._order(key, n, k // n)[k % n])
                    rs = np.random.RandomState(key + [step, j])
                    batch.append((index, int(rs.randint(2 ** 31))))
            yield batch

    def __len__(self):
        return max(0, self.stop - self.start)


def photo_loader(dataset, *, batch_size, seed, start, stop, workers=0):
    """A DataLoader of (batch, 3, size, size) normalized crops, one batch per step.

    Workers are threads: forked worker processes crash MXNet once its OpenMP
    runtime is up, and decoding and resizing release the GIL anyway.
    """
    sampler = StepSampler(len(dataset), batch_size, seed=seed, start=start, stop=stop,
                          shards=getattr(dataset, "shards", None),
                          num_shards=getattr(dataset, "num_shards", 1))
    return gluon.data.DataLoader(dataset, batch_sampler=sampler, num_workers=workers,
                                 thread_pool=True)
