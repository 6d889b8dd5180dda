"""The patient: a parametric skeleton, soft tissue and organs, in body units.

Positions are fractions of the patient's height (``uy`` from the vertex down, ``ux`` across, > 0 the
patient's left); :class:`Body` turns them into pixels of the anterior view. Every bone group has its
own drawing function; each deposits structures on the acquisition :class:`~.acquisition.Canvas`
(uptake relative to soft tissue, depth as a fraction of the local body thickness from the anterior
skin, own bone thickness in cm for self-attenuation) and records the places where a lesion can sit
(:class:`Site`)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .acquisition import MU_WATER, Canvas

# anterior-posterior body thickness (cm) along the body axis (fraction of height)
_THICK_Y = np.array([0.0, 0.03, 0.11, 0.14, 0.18, 0.25, 0.35, 0.45, 0.50, 0.56, 0.70, 0.74, 0.90, 0.95, 1.0])
_THICK_CM = np.array([13., 19., 18., 12., 19., 21., 20., 21., 19., 15., 13., 11., 10., 8., 9.])


@dataclass
class Site:
    """A place where a lesion can sit: body-unit position, depth, host uptake and size."""
    name: str
    uy: float
    ux: float
    z: float
    thick: float
    host: float
    r_cm: float
    side: int = 0          # -1 right, +1 left, 0 midline
    limb_b: float | None = None


@dataclass
class Body:
    H: float               # height in pixels
    top: float             # row of the vertex
    mid: float             # column of the midline
    tilt: float            # radians
    breadth: float
    sex: str
    girth: float
    rot: float = 0.0       # trunk rotation about the body axis: one side foreshortened (set by draw_pose)
    sites: dict[str, list[Site]] = field(default_factory=dict)

    def b(self, uy: float) -> float:
        """Breadth factor at a level: broader shoulders in men, broader hips in women."""
        sh = 0.05 if self.sex == "M" else -0.03
        pel = 0.05 if self.sex == "F" else -0.02
        return self.breadth * (1 + sh * math.exp(-((uy - 0.22) / 0.1) ** 2)
                               + pel * math.exp(-((uy - 0.46) / 0.05) ** 2))

    def px(self, uy: float, ux: float, b: float | None = None) -> tuple[float, float]:
        """Body units -> (row, col) in the anterior view (patient's left on the image right)."""
        y = (uy - 0.5) * self.H
        x = ux * self.H * (self.b(uy) if b is None else b) * (1.0 - self.rot * (1.0 if ux > 0 else -1.0))
        ct, st = math.cos(self.tilt), math.sin(self.tilt)
        return (self.top + 0.5 * self.H + y * ct + x * st, self.mid + x * ct - y * st)

    def r(self, u: float) -> float:
        """Body units -> pixels."""
        return u * self.H

    def thick(self, uy: float) -> float:
        return float(np.interp(uy, _THICK_Y, _THICK_CM)) * self.girth

    def add_site(self, site: Site) -> None:
        self.sites.setdefault(site.name, []).append(site)


@dataclass
class Pose:
    """Per-patient variation of the skeleton: bone uptake, left/right asymmetry, limb positions."""
    bone: float                        # the patient's bone-to-soft-tissue ratio
    scale: float                       # bone uptake multiplier actually drawn (x2.5 in a superscan)
    asym: dict[int, float]
    arm_abd: dict[int, float]
    leg_abd: dict[int, float]
    scoliosis: float
    arm_thick: float                   # cm
    head_shift: float = 0.0            # lateral tilt of the head (body units at the vertex)
    rib_slope: tuple = ()              # per rib pair: how steeply it runs down (1 = nominal)
    rib_gap: tuple = ()                # per rib pair: offset of its level (body units)
    arm: dict[int, list] = field(default_factory=dict)   # body-unit points shoulder .. hand
    leg: dict[int, list] = field(default_factory=dict)   # body-unit points hip .. foot


def draw_pose(body: Body, rng: np.random.Generator, superscan: bool) -> Pose:
    bone = float(rng.lognormal(0.0, 0.18))
    asym = {s: float(rng.normal(1.0, 0.05)) for s in (-1, 1)}
    # pose: arms from along the body to ~8 degrees out, legs slightly apart, a little trunk rotation
    # (one side foreshortened) and head tilt
    arm_abd = {s: math.radians(float(rng.uniform(0, 8))) for s in (-1, 1)}
    leg_abd = {s: math.radians(float(rng.uniform(-1, 5))) for s in (-1, 1)}
    scol = float(rng.normal(0, 0.004))
    body.rot = float(rng.normal(0.0, 0.03))
    pose = Pose(bone, bone * (2.5 if superscan else 1.0), asym, arm_abd, leg_abd, scol, 8.5 * body.girth,
                head_shift=float(rng.normal(0.0, 0.006)),
                rib_slope=tuple(float(v) for v in rng.normal(1.0, 0.1, 12)),
                rib_gap=tuple(float(v) for v in rng.normal(0.0, 0.0015, 12)))
    shoulder = {s: (0.182, s * 0.105 * body.b(0.182)) for s in (-1, 1)}
    hip = {s: (0.478, s * 0.058 * body.b(0.478)) for s in (-1, 1)}
    for s in (-1, 1):
        pose.arm[s] = _limb(shoulder[s], [(0.0, 0.003), (0.175, 0.01), (0.18, 0.01), (0.325, 0.014),
                                          (0.335, 0.015), (0.39, 0.015)], arm_abd[s], s)
        pose.leg[s] = _limb(hip[s], [(0.0, 0.0), (0.235, -0.01), (0.245, -0.01), (0.48, -0.018),
                                     (0.5, -0.012)], leg_abd[s], s)
    return pose


def _limb(origin, pts, ang, s):
    """Points of a limb hanging from ``origin``, swung away from the midline by ``ang``."""
    oy, ox = origin
    ca, sa = math.cos(ang), math.sin(ang)
    return [(oy + dy * ca - s * dx * sa, ox + s * dx * ca + s * dy * sa) for dy, dx in pts]


def _site(body: Body, pose: Pose, name, uy, ux, z, thick, host, r_cm, side=0, limb_b=None):
    body.add_site(Site(name, uy, ux, z, thick, host * pose.scale, r_cm, side, limb_b))


# ------------------------------------------------------------------------ soft tissue and organs
# Soft-tissue activity per unit volume, in the units of the bone uptakes below (which are per ~1 cm
# of bone chord). Set once against the two real GE scans (realism.py): body coverage, spine-to-body
# and the body-axis profile; with it arms and legs stay above 5 % of the bladder's peak and the trunk
# is about a third of the spine's brightness, as in the real images. v6's soft tissue was ~25x fainter.
SOFT_TISSUE_UPTAKE = 0.42
# Urine in the bladder (median; lognormal sd 0.6 between patients): the hottest spot of most real
# anterior scans. v6 used 9, which left the bladder fainter than the knees once the collimator blur
# was realistic.
BLADDER_UPTAKE = 60.0
KIDNEY_UPTAKE = 7.0       # per ~1 cm, like the bones; v6 used 2.5 (kidneys are ~5 cm thick)
BLADDER_SD = 0.3         # lognormal sd between patients
KIDNEY_SD = 0.3


def slab(thick_cm: float) -> float:
    """Amplitude that, deposited at mid-depth of a uniform slab of thickness ``thick_cm``, gives the
    slab's attenuated line integral (1 - exp(-mu T)) / mu seen from either side."""
    mu = MU_WATER
    return (1.0 - math.exp(-mu * thick_cm)) / mu * math.exp(mu * thick_cm / 2.0)


def soft_tissue(cv: Canvas, body: Body, pose: Pose) -> None:
    """The soft-tissue envelope: head, neck, trunk, arms, hands, legs and feet, each with the
    projected-thickness profile of an ellipsoid or a tapering cylinder and the activity of its
    local thickness (:func:`slab`)."""
    P, r, T0 = body.px, body.r, body.thick
    c = SOFT_TISSUE_UPTAKE
    # the brain takes up little MDP (blood-brain barrier): the head's soft tissue is scalp and face
    hs = pose.head_shift
    cv.ellipse(P(0.065, hs), r(0.052), r(0.068), body.tilt, 1.0 * c * slab(T0(0.065)), 0.5, T0(0.065))
    # the neck: narrower than the head, widening into the trapezius slope of the shoulders
    cv.chain([P(0.115, hs * 0.5), P(0.15, 0)], [r(0.03), r(0.034)], c * slab(T0(0.15)), 0.5, T0(0.15))
    torso = [(0.138, 0.075), (0.158, 0.13), (0.185, 0.135), (0.27, 0.118), (0.33, 0.104), (0.40, 0.096),
             (0.45, 0.1), (0.47, 0.09)]
    cv.chain([P(uy, 0) for uy, _ in torso], [r(hw * body.b(uy) * body.girth ** 0.5) for uy, hw in torso],
             c * slab(T0(0.35)), 0.5, T0(0.35), flat_start=True)
    for s in (-1, 1):
        ap = [P(y, x, 1.0) for y, x in pose.arm[s]]
        lp = [P(y, x, 1.0) for y, x in pose.leg[s]]
        g = body.girth ** 0.5
        # one chain per limb (overlapping tubes would double the tissue at elbows and knees)
        cv.chain(ap[:5], [r(0.04 * g), r(0.03 * g), r(0.029 * g), r(0.022 * g), r(0.021 * g)],
                 c * slab(pose.arm_thick), 0.5, pose.arm_thick)
        cv.ellipse(P(pose.arm[s][5][0] - 0.01, pose.arm[s][5][1], 1.0), r(0.022), r(0.045), 0.0,
                   c * slab(4.0), 0.5, 4.0)                                   # hand
        thigh_top = P(pose.leg[s][0][0] + 0.045, pose.leg[s][0][1] - s * 0.008, 1.0)   # below the torso's end
        cv.chain([thigh_top, lp[1], lp[3]], [r(0.037 * g), r(0.032 * g), r(0.022 * g)], c * slab(T0(0.7)), 0.5,
                 T0(0.7))
        cv.ellipse(P(pose.leg[s][4][0] + 0.008, pose.leg[s][4][1] + s * 0.006, 1.0), r(0.026), r(0.03),
                   s * 0.2, c * slab(8.0), 0.5, 8.0)                          # foot


def organs(cv: Canvas, body: Body, rng: np.random.Generator, superscan: bool) -> dict:
    """Kidneys (posterior) and bladder (anterior, often the hottest spot); a superscan starves both."""
    P, r, T0 = body.px, body.r, body.thick
    kid = float(rng.lognormal(math.log(KIDNEY_UPTAKE), KIDNEY_SD)) * (0.15 if superscan else 1.0)
    boxes = []
    for s in (-1, 1):
        centre, ax, ay = P(0.335 + 0.008 * (s > 0), s * 0.05), r(0.019), r(0.031)
        cv.ellipse(centre, ax, ay, s * 0.3 + body.tilt, kid, 0.72, T0(0.34))
        boxes.append(_organ_box(centre, ax, ay))
    fill = float(rng.uniform(0.35, 1.0))
    bladder_amp = float(rng.lognormal(math.log(BLADDER_UPTAKE), BLADDER_SD)) * (0.15 if superscan else 1.0)
    centre, ax, ay = P(0.462 - 0.01 * fill, 0), r(0.013 + 0.016 * fill), r(0.010 + 0.013 * fill)
    cv.ellipse(centre, ax, ay, body.tilt, bladder_amp, 0.45, T0(0.46))   # centre ~9 cm behind the skin
    boxes.append(_organ_box(centre, ax, ay))
    return {"kidney": kid, "bladder": bladder_amp, "bladder_fill": fill,
            "organ_boxes": "|".join(" ".join(f"{v:.1f}" for v in b) for b in boxes)}


# how far the collimator blur spreads an organ's counts beyond its outline (pixels): about one FWHM at
# the deepest bin (6.8 px of 2.26 mm)
ORGAN_MARGIN_PX = 6.0


def _organ_box(centre, ax, ay) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) in the anterior view (x = column, y = row, as LabelMe writes boxes): the
    organ's outline (its larger semi-axis either way) plus :data:`ORGAN_MARGIN_PX`."""
    cy, cx = centre
    ext = max(ax, ay) + ORGAN_MARGIN_PX
    return (cx - ext, cy - ext, cx + ext, cy + ext)


# ---------------------------------------------------------------------------------- the skeleton
def skull(cv: Canvas, body: Body, pose: Pose) -> None:
    """Calvarium (a shell), skull base, face and mandible."""
    P, r, T0, B = body.px, body.r, body.thick, pose.scale
    hs = pose.head_shift
    # calvarium: a shell ~1 cm thick, so the rim is brighter than the vault's centre
    cv.ellipse(P(0.062, hs), r(0.046), r(0.06), body.tilt, 6.5 * B, 0.5, T0(0.06), 0.8, shell=0.86)
    cv.ellipse(P(0.094, hs), r(0.036), r(0.011), body.tilt, 3.0 * B, 0.55, T0(0.09), 1.0)   # skull base
    for s in (-1, 1):   # orbital rims and the zygomatic arches
        cv.ellipse(P(0.079, hs + s * 0.018), r(0.011), r(0.01), 0, 3.2 * B, 0.12, T0(0.08), 0.5, shell=0.6)
        cv.chain([P(0.088, hs + s * 0.025), P(0.092, hs + s * 0.042)], r(0.0035), 3.0 * B, 0.4, T0(0.09), 0.5)
    cv.ellipse(P(0.095, hs), r(0.012), r(0.014), 0, 3.4 * B, 0.12, T0(0.095), 0.5)          # maxilla, nose
    cv.chain([P(0.092, hs - 0.034), P(0.118, hs - 0.025), P(0.128, hs), P(0.118, hs + 0.025),
              P(0.092, hs + 0.034)], r(0.0065), [6.0 * B, 4.5 * B, 5.0 * B, 4.5 * B, 6.0 * B], 0.3,
             T0(0.11), 1.0)                                                                   # mandible
    for k in range(16):
        a = math.pi * (0.15 + 0.7 * k / 15)
        _site(body, pose, "skull", 0.062 - 0.052 * math.cos(a) * 0.95, 0.041 * math.sin(a) * (1 if k % 2 else -1),
              0.5, T0(0.06), 6.0, 1.0)


def spine(cv: Canvas, body: Body, pose: Pose) -> None:
    """7 cervical, 12 thoracic, 5 lumbar vertebral bodies with their pedicles, sacrum, sacroiliac joints."""
    P, r, T0, B = body.px, body.r, body.thick, pose.scale
    levels = ([(0.105 + 0.0105 * i, 0.0095, 0.0042, 5.0, 0.62, 1.5) for i in range(7)]
              + [(0.182 + 0.0132 * i, 0.0125 + 0.0003 * i, 0.0058, 8.0, 0.72, 3.0) for i in range(12)]
              + [(0.342 + 0.0185 * i, 0.0175, 0.0078, 8.5, 0.70, 3.5) for i in range(5)])
    for k, (uy, hw, hh, amp, z, bc) in enumerate(levels):
        x = spine_x(pose, uy)
        cv.ellipse(P(uy, x), r(hw * 1.05), r(hh), body.tilt, amp * B, z, T0(uy), bc)
        if k >= 7:   # pedicles / facets: paired small blobs
            for s in (-1, 1):
                cv.ellipse(P(uy - 0.002, x + s * hw * 0.95), r(0.004), r(0.004), 0,
                           amp * 0.5 * B, z + 0.08, T0(uy), 1.0)
        _site(body, pose, "vertebra", uy, x, z, T0(uy), amp, 1.0)
    cv.ellipse(P(0.455, 0), r(0.027), r(0.03), body.tilt, 8.5 * B, 0.8, T0(0.455), 3.0)
    for s in (-1, 1):   # sacroiliac joints
        cv.chain([P(0.432, s * 0.018), P(0.462, s * 0.028)], r(0.005), 8.5 * B * pose.asym[s], 0.78,
                 T0(0.45), 2.0)
        _site(body, pose, "pelvis", 0.447, s * 0.024, 0.78, T0(0.45), 8.5, 1.0, s)


def spine_x(pose: Pose, uy: float) -> float:
    """Lateral offset of the spine at a level (a mild scoliosis)."""
    return pose.scoliosis * math.sin(math.pi * (uy - 0.18) / 0.25)


def pelvis(cv: Canvas, body: Body, pose: Pose) -> None:
    """Iliac wings, acetabula, pubic rami, ischia."""
    P, r, T0, B = body.px, body.r, body.thick, pose.scale
    for s in (-1, 1):
        a = pose.asym[s]
        cv.ellipse(P(0.43, s * 0.066), r(0.044), r(0.03), body.tilt - s * 0.45, 7.0 * B * a, 0.55, T0(0.43),
                   1.5, shell=0.65)
        cv.chain([P(0.405, s * 0.03), P(0.398, s * 0.07), P(0.415, s * 0.105)], r(0.005), 5.0 * B * a,
                 0.5, T0(0.41), 1.0)
        cv.ellipse(P(0.478, s * 0.058), r(0.02), r(0.02), 0, 8.5 * B * a, 0.5, T0(0.478), 2.0, shell=0.55)
        cv.chain([P(0.483, s * 0.045), P(0.492, s * 0.006)], r(0.0055), 6.0 * B * a, 0.22, T0(0.49), 1.0)
        cv.chain([P(0.49, s * 0.05), P(0.508, s * 0.038), P(0.5, s * 0.012)], r(0.006), 6.0 * B * a, 0.6,
                 T0(0.5), 1.0)
        for k in range(5):
            _site(body, pose, "pelvis", 0.415 + 0.02 * k, s * (0.085 - 0.008 * k), 0.55, T0(0.43), 6.0 * a, 1.2, s)
        _site(body, pose, "pelvis", 0.5, s * 0.035, 0.6, T0(0.5), 6.0 * a, 1.0, s)


def ribs(cv: Canvas, body: Body, pose: Pose) -> None:
    """12 pairs: posterior head at its thoracic level, round to the front. Seen from behind a rib runs
    out and down from its vertebra (~25 degrees); its front end lies 4-5 vertebral levels lower."""
    P, r, T0, B = body.px, body.r, body.thick, pose.scale
    for k in range(12):
        uy = 0.182 + 0.0132 * k + (pose.rib_gap[k] if pose.rib_gap else 0.0)
        slope = pose.rib_slope[k] if pose.rib_slope else 1.0
        half_w = 0.048 + 0.045 * math.sin(math.pi * min(k + 1, 8.5) / 17.0)
        end = 0.85 * math.pi if k < 7 else (0.7 * math.pi if k < 10 else 0.42 * math.pi)
        th = np.linspace(0.0, end, 7)
        for s in (-1, 1):
            ys = uy + slope * (0.045 * (th / math.pi) ** 0.8 + (0.02 + 0.001 * k) * (th / math.pi) ** 2)
            xs = s * (0.013 + half_w * np.sin(th) ** 0.85 * (1 - 0.25 * (th / math.pi) ** 3))
            zs = 0.86 - 0.72 * (1 - np.cos(th)) / 2
            fade = 0.35 + 0.65 * np.cos(th / 2) ** 2     # bright at the costovertebral joint, faint in front
            cv.chain([P(y, x) for y, x in zip(ys, xs)], r(0.0036) * (1.1 - 0.2 * th / math.pi),
                     3.4 * B * pose.asym[s] * fade, zs, T0(uy + 0.03), 1.0)
            for j in (1, 2, 3, 4, 5):
                _site(body, pose, "rib", float(ys[j]), float(xs[j]), float(zs[j]), T0(uy + 0.03), 3.8, 0.9, s)


def shoulder_girdle(cv: Canvas, body: Body, pose: Pose) -> None:
    """Sternum (manubrium and body), sternoclavicular joints, clavicles, scapulae."""
    P, r, T0, B = body.px, body.r, body.thick, pose.scale
    cv.ellipse(P(0.196, 0), r(0.016), r(0.011), body.tilt, 5.0 * B, 0.08, T0(0.2), 1.0)
    cv.chain([P(0.205, 0), P(0.29, 0)], r(0.0085), 4.2 * B, 0.08, T0(0.25), 1.0)
    for k in range(4):
        _site(body, pose, "sternum", 0.2 + 0.025 * k, 0.0, 0.08, T0(0.25), 4.5, 0.9)
    for s in (-1, 1):
        a = pose.asym[s]
        cv.ellipse(P(0.189, s * 0.017), r(0.007), r(0.006), 0, 4.2 * B * a, 0.08, T0(0.19), 1.0)
        cv.chain([P(0.188, s * 0.02), P(0.176, s * 0.065), P(0.181, s * 0.104)], r(0.0045), 4.0 * B * a,
                 0.12, T0(0.19), 1.0)
        _site(body, pose, "clavicle", 0.18, s * 0.06, 0.12, T0(0.19), 4.0 * a, 0.8, s)
        cv.ellipse(P(0.235, s * 0.078), r(0.03), r(0.045), body.tilt + s * 0.2, 1.6 * B * a, 0.86,
                   T0(0.23), 0.5)
        cv.chain([P(0.212, s * 0.045), P(0.195, s * 0.1)], r(0.0045), 3.0 * B * a, 0.88, T0(0.2), 1.0)
        cv.chain([P(0.2, s * 0.1), P(0.282, s * 0.07), P(0.25, s * 0.045)], r(0.004), 2.2 * B * a,
                 0.86, T0(0.24), 1.0)
        _site(body, pose, "scapula", 0.24, s * 0.08, 0.86, T0(0.23), 3.0 * a, 1.0, s)
        _site(body, pose, "scapula", 0.205, s * 0.075, 0.88, T0(0.2), 4.0 * a, 1.0, s)


def arm_bones(cv: Canvas, body: Body, pose: Pose, s: int) -> None:
    """One arm: humeral head, humerus, elbow, radius and ulna, wrist, hand with fingers."""
    P, r, B, a, T = body.px, body.r, pose.scale, pose.asym[s], pose.arm_thick
    arm = pose.arm[s]
    ap = [P(y, x, 1.0) for y, x in arm]
    cv.ellipse(ap[0], r(0.016), r(0.017), 0, 5.0 * B * a, 0.5, T * 1.3, 2.0)
    _site(body, pose, "shoulder", arm[0][0], arm[0][1], 0.5, T * 1.3, 5.0 * a, 1.3, s, 1.0)
    (y0, x0), (y1, x1) = arm[0], arm[1]
    hum = [P(y0 + f * (y1 - y0), x0 + f * (x1 - x0), 1.0) for f in (0.05, 0.2, 0.8, 1.0)]
    cv.chain(hum, [r(0.0105), r(0.0072), r(0.0072), r(0.0105)], [4.0 * B * a, 3.2 * B * a, 3.2 * B * a, 4.0 * B * a],
             0.5, T, 1.5, shell=0.5)
    for f in (0.25, 0.5, 0.75):
        _site(body, pose, "humerus", arm[0][0] + f * (arm[1][0] - arm[0][0]),
              arm[0][1] + f * (arm[1][1] - arm[0][1]), 0.5, T, 3.4 * a, 0.8, s, 1.0)
    cv.ellipse(ap[2], r(0.012), r(0.01), 0, 4.5 * B * a, 0.5, T, 1.5)
    _site(body, pose, "elbow", arm[2][0], arm[2][1], 0.5, T, 4.5 * a, 1.1, s, 1.0)
    for off in (-0.0065, 0.0065):
        q0 = P(arm[2][0] + 0.008, arm[2][1] + off, 1.0)
        q1 = P(arm[3][0], arm[3][1] + off * 0.8, 1.0)
        cv.chain([q0, q1], r(0.0045), 3.0 * B * a, 0.5, T * 0.8, 1.0)
    cv.ellipse(ap[4], r(0.012), r(0.009), 0, 4.2 * B * a, 0.5, T * 0.7, 1.0)
    _site(body, pose, "hand", arm[4][0], arm[4][1], 0.5, T * 0.7, 4.2 * a, 1.0, s, 1.0)
    wy, wx = arm[4]
    for f in range(4):
        fx = wx + s * (f - 1.5) * 0.0045
        tip = wy + 0.05 + 0.005 * (f in (1, 2))
        cv.chain([P(wy + 0.008, fx, 1.0), P(wy + 0.026, fx + s * (f - 1.5) * 0.0015, 1.0),
                  P(tip, fx + s * (f - 1.5) * 0.003, 1.0)], [r(0.0028), r(0.0024), r(0.0018)],
                 [3.2 * B * a, 2.8 * B * a, 2.0 * B * a], 0.5, T * 0.5, 0.5)
        _site(body, pose, "hand", wy + 0.02, fx, 0.5, T * 0.5, 3.0 * a, 0.7, s, 1.0)
    cv.chain([P(wy + 0.006, wx - s * 0.008, 1.0), P(wy + 0.018, wx - s * 0.015, 1.0),
              P(wy + 0.03, wx - s * 0.018, 1.0)], r(0.0026), [3.0 * B * a, 2.6 * B * a, 2.0 * B * a], 0.5,
             T * 0.5, 0.5)


def hip_and_femur(cv: Canvas, body: Body, pose: Pose, s: int) -> None:
    """Femoral head, neck, greater trochanter and shaft."""
    P, r, T0, B, a = body.px, body.r, body.thick, pose.scale, pose.asym[s]
    leg = pose.leg[s]
    lp = [P(y, x, 1.0) for y, x in leg]
    hy, hx = leg[0]
    cv.ellipse(lp[0], r(0.013), r(0.013), 0, 5.5 * B * a, 0.5, T0(0.48), 2.5)
    _site(body, pose, "hip", hy, hx, 0.5, T0(0.48), 6.0 * a, 1.3, s, 1.0)
    troch = P(hy + 0.006, hx + s * 0.027, 1.0)
    cv.chain([lp[0], troch], r(0.0075), 5.0 * B * a, 0.5, T0(0.49), 2.0)
    cv.ellipse(troch, r(0.011), r(0.012), 0, 5.0 * B * a, 0.5, T0(0.49), 2.0)
    fy0, fx0 = hy + 0.02, hx + s * 0.02
    (ky, kx) = leg[1]
    fem = [P(fy0 + f * (ky - fy0), fx0 + f * (kx - fx0), 1.0) for f in (0.0, 0.15, 0.78, 0.97)]
    cv.chain(fem, [r(0.0095), r(0.0082), r(0.0088), r(0.0135)], [4.0 * B * a, 3.4 * B * a, 3.4 * B * a, 4.4 * B * a],
             0.5, T0(0.6), 2.0, shell=0.55)
    for f in (0.0, 0.2, 0.4, 0.6, 0.8):
        _site(body, pose, "femur", hy + 0.02 + f * (leg[1][0] - hy - 0.02),
              hx + s * 0.02 + f * (leg[1][1] - hx - s * 0.02), 0.5, T0(0.6), 3.6 * a, 1.0, s, 1.0)
    _site(body, pose, "femur", hy + 0.006, hx + s * 0.02, 0.5, T0(0.49), 5.0 * a, 1.0, s, 1.0)


def knee_and_foot(cv: Canvas, body: Body, pose: Pose, s: int) -> None:
    """Knee (femoral condyles, patella, tibial plateau), tibia, fibula, ankle, foot."""
    P, r, T0, B, a = body.px, body.r, body.thick, pose.scale, pose.asym[s]
    leg = pose.leg[s]
    ky, kx = leg[1]
    cv.ellipse(P(ky, kx, 1.0), r(0.019), r(0.013), 0, 3.8 * B * a, 0.48, T0(0.71), 2.5)
    cv.ellipse(P(ky - 0.002, kx, 1.0), r(0.011), r(0.012), 0, 1.6 * B * a, 0.1, T0(0.71), 1.0)
    cv.ellipse(P(ky + 0.016, kx, 1.0), r(0.018), r(0.009), 0, 3.8 * B * a, 0.45, T0(0.72), 2.0)
    _site(body, pose, "knee", ky + 0.006, kx, 0.35, T0(0.715), 5.0 * a, 1.4, s, 1.0)
    ay_, ax_ = leg[3]
    tib = [P(ky + 0.022 + f * (ay_ - ky - 0.022), kx + f * (ax_ - kx), 1.0) for f in (0.0, 0.15, 0.85, 1.0)]
    cv.chain(tib, [r(0.0115), r(0.0074), r(0.0068), r(0.009)], [4.0 * B * a, 3.2 * B * a, 3.2 * B * a, 3.6 * B * a],
             0.3, T0(0.84), 1.5, shell=0.5)
    cv.chain([P(ky + 0.024, kx + s * 0.016, 1.0), P(ay_, ax_ + s * 0.014, 1.0)], r(0.0035),
             2.0 * B * a, 0.6, T0(0.84), 0.8)
    cv.ellipse(P(ay_ + 0.003, ax_ + s * 0.004, 1.0), r(0.016), r(0.008), 0, 3.8 * B * a, 0.5, T0(0.96), 1.5)
    _site(body, pose, "ankle", ay_ + 0.003, ax_, 0.5, T0(0.96), 4.8 * a, 1.0, s, 1.0)
    fy, fx = leg[4]
    cv.ellipse(P(fy + 0.008, fx + s * 0.004, 1.0), r(0.012), r(0.01), s * 0.25, 3.6 * B * a, 0.55,
               T0(0.98), 1.5)
    for f in range(5):
        ox = fx + s * (0.006 + (f - 2) * 0.0045)
        cv.chain([P(fy + 0.014, ox, 1.0), P(fy + 0.03, ox + s * (f - 2) * 0.002, 1.0)], r(0.0026),
                 [3.2 * B * a, 2.4 * B * a], 0.55, T0(0.98), 0.8)
    cv.ellipse(P(fy + 0.016, fx + s * 0.002, 1.0), r(0.01), r(0.008), 0, 4.5 * B * a, 0.92, T0(0.98), 1.5)
    _site(body, pose, "foot", fy + 0.014, fx + s * 0.006, 0.55, T0(0.98), 3.6 * a, 1.0, s, 1.0)


def draw_body(cv: Canvas, body: Body, rng: np.random.Generator, superscan: bool = False) -> dict:
    """Soft tissue, organs and skeleton; records the lesion sites in ``body.sites``. Returns the
    organ parameters. A superscan (diffuse skeletal metastases) raises every bone's uptake and
    starves the kidneys and bladder."""
    pose = draw_pose(body, rng, superscan)
    soft_tissue(cv, body, pose)
    truth = organs(cv, body, rng, superscan)
    for group in (skull, spine, pelvis, ribs, shoulder_girdle):
        group(cv, body, pose)
    for s in (-1, 1):
        arm_bones(cv, body, pose, s)
    for s in (-1, 1):
        hip_and_femur(cv, body, pose, s)
        knee_and_foot(cv, body, pose, s)
    return {"bone": pose.bone, **truth}
