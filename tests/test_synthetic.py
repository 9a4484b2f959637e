"The synthetic dataset: deterministic, well-formed, mirrored for left-handers, and readable as an NPZ dataset folder."
import numpy as np
import pytest
from slr_nb.core import N_LANDMARKS, PARTS
from slr_nb.data.readers import read_clips, open_dataset
from slr_nb.data.store import build_store
from slr_nb.data.synthetic import (SYNTHETIC_SIGNS, SYNTHETIC_LEFT_HANDED, SYNTHETIC_PLACES, SYNTHETIC_MOVEMENTS,
                                   SYNTHETIC_HANDSHAPES, synthetic_clip, synthetic_clips, synthetic_signer, synthetic_vocabulary,
                                   synthetic_composition, synthetic_category, write_synthetic_npz)


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


def test_vocabulary_names_stable():
    v = synthetic_vocabulary(300)
    assert len(v) == len(set(v)) == 300 and v[0] == 'synthetic-v000' and v[-1] == 'synthetic-v299'
    for n in (1, 10, 40, 250): assert synthetic_vocabulary(n) == v[:n]                       # a name means one sign, whatever n
    assert synthetic_vocabulary(np.int64(5)) == v[:5]
    # pinned: the name -> composition map must never change (it would silently relabel saved datasets and models)
    assert synthetic_composition('synthetic-v000') == dict(handshape='flat', place='forehead', movement='circle', hands='one')
    assert synthetic_composition('synthetic-v001') == dict(handshape='fist', place='neutral', movement='arc', hands='two')
    assert synthetic_composition('synthetic-v249') == synthetic_composition('synthetic-v249')


def test_vocabulary_compositions_distinct():
    v = synthetic_vocabulary(704)
    comps = [tuple(synthetic_composition(s).values()) for s in v]
    assert len(set(comps)) == 704                                                           # every composition once
    for h, pl, mv, hands in comps:
        assert h in SYNTHETIC_HANDSHAPES and pl in SYNTHETIC_PLACES and mv in SYNTHETIC_MOVEMENTS and hands in ('one', 'two')
        assert not (pl == 'palm' and hands == 'two')
    c = np.array([[hash(x) for x in comp] for comp in comps])
    differ = (c[:, None] != c[None]).sum(-1) + 9*np.eye(len(c), dtype=int)
    assert differ[:11, :11].min() == 3 and differ[:74, :74].min() == 2                       # small vocabularies are spread out
    for k in range(4):                                                                      # and use every value of every parameter
        assert len({comp[k] for comp in comps[:40]}) == (8, 6, 8, 2)[k]
    assert {synthetic_category(s) for s in v[:40]} == set(SYNTHETIC_MOVEMENTS)
    assert synthetic_category('synthetic-push') == 'path' and synthetic_category('hello') == 'other'


def test_vocabulary_invalid():
    for n in (0, -1, 705, 2.5, '10', True, None):
        with pytest.raises(ValueError, match='synthetic vocabulary has 1 to 704 signs'): synthetic_vocabulary(n)
    for name in ('synthetic-v704', 'synthetic-v0', 'synthetic-v0001', 'synthetic-vabc', 'hello'):
        with pytest.raises(ValueError, match='unknown synthetic sign'): synthetic_clip(name, 0, 0)
        with pytest.raises(ValueError, match='unknown composed synthetic sign'): synthetic_composition(name)


def test_composed_clips():
    v = synthetic_vocabulary(300)
    for i, sign in enumerate(v[::25]):
        x = synthetic_clip(sign, i % 6, i)
        assert x.dtype == np.float32 and x.shape[1:] == (N_LANDMARKS, 3) and 20 <= len(x) <= 60
        assert not np.isinf(x).any()
        assert not np.isnan(x[:, PARTS['pose']]).any() and not np.isnan(x[:, PARTS['face']]).any()  # only hands go missing
        np.testing.assert_array_equal(x, synthetic_clip(sign, i % 6, i))
    assert synthetic_clip(v[7], 1, 0, n_frames=25).shape == (25, N_LANDMARKS, 3)
    a, b = synthetic_clip(v[3], 2, 0), synthetic_clip(v[4], 2, 0)                           # another sign, another clip
    assert a.shape != b.shape or not np.allclose(a, b, equal_nan=True)
    one = [s for s in v[:60] if synthetic_composition(s)['hands'] == 'one' and synthetic_composition(s)['place'] != 'palm'][:6]
    for k in range(6):
        for s in one:
            x = synthetic_clip(s, k, 0)
            left, right = _motion(x, 'left_hand'), _motion(x, 'right_hand')
            assert (left > 2*right) if k in SYNTHETIC_LEFT_HANDED else (right > 2*left), (k, s, left, right)
    two = [s for s in v[:60] if synthetic_composition(s)['hands'] == 'two'][:4]
    for s in two:                                                                           # both hands make it: both in view, both moving
        x = synthetic_clip(s, 0, 0)
        assert min(_motion(x, 'left_hand'), _motion(x, 'right_hand')) > 0.3*max(_motion(x, 'left_hand'), _motion(x, 'right_hand')), s
    clips = synthetic_clips(n_signers=2, clips_per_sign=1, signs=v[:20] + SYNTHETIC_SIGNS[:2])  # the two kinds mix
    assert [c.label for c in clips[:22]] == list(v[:20] + SYNTHETIC_SIGNS[:2])
    assert max(np.isnan(c.landmarks[:, PARTS['left_hand' if c.meta['dominant'] == 'left' else 'right_hand'], 0]).all(1).mean() for c in clips) < 0.6


def test_composed_npz_and_store(tmp_path):
    signs = synthetic_vocabulary(5)
    d = write_synthetic_npz(tmp_path/'composed', n_signers=2, clips_per_sign=2, signs=signs)
    read, problems = read_clips(d)
    assert problems == [] and len(read) == 2*5*2
    assert {(c.label, c.category) for c in read} == {(s, synthetic_composition(s)['movement']) for s in signs}
    store = build_store(d, store_dir=tmp_path/'store')
    assert sorted(store.items.label.unique()) == sorted(signs)
    assert sorted(store.items.group.unique()) == ['synthetic-signer0', 'synthetic-signer1']
    np.testing.assert_array_equal(store.clip(7), synthetic_clips(n_signers=2, clips_per_sign=2, signs=signs)[7].landmarks)
