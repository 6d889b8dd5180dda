"""What a run is worth: metrics, intervals and tests, verdicts beside the paper, Grad-CAM."""
