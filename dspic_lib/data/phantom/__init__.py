"""The synthetic whole-body bone-scan cohort (spec: ../shared/design/PHANTOM.md).

The paper's 768 scans are private. This generator writes a cohort with the same structure (384
patients, anterior + posterior views, classes N 334 / M 174 / A 252 / M&A 8 images) in the formats a
hospital hands over: NM DICOM files and LabelMe JSON beside them. It is a stand-in for exercising the
method, not a claim about clinical performance.

How an image is made (phantom v8)
---------------------------------
1. A parametric patient in body units (fractions of the height; x > 0 is the patient's left), one
   function per group in :mod:`.anatomy`: soft-tissue envelope (head, neck, trunk, arms, hands,
   legs, feet), kidneys and bladder, skull, spine (cervical/thoracic/lumbar vertebrae, sacrum,
   sacroiliac joints), pelvis, ribs, shoulder girdle (sternum, clavicles, scapulae), arms, hips and
   femora, knees, lower legs and feet. Per patient: height, breadth, girth, pose (arm abduction 0-8
   degrees, leg abduction, tilt, trunk rotation foreshortening one side, head tilt, rib slope and
   spacing), left/right asymmetry, position on the table. v8 gave the bones shape: cortical long
   bones (hollow tubes) widening into metaphyses, ribs that curve down and fade from the
   costovertebral joint to the costal cartilage, a calvarial rim with orbits, maxilla, zygomatic
   arches and mandible, five rays in each hand and foot, a neck below the head and a trunk cut square
   at the shoulders (v7's trunk rose as a dome from the shoulders to the head).
2. Uptake. Bones are given per ~1 cm of bone chord relative to soft tissue (vertebrae 8-8.5, pelvis
   7-8.5, sacrum 8.5, ribs ~3.4 fading to ~1.3 in front, long-bone shafts 3.2-3.4 with 4-4.4 at the
   metaphyses, calvarium 6.5); kidneys ~7 and urine in the bladder ~60 (lognormal, log-sd 0.3
   between patients; centre 9 cm behind the skin), so that the bladder or a kidney is the hottest
   spot of most scans in both views, as in real bone scans (v7: bladder 32, log-sd 0.45). Soft tissue is drawn with the activity of its own
   thickness T: the attenuated line integral (1 - exp(-mu T)) / mu times a soft-tissue
   concentration (``anatomy.SOFT_TISSUE_UPTAKE``), so trunk, arms and legs form the visible envelope
   of a real scan (phantom v6 drew it ~25x too faint: a skeleton on an empty field). Each structure
   has the projected-thickness profile of a cylinder or ellipsoid.
3. Attenuation and blur (:mod:`.acquisition`). Each structure has a depth (fraction of the local
   body thickness from the anterior skin); counts seen from a view are attenuated by
   exp(-mu_water * depth to the detector) (mu = 0.15/cm) and by the structure's own half-thickness
   of bone (mu = 0.27/cm). The collimator point-spread function is a Gaussian whose FWHM grows with
   the distance d to the detector, FWHM = 6 mm + 0.55 mm/cm * d: 7.7 / 11.0 / 15.4 mm at the three
   depth bins (d = 3 / 9 / 17 cm), i.e. 3.4 / 4.9 / 6.8 pixels of 2.26 mm. The posterior view is
   seen from behind, hence mirrored left-right.
4. Geometry: 1024 x 256 pixels of 2.26 mm (the GE whole-body pixel of the real scans below; a
   58 x 231 cm field), so an adult of 1.6-1.8 m fills 70-80 % of the field length as in a real
   whole-body acquisition. Counts are scaled to about 1.5 million per view (varying per patient),
   then Poisson noise, then 16-bit storage.
5. Confounders drawn independently of the class: injection-site hot spot, urine contamination,
   bladder filling and activity, kidneys, breast attenuation (women, anterior view), degenerative
   uptake increasing with age. (:mod:`.lesions`)
6. Lesions: metastases are focal hot spots from faint to intense, 0.9-2.0 cm in radius: uptake over
   the local bone 1 + X, X lognormal (median 1, log-sd 0.5, clipped to 0.6-6) times the knob's
   strength, i.e. median 3.7x, 10-90 % 2.4-6.2x at the default knob
   (:data:`.lesions.METASTASIS_EXCESS_MEDIAN`; site-weighted: vertebrae, ribs, femur, pelvis most
   frequent; 1 + Poisson(1.6 x strength) per M patient; occasional cold lesion or superscan). With it a lesion outshines the bladder and
   kidneys in a minority of M scans (23 % of the cpu cohort's M images; v7: 62-73 %). Arthritis is milder (~2x
   nominal), periarticular, mostly knees, often symmetric. M&A has both. Normal joints show only
   mild symmetric uptake (degenerative change, both sides, 0.2-0.45x the joint's bone). (:mod:`.lesions`)
7. One difficulty knob scales lesion contrast and count and the confounder rate. Its default
   (:data:`DEFAULT_DIFFICULTY`) was measured, not assumed (see the comment at
   :data:`DEFAULT_DIFFICULTY` in :mod:`.plan` for the measurements).

Realism (:mod:`.realism`): against pydicom's two real GE whole-body Tc-99m MDP scans, on images
divided by their maximum with the body = pixels above 5 % of it, v8 gives over 96 patients (medians
anterior / posterior, 10 % quantile in brackets): body coverage 0.32 / 0.32 (0.28 / 0.29),
hottest-1 % share 0.043 / 0.041 (0.033 / 0.033), spine-to-body 1.18 / 1.20 (1.12 / 1.14), profile
correlation 0.93 / 0.92 (0.92 / 0.91): every median within its band in both views. Open gap: 22 %
of anterior and 9 % of posterior images have one statistic out of its band, mostly the hottest-1 %
share above 0.053 (a hot, small bladder; 13 % of images), some coverage below 0.27 (5 %) or profile
r below 0.9 (3 %). v7 gave over 40 patients (medians
and 10-90 % range, anterior / posterior; the real scans in brackets): body coverage 0.37 / 0.38
(0.30-0.42 / 0.28-0.44; real 0.362-0.367), hottest-1 % share of body counts 0.038 / 0.033
(0.030-0.049 / 0.029-0.040; real 0.040-0.043), spine-to-body 1.23 / 1.22 (1.18-1.31 / 1.17-1.30;
real 1.31-1.35), body-axis profile correlation with the real mean profile 0.93 / 0.93 (0.91-0.94 /
0.92-0.94; the two real scans with each other: 0.98). Phantom v6: coverage 0.13-0.17, r 0.65-0.78.
Open gap: about 15-20 % of images (faint bladder, small patients) fall just below the allowed
minimum of the hottest-1 % share (0.030) or of the coverage (0.27).

Class, sex and age are drawn independently; total counts, bladder, body size, age and sex carry no
information about the class (chapter 01 checks this with a classifier).

The same seed gives byte-identical files: every patient draws from its own generator seeded by
(seed, patient index), UIDs and dates are derived from the seed, nothing depends on the clock or on
the number of worker processes. (:mod:`.writer`)
"""
from ...errors import DataError
from . import realism
from .acquisition import DEPTH_BINS_CM, MU_BONE, MU_WATER, ROOM_BACKGROUND, Canvas
from .lesions import ARTHRITIS_SITES, METASTASIS_SITES
from .plan import (
                   DEFAULT_DIFFICULTY,
                   PAPER_PATIENT_CLASSES,
                   PAPER_SEXES,
                   PHANTOM_VERSION,
                   TOTAL_COUNTS,
                   TRUTH_CSV,
                   PatientPlan,
                   PhantomConfig,
                   plan_cohort,
                   scaled_counts,
)
from .render import render_patient
from .writer import (
                   FILE_LAYOUT,
                   SYNTHETIC_MARKER,
                   config_dict,
                   generate,
                   is_synthetic,
                   marker_name,
                   read_marker,
                   write_patient,
)

__all__ = ["ARTHRITIS_SITES", "Canvas", "DEFAULT_DIFFICULTY", "DEPTH_BINS_CM", "DataError", "FILE_LAYOUT", "METASTASIS_SITES",
           "MU_BONE", "MU_WATER", "PAPER_PATIENT_CLASSES", "PAPER_SEXES", "PHANTOM_VERSION", "PatientPlan",
           "PhantomConfig", "ROOM_BACKGROUND", "SYNTHETIC_MARKER", "TOTAL_COUNTS", "TRUTH_CSV", "config_dict",
           "generate", "is_synthetic", "marker_name", "plan_cohort", "read_marker", "realism", "render_patient",
           "scaled_counts", "write_patient"]
