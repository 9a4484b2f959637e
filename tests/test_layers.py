"Sequence blocks: padding invariance, finite training steps, masked BatchNorm, scheduled dropouts, tracing."
import warnings
import pytest
import torch
import torch.nn as nn
from slr_nb.layers import *

DIM = 64
BLOCKS = {
    'MaskedBatchNorm1d': lambda d: MaskedBatchNorm1d(d),
    'ECA': lambda d: ECA(),
    'TemporalConvBlock': lambda d: TemporalConvBlock(d, kernel_size=9, dilation=2, drop_rate=0.1, drop_path=0.1),
    'TemporalConvBlock-even': lambda d: TemporalConvBlock(d, kernel_size=4),
    'BidirectionalLSTM': lambda d: BidirectionalLSTM(d, dropout=0.1),
    'MaskedSelfAttention': lambda d: MaskedSelfAttention(d, num_heads=4, dropout=0.1),
    'TemporalAttention': lambda d: TemporalAttention(d, num_heads=4, dropout=0.1),
    'Conv1DBlock': lambda d: Conv1DBlock(d, kernel_size=7, drop_rate=0.1, drop_path=0.1),
    'TransformerBlock': lambda d: TransformerBlock(d, num_heads=4, drop_rate=0.1, drop_path=0.1),
}


def make_batch(lengths, dim=DIM, nan_pad=True):
    T = max(lengths)
    x = torch.randn(len(lengths), T, dim)
    mask = torch.arange(T)[None] < torch.tensor(lengths)[:, None]
    if nan_pad: x = x.masked_fill(~mask[..., None], float('nan'))   # as the data pipeline pads
    return x, mask


def warm_bn(m, dim=DIM):
    "One training step so BatchNorm running statistics are not the trivial 0/1."
    m.train()
    with torch.no_grad(): m(*make_batch([5, 9, 13], dim))
    return m.eval()


@pytest.mark.parametrize('name', BLOCKS)
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_padding_invariance(name, seed):
    torch.manual_seed(seed)
    m = warm_bn(BLOCKS[name](DIM))
    lengths = torch.randint(1, 20, (4,)).tolist()
    x, mask = make_batch(lengths)
    with torch.no_grad():
        out = m(x, mask)
        assert out.shape == x.shape
        assert (out[~mask] == 0).all()
        assert torch.isfinite(out).all()
        for i, n in enumerate(lengths):
            alone = m(x[i:i+1, :n], torch.ones(1, n, dtype=torch.bool))
            torch.testing.assert_close(out[i, :n], alone[0], atol=1e-5, rtol=0)
            torch.testing.assert_close(m(x[i:i+1, :n], None)[0], alone[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize('name', BLOCKS)
def test_training_is_finite(name):
    torch.manual_seed(0)
    m = BLOCKS[name](DIM).train()
    x, mask = make_batch([9, 6, 11])
    mask[1, 1:] = False                      # a clip with a single real frame
    x = x.masked_fill(~mask[..., None], float('nan'))
    batches = [(x, mask), make_batch([1]), (torch.randn(1, 1, DIM), None)]   # and a batch of one 1-frame clip
    for xb, mb in batches:
        xb = xb.clone().requires_grad_()
        m.zero_grad()
        out = m(xb, mb)
        out.square().mean().backward()
        assert torch.isfinite(out).all()
        assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)
        assert torch.isfinite(xb.grad).all()
        if mb is not None: assert (out[~mb] == 0).all() and (xb.grad[~mb] == 0).all()


@pytest.mark.parametrize('name', ['MaskedSelfAttention', 'TemporalAttention', 'TransformerBlock', 'Conv1DBlock', 'BidirectionalLSTM'])
def test_clip_without_real_frames(name):
    torch.manual_seed(0)
    m = BLOCKS[name](DIM).train()
    x, mask = make_batch([4, 8])
    mask[0] = False
    x.requires_grad_()
    out = m(x, mask)
    out.sum().backward()
    assert (out[0] == 0).all() and torch.isfinite(out).all() and torch.isfinite(x.grad).all()


def test_masked_batchnorm_uses_real_frames_only():
    torch.manual_seed(0)
    x, mask = make_batch([5, 12, 8], nan_pad=False)
    a, b = MaskedBatchNorm1d(DIM), MaskedBatchNorm1d(DIM)
    out_a = a(x, mask)
    out_b = b(x.masked_fill(~mask[..., None], 1e6), mask)
    torch.testing.assert_close(out_a[mask], out_b[mask])
    torch.testing.assert_close(a.running_mean, b.running_mean)
    torch.testing.assert_close(a.running_var, b.running_var)
    real = x[mask]
    torch.testing.assert_close(out_a[mask], (real - real.mean(0)) / (real.var(0, unbiased=False) + a.eps).sqrt(), atol=1e-4, rtol=0)
    torch.testing.assert_close(a.running_var, 0.9 + 0.1 * real.var(0))
    assert (out_b[~mask] == 0).all()


def test_masked_batchnorm_matches_batchnorm1d_without_padding():
    torch.manual_seed(0)
    x = torch.randn(4, 10, DIM) * 3 + 2
    m, ref = MaskedBatchNorm1d(DIM, momentum=None), nn.BatchNorm1d(DIM, momentum=None)
    for _ in range(3):
        torch.testing.assert_close(m(x), ref(x.transpose(1, 2)).transpose(1, 2), atol=1e-5, rtol=1e-5)
        x = x * 0.5 + 1
    torch.testing.assert_close(m.running_mean, ref.running_mean)
    torch.testing.assert_close(m.running_var, ref.running_var)
    assert m.num_batches_tracked == ref.num_batches_tracked == 3
    m.eval(); ref.eval()
    torch.testing.assert_close(m(x), ref(x.transpose(1, 2)).transpose(1, 2), atol=1e-5, rtol=1e-5)
    m.load_state_dict(ref.state_dict())   # same buffers and parameters


def test_masked_pooling():
    x, mask = make_batch([3, 5, 1])
    mask[2] = False
    torch.testing.assert_close(masked_mean(x, mask)[0], x[0, :3].mean(0))
    torch.testing.assert_close(masked_max(x, mask)[1], x[1].amax(0))
    assert (masked_mean(x, mask)[2] == 0).all() and (masked_max(x, mask)[2] == 0).all()


def test_late_dropout():
    torch.manual_seed(0)
    m = LateDropout(0.5, start_step=3)
    x = torch.ones(64, 32)
    for _ in range(3): assert torch.equal(m(x), x)
    assert int(m.step) == 3
    y = m(x)
    assert (y == 0).any() and set(y.unique().tolist()) == {0., 2.}
    m.eval()
    assert torch.equal(m(x), x) and int(m.step) == 4
    fresh = LateDropout(0.5, start_step=3)
    fresh.load_state_dict(m.state_dict())
    assert not torch.equal(fresh.train()(x), x)              # the count travels in the state dict
    assert not torch.equal(LateDropout(0.5).train()(x), x)   # start_step=0 drops at once


def test_adaptive_dropout():
    torch.manual_seed(0)
    m = AdaptiveDropout()
    x = torch.ones(1000, 16)
    assert torch.equal(m(x), x)
    m.p = 0.3
    assert abs((m(x) == 0).float().mean().item() - 0.3) < 0.02
    m.p = 0.7
    assert abs((m(x) == 0).float().mean().item() - 0.7) < 0.02
    assert torch.equal(m.eval()(x), x)


def test_drop_path():
    torch.manual_seed(0)
    x = torch.ones(2000, 3, 4)
    y = DropPath(0.25)(x)
    per_sample = y.flatten(1)
    assert ((per_sample == 0).all(1) | (per_sample == 4 / 3).all(1)).all()
    assert abs((per_sample[:, 0] == 0).float().mean().item() - 0.25) < 0.03
    assert torch.equal(DropPath(0.25).eval()(x), x) and torch.equal(DropPath(0.)(x), x)


@pytest.mark.parametrize('name', BLOCKS)
def test_jit_trace_single_clip(name):
    torch.manual_seed(0)
    m = warm_bn(BLOCKS[name](DIM))
    x, mask = torch.randn(1, 15, DIM), torch.ones(1, 15, dtype=torch.bool)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # `torch.jit.trace` is deprecated; TracerWarnings
        traced = torch.jit.trace(m, (x, mask))
    with torch.no_grad():
        torch.testing.assert_close(traced(x, mask), m(x, mask), atol=1e-5, rtol=0)
        x2, mask2 = torch.randn(1, 15, DIM), torch.ones(1, 15, dtype=torch.bool)
        torch.testing.assert_close(traced(x2, mask2), m(x2, mask2), atol=1e-5, rtol=0)


def test_lstm_export_flag():
    torch.manual_seed(0)
    m = BidirectionalLSTM(DIM).eval()
    x = torch.randn(1, 10, DIM)
    with torch.no_grad():
        packed = m(x, torch.ones(1, 10, dtype=torch.bool))
        m.export = True
        torch.testing.assert_close(m(x, torch.ones(1, 10, dtype=torch.bool)), packed, atol=1e-5, rtol=0)


def test_param_counts():
    n = lambda m: sum(p.numel() for p in m.parameters())
    assert n(TemporalConvBlock(192)) == 40_896
    assert n(BidirectionalLSTM(192)) == 445_440
    assert n(TemporalAttention(192)) == 148_608
    assert n(Conv1DBlock(192)) == 155_333
    assert n(TransformerBlock(192)) == 297_024
    assert n(ECA()) == 5
