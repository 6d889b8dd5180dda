"""The data layer: whole-body NM DICOM and LabelMe files in and out, the cohort table, the phantom.

    from dspic_lib.data import scan, load_all
    from dspic_lib.pipeline.datadir import ensure_cohort
    cohort = scan(ensure_cohort("smoke"))
    cohort.table      # one row per image: patient, view, path, frame, label, sex, age, lesions, ...
    cohort.problems   # (file, problem) for everything that could not be used
    cohort.skipped    # (file, reason) for every file not read: hidden, DICOMDIR, compressed, picture, ...
"""
from .cohort import Cohort, iter_pixels, load_all, load_pixels, pseudonym, scan
from .labelme import Lesion, class_of

__all__ = ["Cohort", "Lesion", "class_of", "iter_pixels", "load_all", "load_pixels", "pseudonym", "scan"]
