"""Optimization mode (Gatys et al.): :mod:`~gluon_style.optimization.gatys`
(``stylize``, ``stylize_steps``), :mod:`~gluon_style.optimization.losses` (the
perceptual loss, also what fast mode trains on) and
:mod:`~gluon_style.optimization.optimizer` (the loop: gd, adam, lbfgs)."""
