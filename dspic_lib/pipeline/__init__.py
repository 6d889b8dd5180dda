"""The pipeline from a cohort to trained runs: Eq. 1, the split, D2/D3, tf.data, training, the named experiments."""
