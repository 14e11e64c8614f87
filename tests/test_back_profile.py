"""The back-profile metric on synthetic masks with a known dorsal curve."""

from __future__ import annotations

import math

import numpy as np
import pytest

from formcheck_core.biomech.back_profile import FRACTIONS, back_normal, back_profile

H, W = 480, 640
TORSO_PX = 200.0
HALF_THICK_REL = 0.22  # torso half thickness, torso lengths


def bump(s: np.ndarray) -> np.ndarray:
    """0 at the hip and the shoulder, 1 mid-torso."""
    return np.sin(np.pi * np.clip(s, 0, 1))


def lower_back_bump(s: np.ndarray) -> np.ndarray:
    """Rounding confined to the lower back: 0 at the hip and from half the torso up, 1 at a quarter."""
    return np.sin(np.pi * np.clip(s / 0.5, 0, 1))


def lifter_mask(
    amp_rel: float,
    *,
    lean_deg: float = 50.0,
    facing: int = 1,
    arms: bool = True,
    soft_px: float = 0.0,
    noise: float = 0.0,
    seed: int = 0,
    shape=bump,
):
    """A side-view lifter in set-up: torso leaning ``lean_deg`` from vertical toward ``facing``.

    The back outline (in torso coordinates s along hip->shoulder, d out of the back) is
    ``HALF_THICK_REL + amp_rel * shape(s)``: amp > 0 rounded, 0 flat, < 0 arched. Thighs run from
    the hip forward-down to the knee; with ``arms`` an arm hangs in front of the torso holding the
    bar, which a side view sees end-on: a plate disk around the hands.
    Returns the mask and the shoulder, hip and knee pixels.
    """
    hip = np.array([W / 2 - facing * 60.0, 300.0])
    lean = math.radians(lean_deg)
    u = np.array([facing * math.sin(lean), -math.cos(lean)])
    shoulder = hip + TORSO_PX * u
    knee = hip + 170.0 * np.array([facing * math.cos(math.radians(20)), math.sin(math.radians(20))])
    n_back = np.array([-u[1], u[0]])
    if np.dot(knee - hip, n_back) > 0:
        n_back = -n_back
    yy, xx = np.mgrid[0:H, 0:W].astype(float)
    rel = np.stack([xx - hip[0], yy - hip[1]], -1)
    s = (rel @ u) / TORSO_PX
    d = (rel @ n_back) / TORSO_PX
    back = HALF_THICK_REL + amp_rel * shape(s)
    dist = np.minimum.reduce([d - (-HALF_THICK_REL), back - d])  # inside torso band: > 0
    torso = (s >= -0.15) & (s <= 1.1)
    signed_px = np.where(torso, dist * TORSO_PX, -1e3)

    def capsule(a, b, r):
        ab = b - a
        t = np.clip(((xx - a[0]) * ab[0] + (yy - a[1]) * ab[1]) / (ab @ ab), 0, 1)
        return r - np.hypot(xx - (a[0] + t * ab[0]), yy - (a[1] + t * ab[1]))

    head = shoulder + np.array([0.0, -60.0])
    parts = [signed_px, capsule(hip, knee, 45.0), capsule(shoulder, head, 35.0)]
    if arms:
        wrist = shoulder + np.array([facing * 15.0, 170.0])
        plate = 45.0 - np.hypot(xx - wrist[0], yy - wrist[1])
        parts += [capsule(shoulder, wrist, 18.0), plate]
    sd = np.maximum.reduce(parts)
    if soft_px > 0:
        mask = 1 / (1 + np.exp(-sd / soft_px))
    else:
        mask = (sd > 0).astype(float)
    if noise:
        mask = np.clip(mask + np.random.default_rng(seed).normal(0, noise, mask.shape), 0, 1)
    return mask.astype(np.float32), shoulder, hip, knee


def expected_flexion(amp_rel: float, shape=bump) -> float:
    """Largest distance of the continuous outline from its chord between the end fractions."""
    s = np.linspace(FRACTIONS[0], FRACTIONS[-1], 2001)
    d = amp_rel * shape(s)
    chord = d[0] + (d[-1] - d[0]) * (s - s[0]) / (s[-1] - s[0])
    return max(0.0, float(np.max(d - chord)) * math.cos(math.atan2(d[-1] - d[0], s[-1] - s[0])))


@pytest.mark.parametrize("facing", [1, -1])
def test_flat_back_reads_straight(facing):
    p = back_profile(*lifter_mask(0.0, facing=facing))
    assert p.valid
    assert p.back_flexion_rel < 0.01
    assert abs(p.back_angle_deg) < 3
    assert p.mask_confidence > 0.9


@pytest.mark.parametrize("facing", [1, -1])
@pytest.mark.parametrize("amp", [0.05, 0.10])
def test_rounded_back_reads_its_bulge(facing, amp):
    p = back_profile(*lifter_mask(amp, facing=facing))
    assert p.back_flexion_rel == pytest.approx(expected_flexion(amp), abs=0.01)
    assert p.back_angle_deg > 5 * amp / 0.05  # clearly bent, more for more rounding
    # The edge points lie out of the back: on the side away from the knee.
    _mask, _sh, hip, knee = lifter_mask(amp, facing=facing)
    ok = np.isfinite(p.edge_xy_px[:, 0])
    side = (p.edge_xy_px[ok] - hip) @ p.back_normal
    assert (side > 0).all()
    assert np.dot(knee - hip, p.back_normal) < 0


@pytest.mark.parametrize("facing", [1, -1])
def test_arched_back_is_not_flexion_and_bends_the_other_way(facing):
    p = back_profile(*lifter_mask(-0.06, facing=facing))
    assert p.back_flexion_rel < 0.01
    assert p.back_angle_deg < -5


def test_more_rounding_reads_more_and_mirroring_changes_nothing():
    values = [back_profile(*lifter_mask(a)).back_flexion_rel for a in (0.0, 0.03, 0.06, 0.09)]
    assert values == sorted(values) and values[-1] - values[0] > 0.03
    mask, sh, hip, knee = lifter_mask(0.07)
    p = back_profile(mask, sh, hip, knee)
    flip = lambda xy: np.array([W - 1 - xy[0], xy[1]])  # noqa: E731
    q = back_profile(mask[:, ::-1], flip(sh), flip(hip), flip(knee))
    assert q.back_flexion_rel == pytest.approx(p.back_flexion_rel, abs=0.002)
    assert q.back_angle_deg == pytest.approx(p.back_angle_deg, abs=0.5)


@pytest.mark.parametrize("lean", [20.0, 70.0])
def test_torso_angle_does_not_change_the_reading(lean):
    flat = back_profile(*lifter_mask(0.0, lean_deg=lean))
    rounded = back_profile(*lifter_mask(0.08, lean_deg=lean))
    assert flat.back_flexion_rel < 0.01
    assert rounded.back_flexion_rel == pytest.approx(expected_flexion(0.08), abs=0.01)


@pytest.mark.parametrize("facing", [1, -1])
def test_lower_back_rounding_is_read_down_to_the_hip(facing):
    """Rounding confined to the lumbar spine (hip to mid-back) reads as flexion: the samples start
    level with the hip. A span starting at 0.2 of the torso (the first version) saw less than
    half of it. (The parabola's bow under-reads such a local bend: about a third of the bump.)"""
    mask, sh, hip, knee = lifter_mask(0.08, facing=facing, shape=lower_back_bump)
    p = back_profile(mask, sh, hip, knee)
    old_span = back_profile(mask, sh, hip, knee, fractions=tuple(np.linspace(0.2, 0.9, 15)))
    assert FRACTIONS[0] == 0.0
    assert p.back_flexion_rel > 0.02
    assert p.back_flexion_rel > 2 * old_span.back_flexion_rel
    assert p.back_angle_deg > 0  # bent like a rounded back
    flat = back_profile(*lifter_mask(0.0, facing=facing, shape=lower_back_bump))
    assert flat.back_flexion_rel < 0.01  # the hip's own outline (thigh, buttock) is not a bow


def test_arms_and_bar_in_front_do_not_change_the_back():
    with_arms = back_profile(*lifter_mask(0.06, arms=True))
    without = back_profile(*lifter_mask(0.06, arms=False))
    assert with_arms.back_flexion_rel == pytest.approx(without.back_flexion_rel, abs=1e-6)


def test_soft_noisy_mask_lowers_confidence_but_keeps_the_reading():
    crisp = back_profile(*lifter_mask(0.08))
    soft = back_profile(*lifter_mask(0.08, soft_px=8.0, noise=0.05))
    assert soft.mask_confidence < crisp.mask_confidence - 0.2
    assert soft.back_flexion_rel == pytest.approx(crisp.back_flexion_rel, abs=0.015)


def test_unreadable_inputs_give_nan_not_errors():
    mask, sh, hip, knee = lifter_mask(0.05)
    empty = back_profile(np.zeros_like(mask), sh, hip, knee)
    assert not empty.valid and math.isnan(empty.back_angle_deg) and empty.mask_confidence == 0
    assert not back_profile(mask, sh, sh, knee).valid  # zero torso length
    assert not back_profile(mask, [np.nan, 1.0], hip, knee).valid
    with pytest.raises(ValueError, match="mask"):
        back_profile(mask[None], sh, hip, knee)


def test_back_side_from_facing_when_standing_tall():
    sh, hip = np.array([100.0, 0.0]), np.array([100.0, 200.0])
    knee_in_line = np.array([101.0, 380.0])
    assert back_normal(sh, hip, knee_in_line) is None
    assert back_normal(sh, hip, knee_in_line, facing_sign=1)[0] < 0  # faces right: back to the left
    assert back_normal(sh, hip, knee_in_line, facing_sign=-1)[0] > 0


@pytest.mark.parametrize("shape", [bump, lower_back_bump])
def test_frame_size_and_crop_do_not_change_the_reading(shape):
    """Torso lengths, not pixels: the same lifter at half the resolution, or cropped out of a
    larger frame, reads the same bow (within the resampling error)."""
    import cv2

    mask, sh, hip, knee = lifter_mask(0.07, shape=shape)
    full = back_profile(mask, sh, hip, knee)
    half = cv2.resize(mask, (W // 2, H // 2), interpolation=cv2.INTER_AREA)
    small = back_profile(half, sh / 2, hip / 2, knee / 2)
    assert small.torso_length_px == pytest.approx(full.torso_length_px / 2)
    assert small.back_flexion_rel == pytest.approx(full.back_flexion_rel, abs=0.004)
    assert small.back_angle_deg == pytest.approx(full.back_angle_deg, abs=2.0)
    off = np.array([40.0, 30.0])
    crop = back_profile(mask[30:, 40:], sh - off, hip - off, knee - off)
    assert crop.back_flexion_rel == pytest.approx(full.back_flexion_rel, abs=1e-9)
