"""Helper package of the open course on recurrent neural networks.

Modules: ``env`` (device, seeding, fast/full mode), ``data`` (corpora), ``plotting``,
``checks`` (the visible checks that exercise notebooks call).
"""
__version__ = "0.1.0"
