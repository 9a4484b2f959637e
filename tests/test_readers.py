"Every real dataset reads with the right counts; corrupt copies are reported file by file and lose nothing."
import json, shutil
from collections import Counter
import numpy as np
import pandas as pd
import pytest
from slr_nb.core import N_LANDMARKS, PARTS
from slr_nb.data.readers import Clip, Problem, detect_format, read_clips, load_landmarks, open_dataset

EXPECTED = {  # folder: (format, clips, classes, groups)
    'asl-signs': ('kaggle', 173, 2, 5),
    'ksl13': ('npz', 2470, 13, 5),
    'cafe-asl': ('npz', 4693, 33, 3),
    'cafe-asl-letters': ('npz', 3150, 28, 3),
    'mp-data-sample': ('mp_data', 9, 3, 1),
}


@pytest.mark.parametrize('name', EXPECTED)
def test_real_dataset_counts(data_dir, name):
    fmt, n, n_classes, n_groups = EXPECTED[name]
    assert detect_format(data_dir/name) == fmt
    clips, problems = read_clips(data_dir/name)
    assert len(clips) == n
    assert len({c.label for c in clips}) == n_classes
    assert len({c.group for c in clips}) == n_groups
    assert [p for p in problems if p.level == 'error'] == []
    for c in clips[::97]:
        assert c.landmarks.shape[1:] == (N_LANDMARKS, 3) and c.landmarks.dtype == np.float32
        assert not np.isinf(c.landmarks).any()


def test_groups_are_the_recording_units(data_dir):
    ksl = Counter(c.group for c in read_clips(data_dir/'ksl13')[0])
    assert ksl == {'MP_Data': 650, 'MP_Data1': 130, 'MP_Data2': 650, 'MP_Data3': 390, 'MP_Data4': 650}
    assert {c.group for c in read_clips(data_dir/'cafe-asl')[0]} == {'dmohazab', 'TheCamNelson', 'Alex'}


def test_zero_parts_become_nan(data_dir):
    "The 258 layout stores undetected hands as zeros; those frames must be NaN, never zeros."
    clips, _ = read_clips(data_dir/'ksl13')
    raw = np.load(data_dir/'ksl13'/'clips'/(pd.read_csv(data_dir/'ksl13'/'labels.csv').file[0] + '.npz'))['X']
    x = clips[0].landmarks
    lh_zero = ~raw[:, 132:195].any(1)
    assert np.isnan(x[lh_zero][:, PARTS['left_hand']]).all()
    assert not np.isnan(x[~lh_zero][:, PARTS['left_hand']]).any()
    assert np.isnan(x[:, PARTS['face']]).all()              # no face in the 258 layout
    np.testing.assert_allclose(x[:, PARTS['pose']], raw[:, :132].reshape(-1, 33, 4)[..., :3])
    assert not any((c.landmarks == 0).all(-1).any() for c in clips[:200])  # no all-zero point survives


def test_letters_hands_only(data_dir):
    clips, problems = read_clips(data_dir/'cafe-asl-letters')
    assert all(np.isnan(c.landmarks[:, PARTS['pose']]).all() for c in clips[:50])
    blank = [p for p in problems if p.level == 'warning']
    assert len(blank) == 29 and all('no landmark detected' in p.error for p in blank)  # kept: they are the "no sign" class


def test_every_pose_file(data_dir):
    files = sorted((data_dir/'pose').glob('*.pose'))
    assert len(files) == 12
    clips, problems = read_clips(data_dir/'pose')
    assert len(clips) == len(files) and problems == []
    by_name = {c.source.split('/')[-1]: c.landmarks for c in clips}
    op = by_name['python__tests__data__openpose.pose']
    assert np.isnan(op[:, PARTS['face']]).all()               # OpenPose's 70-point face has no place in the mesh
    assert not np.isnan(op[:, 489 + 11]).all()                # its shoulders map onto the pose
    full = by_name['python__tests__data__hand_estimation__6fb01565da31c5500d1ef2cd2906b06b.pose']
    assert not np.isnan(full[:, PARTS['face']]).any()        # 478-point face: the 468 mesh points are placed
    for f in files: assert load_landmarks(f).shape[1:] == (N_LANDMARKS, 3)


def test_mp_data_matches_npz(data_dir):
    "The tutorial folders hold KSL clips; their vectors convert exactly like the NPZ ones."
    clips, _ = read_clips(data_dir/'mp-data-sample')
    assert Counter(c.label for c in clips) == {'no': 3, 'sorry': 3, 'yes': 3}
    assert all(len(c) == 30 for c in clips)


# ---- corrupt copies: each bad file is reported by name, every good clip is still read ----

def _kaggle_copy(data_dir, tmp_path, n=8):
    src = data_dir/'asl-signs'
    df = pd.read_csv(src/'train.csv').head(n)
    for p in df.path:
        (tmp_path/p).parent.mkdir(parents=True, exist_ok=True); shutil.copy(src/p, tmp_path/p)
    return df


def test_corrupt_kaggle(data_dir, tmp_path):
    df = _kaggle_copy(data_dir, tmp_path)
    paths = list(df.path)
    f = tmp_path/paths[0]; f.write_bytes(f.read_bytes()[:len(f.read_bytes())//2])        # truncated parquet
    t = pd.read_parquet(tmp_path/paths[1]); t.iloc[:500].to_parquet(tmp_path/paths[1])    # not whole frames
    t = pd.read_parquet(tmp_path/paths[2]); t.loc[5, 'x'] = np.inf; t.to_parquet(tmp_path/paths[2])
    t = pd.read_parquet(tmp_path/paths[3]); t.iloc[:0].to_parquet(tmp_path/paths[3])      # no frames
    t = pd.read_parquet(tmp_path/paths[4]); t[['x', 'y', 'z']] = np.nan; t.to_parquet(tmp_path/paths[4])
    missing = pd.DataFrame([dict(path='train_landmark_files/1/404.parquet', participant_id=1, sequence_id=404, sign='hello')])
    pd.concat([df, missing]).to_csv(tmp_path/'train.csv', index=False)

    clips, problems = read_clips(tmp_path)
    errors = {p.file.split('/')[-1]: p.error for p in problems if p.level == 'error'}
    assert 'cannot read parquet' in errors[paths[0].split('/')[-1]]
    assert 'not a whole number' in errors[paths[1].split('/')[-1]]
    assert 'infinite' in errors[paths[2].split('/')[-1]]
    assert 'no frames' in errors[paths[3].split('/')[-1]]
    assert any('404.parquet' in e and 'does not exist' in e for e in errors.values())
    warns = [p for p in problems if p.level == 'warning']
    assert len(warns) == 1 and paths[4] in warns[0].file
    assert len(clips) == 4                                   # 3 good + the all-NaN one (a warning, kept)
    assert sorted(c.source for c in clips) == sorted(str(tmp_path/p) for p in paths[4:])


def test_corrupt_npz(data_dir, tmp_path):
    src = data_dir/'ksl13'
    labels = pd.read_csv(src/'labels.csv').head(8)
    (tmp_path/'clips').mkdir()
    for f in labels.file: shutil.copy(src/'clips'/f'{f}.npz', tmp_path/'clips'/f'{f}.npz')
    shutil.copy(src/'classes.json', tmp_path/'classes.json')
    files = list(labels.file)
    b = (tmp_path/'clips'/f'{files[0]}.npz').read_bytes(); (tmp_path/'clips'/f'{files[0]}.npz').write_bytes(b[:len(b)//3])
    np.savez(tmp_path/'clips'/f'{files[1]}.npz', X=np.ones((30, 300), np.float32))     # wrong shape
    np.savez(tmp_path/'clips'/f'{files[2]}.npz', X=np.ones((0, 258), np.float32))      # no frames
    labels.loc[3, 'gloss'] = 99                                                        # label out of range
    rows = pd.concat([labels, pd.DataFrame([dict(file='ghost', gloss=0, cat=0, session='MP_Data', seq=0)])])
    rows.to_csv(tmp_path/'labels.csv', index=False)

    clips, problems = read_clips(tmp_path)
    msg = {p.file: p.error for p in problems}
    assert 'cannot read npz' in msg[str(tmp_path/'clips'/f'{files[0]}.npz')]
    assert '300 values per frame' in msg[str(tmp_path/'clips'/f'{files[1]}.npz')]
    assert 'no frames' in msg[str(tmp_path/'clips'/f'{files[2]}.npz')]
    assert any(k.endswith('labels.csv:5') and 'gloss id 99 out of range' in v for k, v in msg.items())
    assert any(k.endswith('labels.csv:10') and 'ghost' in v for k, v in msg.items())
    assert len(clips) == 4 and [c.source.split('/')[-1] for c in clips] == [f'{f}.npz' for f in files[4:]]


def test_unknown_layout_needs_declaring(tmp_path):
    (tmp_path/'clips').mkdir()
    np.savez(tmp_path/'clips'/'a.npz', X=np.ones((4, 99), np.float32))
    (tmp_path/'labels.csv').write_text('file,gloss\na,hi\n')
    clips, problems = read_clips(tmp_path)
    assert clips == [] and 'pass layout=' in problems[0].error and 'a.npz' in problems[0].file


def test_mp_data_empty_sequence(data_dir, tmp_path):
    shutil.copytree(data_dir/'mp-data-sample'/'MP_Data', tmp_path/'MP_Data')
    for f in (tmp_path/'MP_Data'/'yes'/'1').glob('*.npy'): f.unlink()
    clips, problems = read_clips(tmp_path/'MP_Data')
    assert len(clips) == 8 and 'no frames' in problems[0].error and problems[0].file.endswith('yes/1')


def test_split_folders(tmp_path):
    "Continuous data: (T, 42, 7) hand features and gloss-id sequences with <blank> = 0."
    (tmp_path/'label_map.json').write_text(json.dumps({'<blank>': 0, 'HELLO': 1, 'YOU': 2}))
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        (tmp_path/split/'features').mkdir(parents=True); (tmp_path/split/'labels').mkdir()
        for i in range(3):
            np.save(tmp_path/split/'features'/f's{i}.npy', rng.random((10, 42, 7)).astype(np.float32))
            np.save(tmp_path/split/'labels'/f's{i}.npy', np.array([1, 2, 1][:i + 1]))
    np.save(tmp_path/'val'/'labels'/'s2.npy', np.array([1, 7]))                         # id out of range
    assert detect_format(tmp_path) == 'split'
    clips, problems = read_clips(tmp_path)
    assert len(clips) == 5 and clips[2].glosses == ['HELLO', 'YOU', 'HELLO']
    assert np.isnan(clips[0].landmarks[:, PARTS['face']]).all() and not np.isnan(clips[0].landmarks[:, PARTS['left_hand']]).any()
    assert 'out of range' in problems[0].error and problems[0].file.endswith('val/labels/s2.npy')
