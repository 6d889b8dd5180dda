"""The `paper` profile (1024 x 256, batch 16, Table 4) is for a GPU, but one of its training steps must
fit in the memory of the project's 2-core, 24 GiB machine, so that a smoke run of it is possible here."""
import subprocess
import sys

import pytest

STEP = """
import resource, time
import numpy as np
from dspic_lib._tf import keras
from dspic_lib import models
from dspic_lib.config import get_profile
from dspic_lib.pipeline.inputs import batches, train_one_epoch
P = get_profile("paper", use_env=False)
model = models.build("dSPIC-AM", input_shape=P.input_shape, seed=0)
model.compile(optimizer=keras.optimizers.Adam(P.learning_rate), loss="categorical_crossentropy")
X = np.random.default_rng(0).random((P.batch_size, P.rows, P.cols), dtype=np.float32)
y = np.eye(3, dtype=np.float32)[np.arange(P.batch_size) % 3]
t0 = time.perf_counter()
loss = train_one_epoch(model, batches(X, y, batch_size=P.batch_size, shuffle=False))
print(loss, time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


@pytest.mark.slow      # a 1024 x 256 training step on a CPU: about half a minute
def test_one_paper_profile_training_step_fits_in_memory_on_cpu():
    out = subprocess.run([sys.executable, "-c", STEP], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    loss, seconds, peak_mb = (float(v) for v in out.stdout.split()[-3:])
    assert loss == loss and loss > 0                      # a finite cross-entropy
    assert peak_mb < 12 * 1024, f"one step took {peak_mb:.0f} MB"
    print(f"paper profile, one step of batch 16 at 1024 x 256: {seconds:.1f} s, peak RSS {peak_mb:.0f} MB")
