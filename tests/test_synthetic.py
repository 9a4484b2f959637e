"The synthetic dataset: deterministic, well-formed, mirrored for left-handers, and readable as an NPZ dataset folder."
import numpy as np
import pytest
from slr_nb.core import N_LANDMARKS, PARTS
from slr_nb.data.readers import read_clips, open_dataset
from slr_nb.data.store import build_store
from slr_nb.data.synthetic import (SYNTHETIC_SIGNS, SYNTHETIC_LEFT_HANDED, synthetic_clip, synthetic_clips,
                                   synthetic_signer, write_synthetic_npz)


@pytest.fixture(scope='module')
def clips():
    return synthetic_clips()  # its generation time is measured by bench/data.py, not by a timed test


def _motion(x, part):
    "How far a hand's wrist moves about (0 for a hand never seen)."
    w = x[:, PARTS[part].start, :2]
    return np.nanstd(w, 0).sum() if (~np.isnan(w[:, 0])).sum() > 1 else 0.


def test_deterministic():
    for sign in SYNTHETIC_SIGNS:
        np.testing.assert_array_equal(synthetic_clip(sign, 3, 5), synthetic_clip(sign, 3, 5))  # NaN == NaN here
    a, b = synthetic_clips(n_signers=2, clips_per_sign=2, seed=1), synthetic_clips(n_signers=2, clips_per_sign=2, seed=1)
    for x, y in zip(a, b): np.testing.assert_array_equal(x.landmarks, y.landmarks)
    c = synthetic_clips(n_signers=2, clips_per_sign=2, seed=2)
    assert any(x.landmarks.shape != y.landmarks.shape or not np.allclose(x.landmarks, y.landmarks, equal_nan=True) for x, y in zip(a, c))
    assert synthetic_signer(4) == synthetic_signer(4)


def test_shapes_values(clips):
    assert len(clips) == 6 * len(SYNTHETIC_SIGNS) * 12
    assert {c.label for c in clips} == set(SYNTHETIC_SIGNS) and all(c.label.startswith('synthetic-') for c in clips)
    assert sorted({c.group for c in clips}) == [f'synthetic-signer{k}' for k in range(6)]
    for c in clips:
        x = c.landmarks
        assert x.dtype == np.float32 and x.ndim == 3 and x.shape[1:] == (N_LANDMARKS, 3) and 20 <= len(x) <= 60
        assert not np.isinf(x).any()
        assert not np.isnan(x[:, PARTS['pose']]).any() and not np.isnan(x[:, PARTS['face']]).any()  # only hands go missing
        assert (np.isnan(x).any(-1) == np.isnan(x).all(-1)).all()                                # whole points only
    x = np.concatenate([c.landmarks for c in clips])
    face = x[:, PARTS['face']]
    assert 0 < np.nanmin(face[..., :2]) and np.nanmax(face[..., :2]) < 1                        # the face is in the image
    assert np.nanmax(np.abs(x[..., 2])) < 1                                                    # z is small
    assert synthetic_clip('synthetic-wave', 0, 0, n_frames=25).shape == (25, N_LANDMARKS, 3)
    with pytest.raises(ValueError, match='unknown synthetic sign'): synthetic_clip('hello', 0, 0)


def test_nan_fraction(clips):
    dominant = [np.isnan(c.landmarks[:, PARTS['left_hand' if c.meta['dominant'] == 'left' else 'right_hand'], 0]).all(1) for c in clips]
    frac = np.concatenate(dominant).mean()
    assert 0.02 < frac < 0.15, frac                       # about 5% detector misses, a little more while the hand comes up
    assert max(d.mean() for d in dominant) < 0.6          # no clip loses most of its dominant hand


def test_lengths_do_not_give_the_sign_away(clips):
    mean_len = {s: np.mean([len(c) for c in clips if c.label == s]) for s in SYNTHETIC_SIGNS}
    assert max(mean_len.values()) - min(mean_len.values()) < 8, mean_len


def test_left_handed_use_other_hand():
    for k in range(6):
        for sign in ('synthetic-circle', 'synthetic-zigzag', 'synthetic-wave', 'synthetic-chin-tap', 'synthetic-push'):
            x = synthetic_clip(sign, k, 0)
            left, right = _motion(x, 'left_hand'), _motion(x, 'right_hand')
            assert (left > 3*right) if k in SYNTHETIC_LEFT_HANDED else (right > 2*left), (k, sign, left, right)
    r, l = synthetic_clip('synthetic-push', 2, 1, left_handed=False), synthetic_clip('synthetic-push', 2, 1, left_handed=True)
    nose = lambda x: x[:, PARTS['pose'].start, 0]
    np.testing.assert_allclose(np.nanmean(l[:, PARTS['left_hand'], 0] - nose(l)[:, None]),
                               -np.nanmean(r[:, PARTS['right_hand'], 0] - nose(r)[:, None]), atol=0.01)


def test_npz_folder_and_store(tmp_path):
    d = write_synthetic_npz(tmp_path/'synthetic', n_signers=3, clips_per_sign=2)
    assert open_dataset(d).format == 'npz'
    read, problems = read_clips(d)
    assert problems == []
    mem = synthetic_clips(n_signers=3, clips_per_sign=2)
    assert len(read) == len(mem) == 3 * len(SYNTHETIC_SIGNS) * 2
    assert [(c.label, c.group) for c in read] == [(c.label, c.group) for c in mem]
    for a, b in zip(read, mem): np.testing.assert_array_equal(a.landmarks, b.landmarks)
    built = (d/'labels.csv').stat().st_mtime_ns
    assert write_synthetic_npz(d, n_signers=3, clips_per_sign=2) == d and (d/'labels.csv').stat().st_mtime_ns == built  # idempotent
    store = build_store(d)
    assert len(store) == len(mem)
    assert store.lengths.tolist() == [len(c) for c in mem]
    assert sorted(store.items.group.unique()) == ['synthetic-signer0', 'synthetic-signer1', 'synthetic-signer2']
    assert store.items.label.tolist() == [c.label for c in mem]
    np.testing.assert_array_equal(store.clip(3), mem[3].landmarks)
    write_synthetic_npz(d, n_signers=2, clips_per_sign=1)                                   # other settings: replaced
    assert len(read_clips(d)[0]) == 2 * len(SYNTHETIC_SIGNS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['synthetic']                      # no temporary folders left


def test_refuses_foreign_folder(tmp_path):
    (tmp_path/'notes.txt').write_text('not a dataset')
    with pytest.raises(FileExistsError, match='not a synthetic dataset'): write_synthetic_npz(tmp_path)
    assert (tmp_path/'notes.txt').read_text() == 'not a dataset'
