"""The gamma camera: attenuation, collimator blur, counts, Poisson noise, room background.

Structures are deposited on a :class:`Canvas` that keeps, per view, one layer of expected counts per
band of distance to the detector; :meth:`Canvas.project` blurs each band with its collimator
point-spread function and sums them; :func:`acquire` scales to the view's total counts and draws
Poisson counts."""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

MU_WATER = 0.15     # 1/cm, Tc-99m 140 keV
MU_BONE = 0.27
DEPTH_BINS_CM = (6.0, 12.0)            # bin edges of distance to the detector (three bins)
ROOM_BACKGROUND = 0.02                 # counts per pixel from the room and cosmic background


def collimator_fwhm_mm(distance_cm: float) -> float:
    """System FWHM of a LEHR collimator in a continuous whole-body sweep: 6 mm + 0.55 mm per cm of
    distance to the detector (7.7 / 11 / 15.4 mm at the three depth bins' 3 / 9 / 17 cm, i.e. 3.4 /
    4.9 / 6.8 pixels of 2.26 mm, 3.2 / 4.6 / 6.4 of 2.4 mm)."""
    return 6.0 + 0.55 * distance_cm


def _bin_mid_depths() -> list[float]:
    return [DEPTH_BINS_CM[0] / 2] + [(a + b) / 2 for a, b in zip(DEPTH_BINS_CM, DEPTH_BINS_CM[1:])] \
        + [DEPTH_BINS_CM[-1] + 5.0]


def _segment_distance2(pts: np.ndarray, py: np.ndarray, px: np.ndarray, reach: float = np.inf):
    """Squared distance from each pixel to a polyline, the index of the nearest segment and the
    position along it (0..1). Each segment is measured only over its own bounding box grown by
    ``reach`` (pixels farther from every segment keep an infinite distance): a long chain costs the
    sum of its segments' boxes, not segments x the whole chain's box."""
    n = len(pts)
    if n <= 2:   # one segment (most bones): no nearest-segment search needed
        a, b = pts[0], pts[-1]
        ab = b - a
        len2 = max(float((ab ** 2).sum()), 1e-6)
        tk = np.clip(((py - a[0]) * ab[0] + (px - a[1]) * ab[1]) / len2, 0.0, 1.0)
        dy = py - (a[0] + tk * ab[0])
        dx = px - (a[1] + tk * ab[1])
        return dy * dy + dx * dx, 0, tk
    ys, xs = py[:, 0], px[0]
    d2 = np.full((len(ys), len(xs)), np.inf, np.float32)
    k = np.zeros(d2.shape, np.intp)
    t = np.zeros(d2.shape, np.float32)
    for i in range(n - 1):
        a, b = pts[i], pts[i + 1]
        r0, r1 = np.searchsorted(ys, [min(a[0], b[0]) - reach, max(a[0], b[0]) + reach])
        c0, c1 = np.searchsorted(xs, [min(a[1], b[1]) - reach, max(a[1], b[1]) + reach])
        if r1 <= r0 or c1 <= c0:
            continue
        ab = b - a
        len2 = max(float((ab ** 2).sum()), 1e-6)
        sy, sx = ys[r0:r1, None], xs[None, c0:c1]
        ti = np.clip(((sy - a[0]) * ab[0] + (sx - a[1]) * ab[1]) / len2, 0.0, 1.0)
        dy = sy - (a[0] + ti * ab[0])
        dx = sx - (a[1] + ti * ab[1])
        di = dy * dy + dx * dx
        better = di < d2[r0:r1, c0:c1]
        d2[r0:r1, c0:c1][better] = di[better]
        k[r0:r1, c0:c1][better] = i
        t[r0:r1, c0:c1][better] = ti[better]
    return d2, k, t


class Canvas:
    """Per view, one layer of expected counts (before blur) per depth bin, in pixels."""

    def __init__(self, rows: int, cols: int, pixel_mm: float):
        self.rows, self.cols, self.pixel_cm = rows, cols, pixel_mm / 10.0
        self.layers = np.zeros((2, len(DEPTH_BINS_CM) + 1, rows, cols), np.float32)
        self._ys = np.arange(rows, dtype=np.float32) + 0.5
        self._xs = np.arange(cols, dtype=np.float32) + 0.5

    def _box(self, r0, r1, c0, c1):
        r0, r1 = max(int(math.floor(r0)), 0), min(int(math.ceil(r1)) + 1, self.rows)
        c0, c1 = max(int(math.floor(c0)), 0), min(int(math.ceil(c1)) + 1, self.cols)
        return (r0, r1, c0, c1) if r1 > r0 and c1 > c0 else None

    def _deposit(self, box, profile, amp, z, thick_cm, bone_cm):
        """Add ``amp * profile`` seen by both views; z (fraction from anterior) scalar or per pixel."""
        r0, r1, c0, c1 = box
        amp = amp * (math.exp(-(MU_BONE - MU_WATER) * bone_cm / 2.0) if bone_cm else 1.0)
        if np.ndim(z) == 0:
            for v in (0, 1):
                depth = (z if v == 0 else 1.0 - z) * thick_cm
                b = int(np.searchsorted(DEPTH_BINS_CM, depth))
                self.layers[v, b, r0:r1, c0:c1] += profile * np.float32(amp * math.exp(-MU_WATER * depth))
            return
        base = profile * np.float32(amp)
        inside = profile > 0
        for v in (0, 1):
            depth = (z if v == 0 else 1.0 - z) * thick_cm
            contrib = base * np.exp(-MU_WATER * depth).astype(np.float32)
            bins = np.searchsorted(DEPTH_BINS_CM, depth)
            for b in np.unique(bins[inside]):
                self.layers[v, b, r0:r1, c0:c1] += np.where(bins == b, contrib, 0)

    def ellipse(self, center, ax, ay, angle, amp, z, thick_cm, bone_cm=0.0, shell=0.0):
        """Ellipsoid (or ellipsoidal shell with inner/outer ratio ``shell``) centred at (row, col)."""
        cy, cx = center
        ax, ay = max(ax, 0.7), max(ay, 0.7)
        ext = max(ax, ay) + 1
        box = self._box(cy - ext, cy + ext, cx - ext, cx + ext)
        if box is None:
            return
        r0, r1, c0, c1 = box
        dy = self._ys[r0:r1, None] - cy
        dx = self._xs[None, c0:c1] - cx
        ca, sa = math.cos(angle), math.sin(angle)
        u = (dx * ca + dy * sa) / ax
        w = (-dx * sa + dy * ca) / ay
        rho2 = u * u + w * w
        prof = np.sqrt(np.clip(1.0 - rho2, 0.0, None))
        if shell:
            prof = prof - shell * np.sqrt(np.clip(1.0 - rho2 / (shell * shell), 0.0, None))
            prof /= max(float(np.sqrt(1 - shell * shell)), 1e-3)
        self._deposit(box, prof.astype(np.float32), amp, z, thick_cm, bone_cm)

    def chain(self, points, radius, amp, z, thick_cm, bone_cm=0.0, shell=0.0, flat_start=False):
        """A tube along a polyline of (row, col) points: radius, amplitude and z per point or scalar.
        ``shell`` > 0 makes it a hollow tube (inner/outer radius ratio): the cortex of a long bone,
        brighter at its edges than along its axis. ``flat_start`` cuts the tube square at its first
        point instead of rounding it (the top of the trunk at the shoulders)."""
        pts = np.asarray(points, np.float32)
        n = len(pts)
        radius = np.broadcast_to(np.asarray(radius, np.float32), (n,))
        zs = np.broadcast_to(np.asarray(z, np.float32), (n,))
        amps = np.broadcast_to(np.asarray(amp, np.float32), (n,))
        ext = float(radius.max()) + 1
        box = self._box(pts[:, 0].min() - ext, pts[:, 0].max() + ext, pts[:, 1].min() - ext,
                        pts[:, 1].max() + ext)
        if box is None:
            return
        r0, r1, c0, c1 = box
        d2, k, tk = _segment_distance2(pts, self._ys[r0:r1, None], self._xs[None, c0:c1], ext)
        k1 = np.minimum(k + 1, n - 1)
        rad = radius[0] if np.all(radius == radius[0]) else radius[k] * (1 - tk) + radius[k1] * tk
        rho2 = d2 / (rad * rad)
        prof = np.sqrt(np.clip(1.0 - rho2, 0.0, None))
        if shell:
            prof = prof - shell * np.sqrt(np.clip(1.0 - rho2 / (shell * shell), 0.0, None))
            prof /= max(float(np.sqrt(1 - shell * shell)), 1e-3)
        prof = prof.astype(np.float32)
        if flat_start:
            ab = pts[1] - pts[0]
            before = ((self._ys[r0:r1, None] - pts[0, 0]) * ab[0] + (self._xs[None, c0:c1] - pts[0, 1]) * ab[1]) < 0
            prof[before] = 0.0
        if not np.all(amps == amps[0]):
            prof *= (amps[k] * (1 - tk) + amps[k1] * tk) / np.float32(amps[0] if amps[0] else 1.0)
        zz = float(zs[0]) if np.all(zs == zs[0]) else (zs[k] * (1 - tk) + zs[k1] * tk).astype(np.float32)
        self._deposit(box, prof, float(amps[0]) if amps[0] else 1.0, zz, thick_cm, bone_cm)

    def attenuate_anterior(self, center, ax, ay, factor):
        """Multiply the anterior view by ``factor`` inside a soft ellipse (breast tissue in front)."""
        cy, cx = center
        box = self._box(cy - ay - 2, cy + ay + 2, cx - ax - 2, cx + ax + 2)
        if box is None:
            return
        r0, r1, c0, c1 = box
        rho2 = ((self._ys[r0:r1, None] - cy) / ay) ** 2 + ((self._xs[None, c0:c1] - cx) / ax) ** 2
        thick = np.sqrt(np.clip(1 - rho2, 0, None))
        self.layers[0, :, r0:r1, c0:c1] *= (1.0 - (1.0 - factor) * thick).astype(np.float32)

    def project(self, pixel_cm: float) -> tuple[np.ndarray, np.ndarray]:
        """Blur each depth bin with its collimator sigma and sum: the expected anterior and posterior
        images (posterior mirrored left-right, as seen from behind)."""
        mids = _bin_mid_depths()
        sigmas = [collimator_fwhm_mm(d) / 2.355 / (pixel_cm * 10) for d in mids]
        used = self.layers.any(axis=(0, 1))
        rows, cols = np.flatnonzero(used.any(axis=1)), np.flatnonzero(used.any(axis=0))
        out = []
        for v in (0, 1):
            img = np.zeros((self.rows, self.cols), np.float32)
            if len(rows):
                r0, r1 = max(rows[0] - 12, 0), min(rows[-1] + 13, self.rows)
                c0, c1 = max(cols[0] - 12, 0), min(cols[-1] + 13, self.cols)
                # G(s3)*L3 + G(s2)*L2 + G(s1)*L1 = G(s1)*(L1 + G(d2)*(L2 + G(d3)*L3)), d_k^2 = s_k^2 - s_(k-1)^2:
                # the same blur per depth bin with shorter kernels
                acc = None
                for b in range(len(mids) - 1, -1, -1):
                    layer = self.layers[v, b, r0:r1, c0:c1]
                    acc = layer.copy() if acc is None else acc + layer
                    step = math.sqrt(sigmas[b] ** 2 - (sigmas[b - 1] ** 2 if b else 0.0))
                    acc = ndimage.gaussian_filter(acc, step, truncate=3.0)
                img[r0:r1, c0:c1] = acc
            out.append(img if v == 0 else img[:, ::-1].copy())
        return out[0], out[1]


def poisson_image(expected: np.ndarray, background: float, rng: np.random.Generator) -> np.ndarray:
    """Counts ~ Poisson(expected + background) per pixel, as uint16.

    Where nothing was drawn the field is a homogeneous Poisson process: its total is Poisson and its
    events fall uniformly on those pixels, which is the same distribution as per-pixel sampling and
    much cheaper than sampling the ~half of the image that holds only room background."""
    out = np.zeros(expected.shape, np.uint16)
    used = expected > 0
    rows, cols = np.flatnonzero(used.any(axis=1)), np.flatnonzero(used.any(axis=0))
    inside = np.zeros(expected.shape, bool)
    if len(rows):
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        inside[r0:r1, c0:c1] = True
        counts = rng.poisson(expected[r0:r1, c0:c1] + np.float32(background))
        out[r0:r1, c0:c1] = np.minimum(counts, 65535)
    empty = np.flatnonzero(~inside.ravel())
    n = int(rng.poisson(background * len(empty)))
    if n:
        np.add.at(out.reshape(-1), empty[rng.integers(0, len(empty), n)], 1)
    return out


def acquire(ant: np.ndarray, post: np.ndarray, counts_per_view: float, rng: np.random.Generator):
    """Scale the expected images to the patient's total counts (both views drawn around one total)
    and draw Poisson counts; returns (anterior, posterior, total target)."""
    images = []
    total = counts_per_view * float(rng.lognormal(0.0, 0.22))
    for img in (ant, post):
        np.maximum(img, 0.0, out=img)
        scale = total * float(rng.lognormal(0.0, 0.03)) / max(float(img.sum()), 1e-6)
        images.append(poisson_image(img * np.float32(scale), ROOM_BACKGROUND, rng))
    return images[0], images[1], total
