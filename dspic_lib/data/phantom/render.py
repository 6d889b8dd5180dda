"""One patient: anatomy, confounders and lesions drawn on the canvas, then acquired in both views."""
from __future__ import annotations

import numpy as np

from . import acquisition, anatomy, lesions
from .plan import PatientPlan, PhantomConfig


def _body(plan: PatientPlan, cfg: PhantomConfig, rng: np.random.Generator) -> tuple[anatomy.Body, float]:
    """Height, position on the table, tilt, breadth and girth of one patient."""
    pixel_cm = cfg.pixel_mm / 10.0
    height_cm = float(rng.normal(171.0, 6.5) if plan.sex == "M" else rng.normal(159.0, 6.0))
    height_cm = float(np.clip(height_cm, 140.0, 195.0))
    H = height_cm / pixel_cm
    top = float(rng.uniform(0.04, 0.09)) * cfg.rows          # the sweep starts a little above the head
    top = min(top, cfg.rows - H * 1.005 - 4)
    body = anatomy.Body(H=H, top=top, mid=cfg.cols / 2 + float(rng.normal(0, 3.0)),
                        tilt=float(rng.normal(0, 0.012)), breadth=float(rng.normal(1.0, 0.04)), sex=plan.sex,
                        girth=float(rng.lognormal(0, 0.1)))
    return body, height_cm


def render_patient(plan: PatientPlan, cfg: PhantomConfig):
    """Expected-count images turned into counts: returns (anterior, posterior, lesions, truth).

    ``lesions`` maps each view to a list of :class:`~dspic_lib.data.labelme.Lesion`; ``truth`` holds
    the generator's non-lesion parameters (for checks; never a model input)."""
    # separate streams: anatomy, confounders, lesions and noise do not shift when the knob changes
    rng, rng_conf, rng_les, rng_noise = (np.random.default_rng([cfg.seed, plan.index, k]) for k in range(4))
    body, height_cm = _body(plan, cfg, rng)
    cv = acquisition.Canvas(cfg.rows, cfg.cols, cfg.pixel_mm)
    superscan = plan.label == "M" and bool(rng_les.random() < 0.03)
    truth = anatomy.draw_body(cv, body, rng, superscan)
    conf = lesions.confounders(cv, body, rng_conf, plan.sex, plan.age, cfg.confounder_rate)
    boxes: list = []
    if plan.label in ("M", "M&A"):
        lesions.metastases(cv, body, plan.label, cfg.seed, plan.index, rng_les, cfg.strength, boxes)
    if plan.label in ("A", "M&A"):
        lesions.arthritis(cv, body, cfg.seed, plan.index, rng_les, cfg.strength, boxes)
    ant, post = cv.project(cv.pixel_cm)
    ant, post, total = acquisition.acquire(ant, post, cfg.counts_per_view, rng_noise)
    truth.update({"height_cm": round(height_cm, 1), "superscan": superscan, **conf,
                  "total_counts_target": round(total)})
    return ant, post, lesions.labelme_shapes(boxes, cfg.rows, cfg.cols), truth
