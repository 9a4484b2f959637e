"slr-sentences on the real datasets: held-out groups never leak, the folder reads back, `-` is never a gloss, writes are atomic."
import csv, json, os, subprocess, sys, warnings
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from slr_nb.data.readers import SplitFolders, load_landmarks, read_clips
from slr_nb.data.store import build_store
from slr_nb.data import sentences as S

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent/'slr-sentences'  # the console script pip installed beside this python
HELD_OUT = ['MP_Data1', 'MP_Data3']


def nan_equal(a, b, eps=1e-6): np.testing.assert_allclose(a, b, rtol=0, atol=eps)  # NaN == NaN


def index(dataset:Path, col:str)->dict:
    "clip file stem -> (gloss name, value of `col`), from the dataset's labels.csv and classes.json."
    names = json.loads((dataset/'classes.json').read_text())['gloss']
    with open(dataset/'labels.csv', newline='') as f:
        return {r['file']: (names[int(r['gloss'])], r[col]) for r in csv.DictReader(f)}


def table(out:Path)->pd.DataFrame: return pd.read_csv(out/'sentences.csv', keep_default_na=False, dtype={'group': str})
def stems(s:str)->list: return [Path(x).stem for x in s.split('|') if x]


@pytest.fixture(scope='module')
def ksl(data_dir): return build_store(data_dir/'ksl13')


@pytest.fixture(scope='module')
def ksl_out(ksl, tmp_path_factory):
    out = tmp_path_factory.mktemp('ksl')/'sentences'
    return out, S.build_sentences(ksl, out, n=40, n_valid=16, split_by='session', valid_values=','.join(HELD_OUT), seed=0)


def test_ksl13_held_out_sessions_never_leak(ksl_out, data_dir):
    out, r = ksl_out
    sessions = {k: v[1] for k, v in index(data_dir/'ksl13', 'session').items()}
    t = table(out)
    assert (t.split == 'train').sum() == 40 and (t.split == 'val').sum() == 16
    for _, row in t.iterrows():
        used = {sessions[f] for f in stems(row.sources) + stems(row.pause_sources)}
        assert used == {row.group}                                      # one session per sentence
        assert (row.group in HELD_OUT) == (row.split == 'val')          # held-out sessions only in val, only they
    assert r['splits']['val']['groups'] == HELD_OUT and r['missing_glosses'] == []
    assert r['layout'] == 'tutorial258'


def test_ksl13_reads_back(ksl_out):
    out, r = ksl_out
    t = table(out).set_index('id')
    names = SplitFolders(out).vocab()
    assert names[0] == '<blank>' and names[1:] == sorted(names[1:]) and len(names) == 14
    clips, problems = read_clips(out)
    assert problems == [] and len(clips) == 56
    for c in clips:
        row = t.loc[Path(c.source).stem]
        assert c.glosses == row.glosses.split('|') and len(c) == row.n_frames and c.group == row.split
        assert np.load(c.source).shape == (len(c), 258)
    assert sum(len(c) for c in clips) == r['splits']['train']['frames'] + r['splits']['val']['frames']


def test_features_are_the_concatenation(ksl, data_dir, tmp_path):
    "Without pauses, speed changes or smoothing, a sentence is its source clips end to end."
    out = tmp_path/'plain'
    S.build_sentences(ksl, out, n=10, n_valid=4, split_by='session', valid_values=','.join(HELD_OUT),
                      pause_frames=(0, 0), smooth_frames=0, speed_jitter=0)
    t = table(out).set_index('id')
    for c in read_clips(out)[0]:
        src = [load_landmarks(data_dir/'ksl13'/'clips'/f'{f}.npz') for f in stems(t.loc[Path(c.source).stem].sources)]
        nan_equal(c.landmarks, np.concatenate(src))


def test_render_matches_what_is_written(ksl, tmp_path):
    "The folder holds exactly the sentences `make_sentences` makes in memory (up to float32 and the 258 layout)."
    sentences = S.make_sentences(ksl, 12, group_by='session', seed=5)
    S.write_sentences(tmp_path/'w', {'train': sentences})
    back = read_clips(tmp_path/'w')[0]
    assert [c.glosses for c in back] == [s.glosses for s in sentences]
    for a, b in zip(back, sentences): nan_equal(a.landmarks, b.landmarks)
    session = dict(zip((Path(x).name for x in ksl.items.source), ksl.items.session))
    assert all({session[Path(x).name] for x in s.meta['sources'] + s.meta['pause_sources']} == {s.group} for s in sentences)


def test_cafe_asl_no_sign_only_in_pauses(data_dir, tmp_path):
    clips = index(data_dir/'cafe-asl', 'signer')
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        r = S.build_sentences(data_dir/'cafe-asl', tmp_path/'cafe', n=40, n_valid=12, split_by='signer', valid_values='TheCamNelson')
    assert any('absent from training' in str(x.message) and "'large'" in str(x.message) for x in w)
    t = table(tmp_path/'cafe')
    assert '-' not in json.loads((tmp_path/'cafe'/'label_map.json').read_text())
    assert all('-' not in g.split('|') for g in t.glosses)
    assert all(clips[f][0] != '-' for s in t.sources for f in stems(s))
    pauses = [(row.group, f) for _, row in t.iterrows() for f in stems(row.pause_sources)]
    assert len(pauses) > 20 and all(clips[f] == ('-', g) for g, f in pauses)   # "no sign" clips of the same signer
    assert all(c.glosses and '-' not in c.glosses for c in read_clips(tmp_path/'cafe')[0])
    trained = {g for g, s in clips.values() if s != 'TheCamNelson'}
    assert {g for s in t[t.split == 'val'].glosses for g in s.split('|')} <= trained - {'-'}   # only glosses training knows
    assert 'large' in r['missing_glosses'] and not set(r['missing_glosses']) & trained


def test_deterministic_by_seed(ksl, tmp_path):
    kw = dict(n=8, n_valid=4, split_by='session', valid_values=','.join(HELD_OUT))
    for name, seed in (('a', 0), ('b', 0), ('c', 1)): S.build_sentences(ksl, tmp_path/name, seed=seed, **kw)
    ta, tb, tc = (table(tmp_path/n) for n in 'abc')
    pd.testing.assert_frame_equal(ta, tb)
    assert not ta.equals(tc)
    for f in sorted((tmp_path/'a').rglob('*.npy')):
        assert f.read_bytes() == (tmp_path/'b'/f.relative_to(tmp_path/'a')).read_bytes()


def test_write_is_atomic(ksl, tmp_path, monkeypatch):
    real, calls = S._save, []
    def failing(path, a):
        calls.append(path)
        if len(calls) == 5: raise OSError("simulated crash")
        real(path, a)
    monkeypatch.setattr(S, '_save', failing)
    with pytest.raises(OSError, match='simulated crash'): S.build_sentences(ksl, tmp_path/'out', n=8, n_valid=0)
    assert len(calls) == 5 and list(tmp_path.iterdir()) == []          # no folder, no temporary left behind
    monkeypatch.setattr(S, '_save', real)
    (tmp_path/'out').mkdir(); (tmp_path/'out'/'mine.txt').write_text('keep')
    with pytest.raises(FileExistsError, match='is not empty'): S.build_sentences(ksl, tmp_path/'out', n=4)
    assert (tmp_path/'out'/'mine.txt').read_text() == 'keep'
    S.build_sentences(ksl, tmp_path/'out', n=4, overwrite=True)
    assert sorted(p.name for p in (tmp_path/'out').iterdir()) == ['label_map.json', 'sentences.csv', 'sentences.json', 'train']
    assert sorted(p.name for p in tmp_path.iterdir()) == ['out']


def check_label_map(out:Path):
    "label_map.json: `<blank>` = 0, glosses sorted after it, ids 0..n-1; every label id maps to the csv's glosses."
    m = json.loads((out/'label_map.json').read_text())
    assert list(m.values()) == list(range(len(m))) and list(m)[0] == '<blank>' and list(m)[1:] == sorted(list(m)[1:])
    names, t = list(m), table(out).set_index('id')
    for f in out.glob('*/labels/*.npy'):
        ids = np.load(f)
        assert ids.dtype == np.int64 and ids.min() >= 1 and ids.max() < len(m)
        assert [names[i] for i in ids] == t.loc[f.stem].glosses.split('|')
    return m


def test_cafe_asl_separate_train_and_valid_folders(data_dir, tmp_path):
    "`--valid-data` style: a training folder and a validation folder made separately, each self-consistent."
    kw = dict(split_by='signer', valid_values='TheCamNelson')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        S.build_sentences(data_dir/'cafe-asl', tmp_path/'train', n=30, n_valid=0, **kw)
        S.build_sentences(data_dir/'cafe-asl', tmp_path/'valid', n=0, n_valid=10, **kw)
    assert sorted(p.name for p in (tmp_path/'train').iterdir() if p.is_dir()) == ['train']
    assert sorted(p.name for p in (tmp_path/'valid').iterdir() if p.is_dir()) == ['val']
    mt, mv = check_label_map(tmp_path/'train'), check_label_map(tmp_path/'valid')
    signers = {k: v for k, v in index(data_dir/'cafe-asl', 'signer').items()}
    trained = {g for g, s in signers.values() if s != 'TheCamNelson'}
    assert set(mv) - {'<blank>'} <= trained                               # validation asks only for known glosses
    assert set(table(tmp_path/'valid').group) == {'TheCamNelson'} and 'TheCamNelson' not in set(table(tmp_path/'train').group)
    assert mt != mv                                                       # different vocabularies, matched by name later


def test_fingerspelled_words(data_dir, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        r = S.build_sentences(data_dir/'cafe-asl-letters', tmp_path/'w', n=20, n_valid=8, split_by='signer', valid_values='dmohazab',
                              words=S.read_words('builtin'), n_words=(1, 2), pause_frames=(0, 2))
    assert r['layout'] == 'hands126'
    t = table(tmp_path/'w')
    words = set(S.BUILTIN_WORDS)
    for g in t.glosses:
        assert all(''.join(w.split('|')) in words for w in g.split('|space|'))
    assert all(np.load(f).shape[1] == 126 for f in (tmp_path/'w').glob('*/features/*.npy'))
    check_label_map(tmp_path/'w')


def run(*args):
    "Run the console script (with this checkout's package first on the path)."
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]))
    r = subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True, env=env)
    return r.returncode, r.stdout, r.stderr


def test_cli(ksl, data_dir, tmp_path):
    assert SCRIPT.exists(), f"{SCRIPT} missing: install the package (pip install -e .)"
    src = data_dir/'ksl13'
    code, out, err = run(src, '--out', tmp_path/'ok', '--n', 8, '--n-valid', 4, '--split-by', 'session', '--valid-values', 'MP_Data1,MP_Data3')
    assert code == 0, err
    assert 'train: 8 sentences' in out and 'val: 4 sentences' in out and 'tutorial258' in out
    code, _, err = run(src, '--out', tmp_path/'x', '--split-by', 'speaker', '--valid-values', 'a')
    assert code != 0 and "no column 'speaker'" in err and "'session'" in err
    code, _, err = run(src, '--out', tmp_path/'x', '--split-by', 'session', '--valid-values', 'MP_Data9')
    assert code != 0 and "['MP_Data9'] not found in column 'session'" in err and 'MP_Data4' in err
    code, _, err = run(tmp_path/'nothing', '--out', tmp_path/'x')
    assert code != 0 and str(tmp_path/'nothing') in err
    code, _, err = run(src, '--out', tmp_path/'ok', '--n', 4)
    assert code != 0 and 'is not empty' in err
    code, _, err = run(src, '--out', tmp_path/'x', '--pause-frames', '6,2')
    assert code != 0 and '--pause-frames' in err
    assert not (tmp_path/'x').exists()
