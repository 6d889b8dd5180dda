"""The synthetic whole-body bone-scan cohort (spec: ../shared/design/PHANTOM.md).

The paper's 768 scans are private. This generator writes a cohort with the same structure (384
patients, anterior + posterior views, classes N 334 / M 174 / A 252 / M&A 8 images) in the formats a
hospital hands over: NM DICOM files and LabelMe JSON beside them. It is a stand-in for exercising the
method, not a claim about clinical performance.

How an image is made
--------------------
1. A parametric skeleton in body units (fractions of the patient's height; x > 0 is the patient's
   left): skull, cervical/thoracic/lumbar vertebrae, ribs, sternum, clavicles, scapulae, pelvis,
   sacrum, long bones, joints, hands and feet, plus soft tissue, kidneys and bladder. Per patient:
   height, breadth, girth, pose (arm and leg abduction, tilt), left/right asymmetry, table position.
   (:mod:`.anatomy`)
2. Each structure has an uptake relative to soft tissue (vertebrae ~7.5, pelvis ~9, ribs and shafts
   ~3-4) and is drawn with the projected-thickness profile of a cylinder or ellipsoid.
3. Each structure has a depth (fraction of the local body thickness, from the anterior skin). Counts
   seen from a view are attenuated by exp(-mu_water * depth_to_detector) (mu = 0.15/cm) and by the
   structure's own half-thickness of bone (mu = 0.27/cm); the image is blurred with a collimator
   sigma that grows with the distance to the detector (three depth bins per view). The posterior
   view is seen from behind, hence mirrored left-right. (:mod:`.acquisition`)
4. Counts are scaled to about 1.5 million per view (varying per patient), then Poisson noise, then
   16-bit storage.
5. Confounders drawn independently of the class: injection-site hot spot, urine contamination,
   bladder filling and activity, kidneys, breast attenuation (women, anterior view), degenerative
   uptake increasing with age. (:mod:`.lesions`)
6. Lesions: metastases are focal hot spots, 3-6x the local bone at the nominal knob (site-weighted:
   vertebrae, ribs, femur, pelvis most frequent; several per patient; occasional cold lesion or
   superscan). Arthritis is milder (~2x nominal), periarticular, mostly knees, often symmetric. M&A
   has both. (:mod:`.lesions`)
7. One difficulty knob scales lesion contrast and count and the confounder rate. Its default
   (:data:`DEFAULT_DIFFICULTY`) was measured, not assumed (see the comment at
   :data:`DEFAULT_DIFFICULTY` in :mod:`.plan` for the measurements).

Class, sex and age are drawn independently; total counts, bladder, body size, age and sex carry no
information about the class (chapter 01 checks this with a classifier).

The same seed gives byte-identical files: every patient draws from its own generator seeded by
(seed, patient index), UIDs and dates are derived from the seed, nothing depends on the clock or on
the number of worker processes. (:mod:`.writer`)
"""
from ...errors import DataError
from .acquisition import DEPTH_BINS_CM, MU_BONE, MU_WATER, ROOM_BACKGROUND, Canvas
from .lesions import ARTHRITIS_SITES, METASTASIS_SITES
from .plan import (DEFAULT_DIFFICULTY, PAPER_PATIENT_CLASSES, PAPER_SEXES, PHANTOM_VERSION, TOTAL_COUNTS,
                   TRUTH_CSV, PatientPlan, PhantomConfig, plan_cohort, scaled_counts)
from .render import render_patient
from .writer import (SYNTHETIC_MARKER, config_dict, generate, is_synthetic, marker_name, read_marker,
                     write_patient)

__all__ = ["ARTHRITIS_SITES", "Canvas", "DEFAULT_DIFFICULTY", "DEPTH_BINS_CM", "DataError", "METASTASIS_SITES",
           "MU_BONE", "MU_WATER", "PAPER_PATIENT_CLASSES", "PAPER_SEXES", "PHANTOM_VERSION", "PatientPlan",
           "PhantomConfig", "ROOM_BACKGROUND", "SYNTHETIC_MARKER", "TOTAL_COUNTS", "TRUTH_CSV", "config_dict",
           "generate", "is_synthetic", "marker_name", "plan_cohort", "read_marker", "render_patient",
           "scaled_counts", "write_patient"]
