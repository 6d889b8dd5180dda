"""What each chapter computes, what every chapter does first, and the papermill + Jupyter Book build."""
