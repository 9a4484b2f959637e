"Interpretation on a real held-out split, and slr-report on a real run folder."
import json, subprocess, sys, warnings
from pathlib import Path
import numpy as np, pytest
from slr_nb.data.store import build_store, split_by
from slr_nb.learner import train_recognizer
from slr_nb.inference import Recognizer, evaluate
from slr_nb.interpret import Interpretation

BIN = Path(sys.executable).parent


@pytest.fixture(scope='module')
def run(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp('run')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        train_recognizer(data_dir/'ksl13', out, epochs=2, calibration=False, split_by='session', valid_values='MP_Data1,MP_Data3', progress=False)
    return out


def test_interpretation_agrees_with_evaluate(run, data_dir):
    rec, store = Recognizer.load(run/'model.pth'), build_store(data_dir/'ksl13')
    _, val = split_by(store.items, 'session', 'MP_Data1,MP_Data3')
    it = Interpretation(rec, store, val)
    assert abs(it.accuracy - evaluate(rec, store, val)['accuracy']) < 1e-6
    cm = it.confusion_matrix()
    assert cm.to_numpy().sum() == len(val) and set(cm.index) <= set(rec.classes)
    pc = it.per_class()
    assert abs((pc.accuracy * pc.clips).sum() / pc.clips.sum() - it.accuracy) < 1e-6
    ga = it.group_accuracy('session')
    assert sorted(ga.index) == ['MP_Data1', 'MP_Data3'] and ga.clips.sum() == len(val) and ga.mirrored_accuracy.between(0, 1).all()
    tl = it.top_losses(5)
    assert len(tl) == 5 and (np.diff(tl.loss) <= 1e-9).all() and all(store.items.label.iloc[i] == l for i, l in zip(tl.store_index, tl.label))


def test_slr_report(run, tmp_path):
    r = subprocess.run([str(BIN/'slr-report'), str(run)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    md = (run/'report.md').read_text()
    assert 'MP_Data1,MP_Data3' in md and 'valid_accuracy' in md and '![history](history.png)' in md
    assert md.count('\n| ') >= 3 and (run/'report.html').read_text().startswith('<!doctype html>')
    r = subprocess.run([str(BIN/'slr-report'), str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 1 and 'no manifest' in r.stderr
