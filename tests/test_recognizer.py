"Training, saving, loading and predicting as a user does, with the bad inputs a user meets."
import json, subprocess, sys, warnings
from pathlib import Path
import numpy as np
import pytest
import torch
from slr_nb.data.readers import load_landmarks
from slr_nb.learner import train_recognizer, load_recognizer_file
from slr_nb.inference import Recognizer

BIN = Path(sys.executable).parent


def run(cmd, *args):
    r = subprocess.run([str(BIN/cmd), *map(str, args)], capture_output=True, text=True, timeout=600)
    return r.returncode, r.stdout, r.stderr


@pytest.fixture(scope='module')
def trained(data_dir, tmp_path_factory):
    "A recognizer trained briefly on asl-signs, one participant held out."
    out = tmp_path_factory.mktemp('run')
    m = train_recognizer(data_dir/'asl-signs', out, epochs=3, split_by='group', valid_values='62590', progress=False)
    return out, m


def test_training_writes_everything(trained):
    out, m = trained
    assert sorted(p.name for p in out.iterdir()) == ['checkpoints', 'history.csv', 'history.png', 'manifest.json', 'model.pth', 'search']
    man = json.loads((out/'manifest.json').read_text())
    # the "no sign" threshold came from a search on training clips (participant 62590 never seen), then all of them trained
    s = man['search']
    assert s['stop_reason'] == 'a fixed 3 epochs (train.epochs)' and 0 < man['final_results']['no_sign_threshold'] < 1
    assert man['data']['train_clips'] == s['trained_clips'] + s['monitor_clips'] == 173 - 37
    assert man['model_info']['params'] > 0 and man['training_config']['train']['epochs'] == 3
    assert 0 <= man['final_results']['valid_accuracy'] <= 1 and man['final_results']['valid_clips'] == 37
    assert len((out/'history.csv').read_text().strip().splitlines()) == 4      # header + 3 epochs


def test_model_file_is_plain_data(trained):
    blob = torch.load(trained[0]/'model.pth', weights_only=True)             # would raise on any pickled code
    assert blob['classes'] == ['hello', 'thankyou'] and isinstance(blob['config'], dict)


def test_predict_file(trained, data_dir):
    rec = Recognizer.load(trained[0]/'model.pth')
    f = next((data_dir/'asl-signs'/'train_landmark_files'/'62590').glob('*.parquet'))
    top = rec.predict(f, topk=2)
    assert [c for c, _ in top] in (['hello', 'thankyou'], ['thankyou', 'hello'])
    assert abs(sum(p for _, p in top) - 1) < 1e-4


def test_no_hands_warns_not_nan(trained, data_dir):
    rec = Recognizer.load(trained[0]/'model.pth')
    x = load_landmarks(next((data_dir/'asl-signs'/'train_landmark_files'/'62590').glob('*.parquet')))
    x[:, 468:489] = np.nan; x[:, 522:543] = np.nan
    with pytest.warns(UserWarning, match='no hand detected'):
        p = rec.probabilities(x)
    assert np.isfinite(p).all() and abs(p.sum() - 1) < 1e-4


def test_bad_model_files(trained, tmp_path):
    good = (trained[0]/'model.pth').read_bytes()
    (tmp_path/'cut.pth').write_bytes(good[:len(good)//2])
    with pytest.raises(ValueError, match='cut.pth: not a readable slr_nb model file'): load_recognizer_file(tmp_path/'cut.pth')
    blob = torch.load(trained[0]/'model.pth', weights_only=True)
    torch.save(dict(blob, version=2), tmp_path/'v2.pth')
    with pytest.raises(ValueError, match='format version 2'): load_recognizer_file(tmp_path/'v2.pth')
    torch.save({'state_dict': blob['state_dict']}, tmp_path/'other.pth')
    with pytest.raises(ValueError, match='not an slr_nb recognizer'): load_recognizer_file(tmp_path/'other.pth')
    torch.save(dict(blob, config=dict(blob['config'], dim=64)), tmp_path/'mismatch.pth')
    with pytest.raises(ValueError, match='weights do not fit'): load_recognizer_file(tmp_path/'mismatch.pth')
    with pytest.raises(FileNotFoundError): load_recognizer_file(tmp_path/'missing.pth')


class Boom:
    "An object whose unpickling would run code."
    def __reduce__(self): return (print, ('code ran',))


def test_loading_never_runs_code(tmp_path):
    torch.save({'format': 'slr_nb.recognizer', 'version': 1, 'evil': Boom()}, tmp_path/'evil.pth')
    with pytest.raises(ValueError, match='not a readable slr_nb model file'): load_recognizer_file(tmp_path/'evil.pth')


def test_commands(trained, data_dir, tmp_path):
    model = trained[0]/'model.pth'
    code, out, _ = run('slr-evaluate', model, '--data', data_dir/'asl-signs', '--split-by', 'group', '--valid-values', '62590', '--json')
    r = json.loads(out)
    assert code == 0 and r['clips'] == 37 and 0 <= r['accuracy'] <= r['top5'] <= 1
    f = next((data_dir/'asl-signs'/'train_landmark_files'/'62590').glob('*.parquet'))
    code, out, _ = run('slr-predict', model, f, '--topk', '1', '--json')
    assert code == 0 and json.loads(out)[str(f)]['topk'][0]['sign'] in ('hello', 'thankyou')
    code, out, _ = run('slr-predict', model, tmp_path/'nope.npy', '--json')
    assert code == 1 and 'no such file' in json.loads(out)[str(tmp_path/'nope.npy')]['error']
    video = data_dir/'pose'/'python__tests__data__test_video.mp4'                # a real video: extracted on the fly
    code, out, err = run('slr-predict', model, video, '--topk', '2', '--json')
    assert code == 0 and len(json.loads(out)[str(video)]['topk']) == 2, err
    code, out, _ = run('slr-bench', model, '--frames', '64', '--repeats', '5', '--json')
    r = json.loads(out)
    assert code == 0 and r['pytorch']['p50_ms']['64'] > 0 and r['onnxruntime']['p50_ms']['64'] > 0 and r['params'] > 0
    (tmp_path/'bad.pth').write_bytes(b'not a model')
    code, _, err = run('slr-predict', tmp_path/'bad.pth', f)
    assert code == 1 and 'not a readable slr_nb model file' in err


def test_demo_command(tmp_path):
    "The README's first command, shortened: trains on the built-in synthetic signers and reports held-out accuracy."
    code, out, err = run('slr-train', '--demo', '--epochs', '2', '--out', tmp_path/'demo')
    assert code == 0, err[-2000:]
    assert 'valid accuracy' in out and (tmp_path/'demo'/'model.pth').is_file()


def test_command_errors_are_one_line(tmp_path):
    code, _, err = run('slr-train', '--data', tmp_path/'nowhere', '--split-by', 'group', '--valid-values', 'a', '--out', tmp_path/'o')
    assert code == 1 and 'no such file or folder' in err and 'Traceback' not in err
    code, _, err = run('slr-train', 'no-such-preset', '--demo', '--epochs', '1', '--out', tmp_path/'o')
    assert code == 1 and "unknown preset 'no-such-preset'" in err and 'Traceback' not in err


def test_stream_of_real_clips_says_no_sign_between_them(trained, data_dir):
    from slr_nb.data.store import build_store
    rec = Recognizer.load(trained[0]/'model.pth')
    store = build_store(data_dir/'asl-signs')
    def hands(x): return (~np.isnan(x[:, 468:489, 0]).all(1) | ~np.isnan(x[:, 522:543, 0]).all(1)).mean()
    clips = [x for x in map(store.clip, range(len(store))) if len(x) >= 24 and hands(x) >= 0.9][:3]  # clips that show their hands
    gap = np.full((30, 543, 3), np.nan, np.float32)
    live = np.concatenate([c for x in clips for c in (x, gap)])
    events = list(rec.stream(iter(live), window=32, hop=4, threshold=0.))  # any iterator of frames
    ends = np.cumsum([len(c) + len(gap) for c in clips])
    starts = ends - np.array([len(c) + len(gap) for c in clips])
    for s, e, c in zip(starts, ends, clips):  # each clip: a sign while it plays, then "no sign" in its pause
        said = [w for i, w, _ in events if s <= i < e]
        assert said and said[0] != 'no sign' and said[-1] == 'no sign', (s, e, events)


def test_live_demo_on_a_video_without_window(trained, data_dir):
    video = data_dir/'pose'/'python__tests__data__test_video.mp4'
    code, out, err = run('slr-live', trained[0]/'model.pth', '--video', video, '--no-window')
    assert code == 0 and out.strip(), err
    assert all(l.split()[1] == 's' for l in out.strip().splitlines())  # "  1.23 s  sign ..."
