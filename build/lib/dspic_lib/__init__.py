"""dspic_lib: the library behind the dSPIC companion book.

Importing the package keeps TensorFlow's C++ start-up chatter out of notebook outputs; it never
changes numerical behaviour.
"""
import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
