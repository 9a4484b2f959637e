"The preprocessing layer on real clips: without a face (ksl13), hands only (cafe-asl-letters), face without a left hand (asl-signs)."
import numpy as np
import pytest
import torch

from slr_nb.core import GROUPS
from slr_nb.data.block import fit_length, pad_collate
from slr_nb.data.readers import open_dataset
from slr_nb.preprocess import FEATURE_KINDS, PREPROCESS_PRESETS, PreprocessConfig, PreprocessingLayer, missing_hands, preprocess_config

DATASETS = {'ksl13': 123, 'cafe-asl-letters': 150, 'asl-signs': 1}  # name -> stride through the clips (spread over signs and signers)
N_CLIPS = 20
SOURCE = {'ksl13': 1, 'asl-signs': 0}  # face nose for asl-signs, pose nose for ksl13 (no face)


@pytest.fixture(scope='module')
def clips(data_dir):
    "~20 real clips per dataset, as `[T, 543, 3]` tensors."
    out = {}
    for name, stride in DATASETS.items():
        reader = open_dataset(data_dir/name)
        out[name] = [torch.from_numpy(reader.read(e).landmarks) for e in reader.entries()[::stride][:N_CLIPS]]
        assert len(out[name]) == N_CLIPS
    return out


def _batch(xs):
    x, mask, _ = pad_collate([(x, torch.tensor(0)) for x in xs])
    return x, mask


@pytest.mark.parametrize('name', DATASETS)
@pytest.mark.parametrize('preset', PREPROCESS_PRESETS)
def test_shapes_and_finite(clips, name, preset):
    x, mask = _batch(clips[name])
    layer = PreprocessingLayer(preset)
    f, m = layer(x, mask)
    assert f.shape == (N_CLIPS, x.shape[1], PREPROCESS_PRESETS[preset].n_features) == (*x.shape[:2], layer.out_features)
    assert f.dtype == torch.float32 and torch.isfinite(f).all()
    if PREPROCESS_PRESETS[preset].skip_handless_frames:
        assert (m <= mask).all() and m.any(1).all()             # frames without hands become padding, never a whole clip
    else: assert torch.equal(m, mask)
    assert (f[~m] == 0).all()                                   # padded frames are all 0
    f1, m1 = layer(clips[name][0])                              # unbatched
    assert f1.shape == (len(clips[name][0]), layer.out_features)
    assert m1.all() or PREPROCESS_PRESETS[preset].skip_handless_frames and m1.any()


@pytest.mark.parametrize('name', DATASETS)
def test_padding_invariance(clips, name):
    xs = clips[name]
    if name != 'asl-signs': xs = [x[:len(x) - i % 7] for i, x in enumerate(xs)]  # equal-length datasets: vary the lengths
    x, mask = _batch(xs)
    assert not mask.all()
    for cfg in (preprocess_config('hybrid62', features=FEATURE_KINDS), PREPROCESS_PRESETS['islr118'], PREPROCESS_PRESETS['arms68']):
        layer = PreprocessingLayer(cfg)
        f, _ = layer(x, mask)
        for i, xi in enumerate(xs):
            torch.testing.assert_close(f[i, :len(xi)], layer(xi)[0], rtol=0, atol=0)


@pytest.mark.parametrize('name', DATASETS)
def test_centre_and_scale(clips, name):
    "The centre comes from the best source present; positions land at 0 on it and have spread 1."
    nose = {'ksl13': 489, 'asl-signs': 1}.get(name)
    rows = tuple(GROUPS['hands']) + ((nose,) if nose is not None else ())
    layer = PreprocessingLayer(PreprocessConfig(rows, coords=2, features=('position',)))
    x, mask = _batch(clips[name])
    _, scale, source = layer.centre_scale(x, mask)
    f, _ = layer(x, mask)
    pos = f.view(*f.shape[:2], len(rows), 2)
    present = torch.isfinite(x[:, :, list(rows)]).all(-1) & mask[..., None]
    has_hands = ~missing_hands(x, mask)
    if name in SOURCE:
        assert (source == SOURCE[name]).all()
        nose_seen = present[..., -1]
        centre_pos = (pos[..., -1, :] * nose_seen[..., None]).sum(1) / nose_seen.sum(1, keepdim=True)
        torch.testing.assert_close(centre_pos, torch.zeros_like(centre_pos), rtol=0, atol=1e-5)  # the nose lands at 0 on average
    else:
        assert (source[has_hands] == 3).all() and (source[~has_hands] == -1).all()  # hands only: the mean of the points
    for i in torch.nonzero(present.sum((1, 2)) > 1).flatten():  # spread 1 about each axis' own mean
        p = pos[i][present[i]]
        torch.testing.assert_close((p - p.mean(0)).pow(2).mean().sqrt(), torch.tensor(1.), rtol=1e-4, atol=0)
    assert (scale > 0).all() and torch.isfinite(scale).all()


def test_missing_left_hand_is_zero(clips):
    "asl-signs has no left hand: its features are 0, never NaN, and the right hand still moves."
    x, mask = _batch(clips['asl-signs'])
    assert torch.isnan(x[:, :, GROUPS['left_hand']]).all()
    f, _ = PreprocessingLayer('hybrid62')(x, mask)
    per_kind = f.view(*f.shape[:2], 4, 62, 3)
    assert (per_kind[:, :, :, :21] == 0).all()
    assert per_kind[:, :, 1, 21:42].abs().sum() > 0


def test_no_hands(clips):
    "A clip with no hand at all is flagged, and its features stay finite."
    xs = clips['cafe-asl-letters']
    x, mask = _batch(xs)
    flags = missing_hands(x, mask)
    expected = torch.tensor([bool(torch.isnan(xi[:, GROUPS['hands']]).all()) for xi in xs])
    assert torch.equal(flags, expected) and flags.any() and not flags.all()
    blank = xs[int(torch.nonzero(flags)[0])]
    assert missing_hands(blank).item()
    for preset in PREPROCESS_PRESETS:
        f, _ = PreprocessingLayer(preset)(blank)
        assert torch.isfinite(f).all() and (f == 0).all()


@pytest.mark.parametrize('mode', ['resample', 'truncate'])
def test_max_len_on_real_batch(clips, mode):
    "Capping a real padded batch gives, per clip, the frames `fit_length` picks (resample) or the first ones."
    xs = clips['asl-signs']
    M = 8
    x, mask = _batch(xs)
    layer = PreprocessingLayer(preprocess_config('hybrid62', max_len=M, length_mode=mode))
    f, m = layer(x, mask)
    assert f.shape[:2] == (N_CLIPS, M) and torch.isfinite(f).all()
    for i, xi in enumerate(xs):
        n = min(len(xi), M)
        assert m[i].sum() == n and m[i, :n].all()
        if mode == 'resample':
            kept = torch.from_numpy(fit_length(np.arange(len(xi)), M, 'resample'))
            ref, _ = PreprocessingLayer(preprocess_config('hybrid62'))(xi[kept])
            torch.testing.assert_close(f[i, :n], ref, rtol=0, atol=0)
        else: torch.testing.assert_close(f[i, :n], layer(xi[:M])[0], rtol=0, atol=0)
