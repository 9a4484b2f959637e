"Every real dataset feeds through the fastai DataLoaders, split by the groups that keep validation honest."
import numpy as np
import pytest
import torch
from slr_nb.data.augment import Augment
from fastai.torch_core import set_seed
from slr_nb.data.block import ClipDataLoaders, default_workers, pad_collate
from slr_nb.data.store import build_store

SPLITS = {
    'asl-signs': dict(split_by='group', valid_values='62590'),
    'ksl13': dict(split_by='session', valid_values='MP_Data1,MP_Data3'),
    'cafe-asl': dict(split_by='signer', valid_values='Alex'),
    'cafe-asl-letters': dict(split_by='signer', valid_values='Alex'),
    'mp-data-sample': dict(valid_idx=[0, 3, 6]),
    'pose': dict(valid_idx=[0, 1]),
}


@pytest.mark.parametrize('name', SPLITS)
def test_dataloaders(data_dir, name):
    dls = ClipDataLoaders.from_path(data_dir/name, augment=Augment(), bs=16, max_len=64, **SPLITS[name])
    for dl in (dls.train, dls.valid):
        x, mask, y = dl.one_batch()
        assert x.shape[2:] == (543, 3) and x.dtype == torch.float32 and x.shape[1] <= 64
        assert mask.shape == x.shape[:2] and mask.any(1).all()
        assert torch.isnan(x[~mask]).all()                 # padding is NaN
        assert not torch.isinf(x).any()
        assert y.dtype == torch.long and (y >= 0).all() and (y < dls.c).all()
    tr, va = dls.train.dataset, dls.valid.dataset
    assert len(np.intersect1d(tr.idxs, va.idxs)) == 0


def test_held_out_groups_never_train(data_dir):
    dls = ClipDataLoaders.from_path(data_dir/'ksl13', split_by='session', valid_values=['MP_Data1', 'MP_Data3'], bs=64)
    items = dls.train.dataset.store.items
    assert set(items.session.iloc[dls.train.dataset.idxs]) == {'MP_Data', 'MP_Data2', 'MP_Data4'}
    assert len(dls.valid.dataset) == 520 and dls.vocab[0] == "Let's go"
    n = sum(len(y) for *_, y in dls.train)
    assert n == len(dls.train.dataset) // 64 * 64          # drop_last on training, every clip once otherwise


def test_multitask_targets(data_dir):
    dls = ClipDataLoaders.from_path(data_dir/'cafe-asl', split_by='signer', valid_values='Alex', target='label+category', bs=8)
    x, mask, y, cat = dls.valid.one_batch()
    assert len(dls.cat_vocab) == 8 and (cat < 8).all()


def test_separate_valid_folder(data_dir):
    dls = ClipDataLoaders.from_path(data_dir/'mp-data-sample', valid_path=data_dir/'mp-data-sample', bs=4)
    assert len(dls.valid.dataset) == 9 and dls.vocab == ['no', 'sorry', 'yes']


def test_bucketing_keeps_every_clip(data_dir):
    store = build_store(data_dir/'asl-signs')
    dls = ClipDataLoaders.from_store(store, split_by='group', valid_values='62590', bs=8, bucket=True)
    seen = []
    for x, mask, y in dls.train: seen.append(len(y))
    assert sum(seen) == len(dls.train.dataset) // 8 * 8


def test_default_workers_is_the_loader_default(data_dir):
    n = default_workers()
    assert isinstance(n, int) and 0 <= n <= 8
    store = build_store(data_dir/'ksl13')
    dls = ClipDataLoaders.from_store(store, split_by='session', valid_values='MP_Data1', bs=16)
    assert dls.train.fake_l.num_workers == dls.valid.fake_l.num_workers == n
    assert ClipDataLoaders.from_store(store, split_by='session', valid_values='MP_Data1', num_workers=0).train.fake_l.num_workers == 0


def _first_batches(store, seed, workers, n=3):
    set_seed(seed)
    dls = ClipDataLoaders.from_store(store, split_by='session', valid_values='MP_Data1,MP_Data3', augment=Augment(),
                                     max_len=64, length_mode='resample', bs=32, num_workers=workers)
    out = []
    for b in dls.train:
        out.append(b)
        if len(out) == n: break
    return out


def test_workers_are_deterministic_under_set_seed(data_dir):
    store = build_store(data_dir/'ksl13')
    a, b, inproc = _first_batches(store, 7, 2), _first_batches(store, 7, 2), _first_batches(store, 7, 0)
    for p, q, r in zip(a, b, inproc):
        assert all(torch.equal(torch.nan_to_num(u, -9.), torch.nan_to_num(v, -9.)) for u, v in zip(p, q))
        assert torch.equal(p[2], r[2])                      # the same clips in the same order as in-process
    assert not torch.equal(torch.nan_to_num(a[0][0]), torch.nan_to_num(_first_batches(store, 8, 2, 1)[0][0]))


def test_pad_collate_real_clips(data_dir):
    store = build_store(data_dir/'asl-signs')
    items = [(torch.from_numpy(store.clip(i)), torch.tensor(i)) for i in range(8)]
    x, mask, y = pad_collate(items)
    for i, (xi, _) in enumerate(items):
        n = len(xi)
        assert mask[i].sum() == n and torch.equal(torch.isnan(x[i, :n]), torch.isnan(xi))
        assert torch.equal(torch.nan_to_num(x[i, :n]), torch.nan_to_num(xi)) and torch.isnan(x[i, n:]).all()
