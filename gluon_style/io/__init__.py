"""Pictures and files: :mod:`~gluon_style.io.images` (loading, resizing,
normalization) and :mod:`~gluon_style.io.fileio` (atomic writes, digests)."""
