"slr-validate on real datasets and on broken copies, as a user runs it."
import json, shutil, subprocess, sys
from pathlib import Path
import pandas as pd

SCRIPT = Path(sys.executable).parent/'slr-validate'  # the console script pip installed beside this python


def validate(*args):
    assert SCRIPT.exists(), f"{SCRIPT} missing: install the package (pip install -e .)"
    r = subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def test_validate_real(data_dir):
    code, out, _ = validate(data_dir/'asl-signs', '--json')
    r = json.loads(out)
    assert code == 0
    assert (r['format'], r['clips'], r['classes']) == ('kaggle', 173, {'hello': 91, 'thankyou': 82})
    assert len(r['groups']) == 5 and r['frames']['min'] >= 1 and r['problems'] == []
    assert r['missing']['left_hand'] == 1.0                # this subset never shows a left hand
    code, out, _ = validate(data_dir/'cafe-asl', '--json')
    r = json.loads(out)
    assert code == 0 and r['clips'] == 4693 and len(r['classes']) == 33
    assert len(r['problems']) == 60 and {p['level'] for p in r['problems']} == {'warning'}


def test_validate_text(data_dir):
    code, out, _ = validate(data_dir/'ksl13')
    assert code == 0 and out.startswith('npz: 2470 clips, 13 classes, 5 groups')


def test_validate_broken(data_dir, tmp_path):
    src = data_dir/'ksl13'
    labels = pd.read_csv(src/'labels.csv').head(5)
    (tmp_path/'clips').mkdir()
    for f in labels.file: shutil.copy(src/'clips'/f'{f}.npz', tmp_path/'clips'/f'{f}.npz')
    bad = tmp_path/'clips'/f'{labels.file[1]}.npz'
    bad.write_bytes(bad.read_bytes()[:100])
    labels.to_csv(tmp_path/'labels.csv', index=False)
    code, out, _ = validate(tmp_path, '--json')
    r = json.loads(out)
    assert code == 1 and r['clips'] == 4
    assert r['problems'][0]['file'] == str(bad) and 'cannot read npz' in r['problems'][0]['error']
    code, out, _ = validate(tmp_path, '--require-key', 'X2048', '--json')
    assert code == 1 and sum("no key(s) ['X2048']" in p['error'] for p in json.loads(out)['problems']) == 4


def test_validate_nonsense(tmp_path):
    code, out, err = validate(tmp_path/'nope')
    assert code == 1 and 'no such file or folder' in err
    (tmp_path/'empty').mkdir()
    code, out, _ = validate(tmp_path/'empty', '--json')
    assert code == 1 and 'cannot tell the dataset format' in json.loads(out)['problems'][0]['error']
