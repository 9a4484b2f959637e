"The store holds exactly what the readers read, is reused while the sources stand still, and rebuilt when they change."
import os, shutil, time
import numpy as np
import pandas as pd
import pytest
from slr_nb.data.readers import read_clips
from slr_nb.data.store import build_store, ClipStore, split_by


@pytest.mark.parametrize('name', ['asl-signs', 'ksl13', 'mp-data-sample', 'pose'])
def test_store_equals_reader(data_dir, name):
    clips, _ = read_clips(data_dir/name)
    store = build_store(data_dir/name)
    assert len(store) == len(clips)
    assert store.lengths.tolist() == [len(c) for c in clips]
    assert store.items.label.tolist() == [c.label for c in clips]
    for i in range(0, len(clips), max(1, len(clips) // 25)):
        np.testing.assert_array_equal(store.clip(i), clips[i].landmarks)


def test_store_reused_and_rebuilt(data_dir, tmp_path):
    shutil.copytree(data_dir/'mp-data-sample'/'MP_Data', tmp_path/'MP_Data')
    s1 = build_store(tmp_path/'MP_Data')
    built = (s1.path/'meta.json').stat().st_mtime_ns
    s2 = build_store(tmp_path/'MP_Data')
    assert (s2.path/'meta.json').stat().st_mtime_ns == built            # reused, not rebuilt
    f = tmp_path/'MP_Data'/'yes'/'0'/'0.npy'
    x = np.load(f); x[:132] = 0.5; np.save(f, x)
    os.utime(f, ns=(time.time_ns(), time.time_ns() + 10**9))
    s3 = build_store(tmp_path/'MP_Data')
    assert s3.meta['fingerprint'] != s1.meta['fingerprint']
    i = s3.items.index[(s3.items.label == 'yes') & (s3.items.sequence == '0')][0]
    np.testing.assert_allclose(s3.clip(i)[0, 489:522], 0.5)           # the change is in the new store
    assert not list(tmp_path.parent.glob('*.tmp-*'))


def test_float16_store(data_dir):
    s16, s32 = build_store(data_dir/'ksl13', dtype='float16'), build_store(data_dir/'ksl13')
    assert s16.frames.dtype == np.float16 and s16.path != s32.path
    assert (s16.path/'frames.bin').stat().st_size * 2 == (s32.path/'frames.bin').stat().st_size
    np.testing.assert_allclose(s16.clip(7), s32.clip(7), atol=2e-3)


def test_interrupted_build_leaves_nothing(data_dir, tmp_path, monkeypatch):
    import slr_nb.data.store as st
    def boom(*a, **k): raise KeyboardInterrupt
    monkeypatch.setattr(st, '_write_store', boom)
    with pytest.raises(KeyboardInterrupt): build_store(data_dir/'mp-data-sample', tmp_path/'store')
    assert list(tmp_path.iterdir()) == []


def test_splits_by_session_and_signer(data_dir):
    ksl = build_store(data_dir/'ksl13')
    train, valid = split_by(ksl.items, 'session', 'MP_Data1,MP_Data3')
    assert (len(train), len(valid)) == (1950, 520)
    assert set(ksl.items.session.iloc[valid]) == {'MP_Data1', 'MP_Data3'}
    cafe = build_store(data_dir/'cafe-asl')
    train, valid = split_by(cafe.items, 'signer', ['Alex'])
    assert len(valid) == 420 and len(train) == 4273
