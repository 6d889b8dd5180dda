"""Lesions (metastases, arthritis) and the class-independent confounders, and their LabelMe shapes.

Metastases are focal hot spots at site-weighted places (vertebrae, ribs, femur, pelvis most
frequent), several per patient, occasionally cold; arthritis is milder, periarticular, mostly knees,
often symmetric. The number of random draws does not depend on the difficulty knob, so changing it
changes lesion contrast and count, never where the lesions are or the anatomy."""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import poisson

from .. import labelme
from .acquisition import Canvas
from .anatomy import Body, Site

# Where metastases and arthritis occur (relative weights; the generator's assumption, in line with
# the paper's Fig. 2: vertebra, rib, femur most frequent for metastasis, knee for arthritis).
METASTASIS_SITES = {"vertebra": 0.30, "rib": 0.24, "femur": 0.13, "pelvis": 0.12, "skull": 0.06,
                    "sternum": 0.04, "humerus": 0.04, "scapula": 0.04, "clavicle": 0.03}
ARTHRITIS_SITES = {"knee": 0.46, "shoulder": 0.14, "hand": 0.12, "foot": 0.10, "elbow": 0.06,
                   "hip": 0.06, "ankle": 0.06}


def choose_sites(rng, body: Body, weights: dict[str, float], n: int) -> list[Site]:
    names = [k for k in weights if body.sites.get(k)]
    p = np.array([weights[k] for k in names])
    p = p / p.sum()
    out = []
    for name in rng.choice(names, size=n, p=p):
        cands = body.sites[str(name)]
        out.append(cands[int(rng.integers(len(cands)))])
    return out


def mirror_site(body: Body, st: Site) -> Site | None:
    """The same site on the other side of the body, if there is one."""
    if st.side == 0:
        return None
    for cand in body.sites.get(st.name, []):
        if cand.side == -st.side and abs(cand.uy - st.uy) < 0.02 and abs(abs(cand.ux) - abs(st.ux)) < 0.02:
            return cand
    return None


def draw_lesion(cv: Canvas, body: Body, st: Site, rng, contrast: float, r_cm: float,
                disease: str, boxes: list, polygon: bool) -> None:
    """Draw one focal lesion at a site and record its extent (in the anterior frame)."""
    cy, cx = body.px(st.uy, st.ux, st.limb_b)
    rad = max(r_cm / cv.pixel_cm, 1.2)
    ax, ay = rad * float(rng.uniform(0.8, 1.25)), rad * float(rng.uniform(0.8, 1.25))
    cv.ellipse((cy, cx), ax, ay, float(rng.uniform(0, math.pi)), (contrast - 1.0) * st.host, st.z, st.thick)
    boxes.append((disease, st.name, cy, cx, ax, ay, polygon))


# Metastasis uptake over the local bone, from faint to intense (phantom v8; v7 drew 1 + U(2, 5)): the
# excess X = ratio - 1 is lognormal, median METASTASIS_EXCESS_MEDIAN, log-sd METASTASIS_EXCESS_SD,
# clipped to METASTASIS_EXCESS_RANGE; the difficulty knob multiplies X (strength 5 ** (1.5 (2/3 - d))).
# At the nominal knob (strength 1) the lesion-to-bone ratio 1 + X has median 2.0, 10-90 % 1.5-2.9,
# range 1.6-7; at the default d = 0.25 (strength 2.73) median 3.7, 10-90 % 2.4-6.2. Lesions are 0.9-2.0 cm in
# radius (v7: 0.6-1.4), 1 + Poisson(1.6 x strength) per M patient. With the bladder at ~60 a lesion
# outshines the bladder or kidneys in a minority of M scans, as in real bone scans (v7: 62-73 %).
METASTASIS_EXCESS_MEDIAN = 1.0
METASTASIS_EXCESS_SD = 0.5
METASTASIS_EXCESS_RANGE = (0.6, 6.0)


def metastasis_excess(r) -> float:
    """One draw of X (see :data:`METASTASIS_EXCESS_MEDIAN`)."""
    x = float(r.lognormal(math.log(METASTASIS_EXCESS_MEDIAN), METASTASIS_EXCESS_SD))
    return float(np.clip(x, *METASTASIS_EXCESS_RANGE))


def metastases(cv: Canvas, body: Body, label: str, seed: int, index: int, rng_les, strength: float,
               boxes: list) -> None:
    lam = (1.6 if label == "M" else 0.5) * strength
    n = 1 + int(min(poisson.ppf(rng_les.random(), lam), 9))
    for k, st in enumerate(choose_sites(rng_les, body, METASTASIS_SITES, 10)[:n]):
        r = np.random.default_rng([seed, index, 20, k])
        cold = st.name in ("vertebra", "pelvis", "femur") and bool(r.random() < 0.06)
        contrast = 1.0 + metastasis_excess(r) * strength
        draw_lesion(cv, body, st, r, 0.3 if cold else contrast, float(r.uniform(0.9, 2.0)), "metastasis", boxes,
                    bool(r.random() < 0.25))


def arthritis(cv: Canvas, body: Body, seed: int, index: int, rng_les, strength: float, boxes: list) -> None:
    n = 1 + int(min(poisson.ppf(rng_les.random(), 0.5 * strength), 5))
    for k, st in enumerate(choose_sites(rng_les, body, ARTHRITIS_SITES, 6)[:n]):
        r = np.random.default_rng([seed, index, 30, k])
        targets = [st]
        mirror = mirror_site(body, st)
        if bool(r.random() < 0.55) and mirror is not None:
            targets.append(mirror)
        for target in targets:
            contrast = 1.0 + float(r.uniform(0.7, 1.3)) * strength
            draw_lesion(cv, body, target, r, contrast, target.r_cm * float(r.uniform(0.9, 1.3)),
                        "arthritis", boxes, bool(r.random() < 0.25))


def confounders(cv: Canvas, body: Body, rng_conf, sex: str, age: int, rate: float) -> dict:
    """Injection-site hot spot, urine contamination, degenerative uptake, breast attenuation: drawn
    independently of the class."""
    conf = {"injection": bool(rng_conf.random() < 0.25 * rate), "contamination": bool(rng_conf.random() < 0.08 * rate),
            "breast": sex == "F" and bool(rng_conf.random() < 0.7)}
    if conf["injection"]:
        st = choose_sites(rng_conf, body, {"elbow": 0.6, "hand": 0.4}, 1)[0]
        cy, cx = body.px(st.uy + float(rng_conf.uniform(-0.01, 0.02)), st.ux, st.limb_b)
        cv.ellipse((cy, cx), float(rng_conf.uniform(2, 5)), float(rng_conf.uniform(2, 6)), 0.0,
                   float(rng_conf.lognormal(math.log(20), 0.8)), 0.3, 8.0)
    if conf["contamination"]:
        cy, cx = body.px(float(rng_conf.uniform(0.49, 0.6)), float(rng_conf.uniform(-0.06, 0.06)), 1.0)
        ax, ay = float(rng_conf.uniform(1.5, 6)), float(rng_conf.uniform(1.5, 8))
        cv.ellipse((cy, cx), ax, ay, float(rng_conf.uniform(0, 3)), float(rng_conf.lognormal(math.log(12), 0.7)),
                   0.05, 12.0)
    conf["degenerative"] = degenerative(cv, body, rng_conf, age, rate)
    if conf["breast"]:
        for s in (-1, 1):
            cy, cx = body.px(0.285, s * 0.055)
            cv.attenuate_anterior((cy, cx), 0.05 * body.H, 0.045 * body.H, float(rng_conf.uniform(0.55, 0.8)))
    return conf


def degenerative(cv: Canvas, body: Body, rng_conf, age: int, rate: float) -> int:
    """Mild uptake, more likely with age, at knees, lower lumbar spine, shoulders, hands; returns
    how many spots were drawn."""
    p_deg = float(np.clip((age - 45) / 45.0, 0.0, 0.85)) * rate
    count = 0
    for name, per in (("knee", 0.5), ("vertebra", 0.5), ("shoulder", 0.3), ("hand", 0.25)):
        if rng_conf.random() < p_deg * per and body.sites.get(name):
            cands = body.sites[name] if name != "vertebra" else body.sites[name][-6:]
            st = cands[int(rng_conf.integers(len(cands)))]
            mirror = mirror_site(body, st)
            level = float(rng_conf.uniform(0.2, 0.45))   # joints: mild and symmetric, as in normal scans
            side_ratio = float(rng_conf.uniform(0.85, 1.0))
            for j, target in enumerate([st] + ([mirror] if mirror else [])):
                cy, cx = body.px(target.uy, target.ux, target.limb_b)
                rad = target.r_cm / cv.pixel_cm * 1.2
                amp = (level if name != "vertebra" else 1.5 * level) * (side_ratio if j else 1.0) * target.host
                cv.ellipse((cy, cx), rad, rad * 0.8, 0.0, amp, target.z, target.thick)
                count += 1
    return count


def labelme_shapes(boxes: list, rows: int, cols: int) -> dict[str, list[labelme.Lesion]]:
    """One rectangle or octagon per drawn lesion, in each view (the posterior mirrored)."""
    lesions = {"anterior": [], "posterior": []}
    for disease, site, cy, cx, ax, ay, polygon in boxes:
        ext_x, ext_y = max(ax, ay) + 2.0, max(ax, ay) + 2.0
        for view, col in (("anterior", cx), ("posterior", cols - cx)):
            x0, x1 = max(col - ext_x, 0.0), min(col + ext_x, float(cols))
            y0, y1 = max(cy - ext_y, 0.0), min(cy + ext_y, float(rows))
            if polygon:
                ang = np.linspace(0, 2 * math.pi, 9)[:-1]
                pts = tuple((round(float(np.clip(col + ext_x * math.cos(t), 0, cols)), 2),
                             round(float(np.clip(cy + ext_y * math.sin(t), 0, rows)), 2)) for t in ang)
                lesions[view].append(labelme.Lesion(disease, site, "polygon", pts))
            else:
                lesions[view].append(labelme.Lesion(disease, site, "rectangle",
                                                    ((round(x0, 2), round(y0, 2)), (round(x1, 2), round(y1, 2)))))
    return lesions
