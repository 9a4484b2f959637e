"Every real dataset feeds through the fastai DataLoaders, split by the groups that keep validation honest."
import numpy as np
import pytest
import torch
from slr_nb.data.augment import Augment
from slr_nb.data.block import ClipDataLoaders
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
