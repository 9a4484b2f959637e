"Augmentations on real clips from Kaggle's asl-signs."
import numpy as np
import pytest
import pyarrow.parquet as pq

from slr_nb.core import N_LANDMARKS, PARTS, MIRROR
from slr_nb.data.augment import hflip, affine, resample_time, mask_time, mask_space, crop_time, sliding_windows, Augment


def _load(f): return pq.read_table(f, columns=['x', 'y', 'z']).to_pandas().to_numpy(np.float32).reshape(-1, N_LANDMARKS, 3)


@pytest.fixture(scope='module')
def clips(data_dir):
    files = sorted((data_dir/'asl-signs'/'train_landmark_files').glob('*/*.parquet'))[:10]
    assert files, f"no asl-signs parquet files under {data_dir}"
    return [_load(f) for f in files]


def test_hflip_twice_is_identity(clips):
    for x in clips:
        twice = hflip(hflip(x))
        np.testing.assert_array_equal(np.isnan(twice), np.isnan(x))
        # `1 - x` is rounded to float32, so values come back to within one rounding step
        np.testing.assert_allclose(twice, x, rtol=0, atol=1e-7)
        assert twice.dtype == np.float32


def test_hflip_swaps_hands(clips):
    for x in clips:
        f = hflip(x)
        lh, rh = PARTS['left_hand'], PARTS['right_hand']
        np.testing.assert_array_equal(np.isnan(f[:, lh]), np.isnan(x[:, rh]))
        np.testing.assert_array_equal(np.isnan(f[:, rh]), np.isnan(x[:, lh]))
        np.testing.assert_array_equal(f[:, rh, 0], 1 - x[:, lh, 0])
        np.testing.assert_array_equal(np.isnan(f), np.isnan(x[:, MIRROR]))


def test_affine_keeps_nan(clips):
    for x in clips:
        a = affine(x, scale=1.1, shear=0.1, rotate=-12, shift=(0.02, -0.03))
        np.testing.assert_array_equal(np.isnan(a), np.isnan(x))
        assert not np.isinf(a).any()


def test_resample_speed_one_is_identity(clips):
    for x in clips:
        np.testing.assert_array_equal(resample_time(x, 1.), x)
        for speed in (0.5, 0.8, 1.3, 1.5):
            r = resample_time(x, speed)
            assert len(r) == max(1, round(len(x) / speed))
            np.testing.assert_array_equal(r[0], x[0])
            if len(r) > 1: np.testing.assert_array_equal(r[-1], x[-1])
            # no point appears that was missing in every frame of the clip
            assert not (~np.isnan(r).any(-1) & np.isnan(x).any(-1).all(0)).any()


def test_masks_and_windows(clips):
    x = clips[0]
    m = mask_time(x, 1, 2)
    assert np.isnan(m[1:3]).all()
    np.testing.assert_array_equal(m[3:], x[3:])
    rows = np.arange(0, N_LANDMARKS, 7)
    s = mask_space(x, rows)
    assert np.isnan(s[:, rows]).all()
    keep = np.setdiff1d(np.arange(N_LANDMARKS), rows)
    np.testing.assert_array_equal(s[:, keep], x[:, keep])
    np.testing.assert_array_equal(crop_time(x, 1, 3), x[1:4])
    ws = sliding_windows(x, 4, 2)
    assert all(len(w) == min(4, len(x)) for w in ws)
    np.testing.assert_array_equal(ws[-1], x[-min(4, len(x)):])


def test_augment_shapes_and_values(clips):
    aug = Augment()
    for i, x in enumerate(clips):
        valid = ~np.isnan(x).any(-1)
        for s in range(20):
            o = aug(x, np.random.default_rng(1000*i + s))
            assert o.dtype == np.float32
            assert o.ndim == 3 and o.shape[1:] == (N_LANDMARKS, 3) and len(o) >= 1
            assert not np.isinf(o).any()
            assert not np.isnan(o).all()


def test_augment_never_empties_a_valid_clip(clips):
    # a fully valid clip: the face and pose of a real clip, hands filled in from the face
    x = clips[0].copy()
    x[:, PARTS['left_hand']] = x[:, :21]; x[:, PARTS['right_hand']] = x[:, 21:42]
    assert not np.isnan(x).any()
    aug = Augment(p_mask_time=1, p_mask_space=1, p_crop=1, max_mask_frac=1, max_mask_points_frac=1)
    for s in range(200):
        o = aug(x, np.random.default_rng(s))
        assert not np.isnan(o).all()
        assert not np.isnan(o).all((1, 2)).all(), 'some frame survives'
        assert not np.isnan(o).all((0, 2)).all(), 'some landmark survives'


def test_augment_none_is_identity(clips):
    for x in clips: np.testing.assert_array_equal(Augment.none()(x, np.random.default_rng(0)), x)


def test_augment_deterministic(clips):
    aug = Augment()
    for i, x in enumerate(clips):
        a, b = aug(x, np.random.default_rng(i)), aug(x, np.random.default_rng(i))
        np.testing.assert_array_equal(a, b)


def test_fast_paths_match_their_definitions(clips):
    # hflip and the default centre of affine are written for speed; they must equal the plain definitions bit for bit
    for x in clips:
        ref = x[:, MIRROR]; ref[..., 0] = 1 - ref[..., 0]
        np.testing.assert_array_equal(hflip(x), ref)
        xy = np.ascontiguousarray(x)[..., :2]   # affine works on a C-ordered copy; a float32 sum depends on the order
        n = (~np.isnan(xy).any(-1)).sum()
        center = np.nansum(xy.reshape(-1, 2), 0) / n
        kw = dict(scale=0.9, shear=0.05, rotate=7, shift=(0.01, 0.02))
        np.testing.assert_array_equal(affine(x, **kw), affine(x, center=tuple(center), **kw))
        speed = 0.7; T = len(x); t = np.linspace(0, T - 1, max(1, round(T / speed)))
        i0 = np.floor(t).astype(int); w = (t - i0).astype(np.float32)
        i1 = np.where(w > 0, np.minimum(i0 + 1, T - 1), i0); w = w[:, None, None]
        np.testing.assert_array_equal(resample_time(x, speed), (1 - w)*x[i0] + w*x[i1])
