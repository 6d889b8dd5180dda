"""Import TensorFlow and Keras once, without the C++ start-up banner on stderr.

TensorFlow 2.21 prints oneDNN notices through absl before its logging is configured, so
``TF_CPP_MIN_LOG_LEVEL`` cannot silence them and they would land in every chapter's output. The file
descriptor 2 is pointed at /dev/null only while TensorFlow loads and initialises its devices;
Python-level warnings and errors after that are untouched. Use ``from dspic_lib._tf import tf, keras``.
"""
from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def _quiet_fd2():
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some embedded interpreters): nothing to hide
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with _quiet_fd2():
    import keras  # noqa: E402
    import tensorflow as tf  # noqa: E402

    tf.config.list_physical_devices()
    tf.constant(0.0) + 1.0  # creates the eager context, which logs the second notice

__all__ = ["tf", "keras"]
