"Video extraction on the real test video: the CLI over a folder with broken files, parquet the readers accept, a killed run that leaves no half file and resumes, and workers that give the same landmarks."
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pytest
from slr_nb.data.readers import read_parquet_landmarks, KaggleISLR
from slr_nb.extract import extract_folder, extract_video, HolisticExtractor, STATE_FILE

pytest.importorskip('mediapipe')
NOISE = ('W0000', 'INFO: Created', 'WARNING: All log', 'NAL', 'partial file', 'moov', 'missing picture')


@pytest.fixture(scope='module')
def video(data_dir): return data_dir/'pose'/'python__tests__data__test_video.mp4'


def slr(*args, **kw):
    exe = Path(sys.executable).parent
    return subprocess.run([str(exe/args[0]), *map(str, args[1:])], capture_output=True, text=True, **kw)


def test_cli_folder_with_broken_files(video, tmp_path):
    src = tmp_path/'videos'; (src/'hello').mkdir(parents=True)
    shutil.copy(video, src/'hello'/'1.mp4'); shutil.copy(video, src/'hello'/'2.mp4')
    (src/'hello'/'cut.mp4').write_bytes(video.read_bytes()[:200_000]); (src/'hello'/'text.avi').write_text('not a video')
    r = slr('slr-extract', src, '--out', tmp_path/'out', '--sign-from', 'folder', '--workers', '2', '--json')
    assert r.returncode == 1, r.stderr  # some videos failed
    s = json.loads(r.stdout)
    assert (s['extracted'], s['videos']) == (2, 4)
    assert set(s['failed']) == {str(src/'hello'/'cut.mp4'), str(src/'hello'/'text.avi')}
    assert 'truncated' in s['failed'][str(src/'hello'/'cut.mp4')]
    assert s['pose_frames'] >= 0.9 * s['frames']  # a person in view
    v = slr('slr-validate', tmp_path/'out')
    assert v.returncode == 0 and 'problems: 0 error(s), 0 warning(s)' in v.stdout, v.stdout + v.stderr
    clips = [c for c in KaggleISLR(tmp_path/'out') if hasattr(c, 'landmarks')]
    assert [c.label for c in clips] == ['hello', 'hello'] and clips[0].landmarks.shape == (58, 543, 3)
    assert not [p for p in (tmp_path/'out').rglob('*') if 'partial' in p.name]


def test_same_landmarks_as_a_bare_holistic_loop_and_across_workers(video, tmp_path):
    import cv2
    with HolisticExtractor() as h:
        cap, bare = cv2.VideoCapture(str(video)), []
        while True:
            ok, f = cap.read()
            if not ok: break
            bare.append(h(cv2.cvtColor(f, cv2.COLOR_BGR2RGB)))
    x = extract_video(video)
    np.testing.assert_array_equal(x, np.stack(bare))
    for n in ('a', 'b'): shutil.copy(video, tmp_path/f'{n}.mp4')
    one = extract_folder([tmp_path/'a.mp4', tmp_path/'b.mp4'], tmp_path/'w1', workers=1, progress=False)
    two = extract_folder([tmp_path/'a.mp4', tmp_path/'b.mp4'], tmp_path/'w2', workers=2, progress=False)
    assert one['extracted'] == two['extracted'] == 2
    for n in ('a', 'b'):
        np.testing.assert_array_equal(read_parquet_landmarks(tmp_path/'w1'/'landmarks'/f'{n}.parquet'), read_parquet_landmarks(tmp_path/'w2'/'landmarks'/f'{n}.parquet'))
    np.testing.assert_allclose(read_parquet_landmarks(tmp_path/'w1'/'landmarks'/'a.parquet'), x)


def test_killed_run_leaves_no_half_file_and_resumes(video, tmp_path):
    src = tmp_path/'many'; src.mkdir()
    for i in range(6): shutil.copy(video, src/f'clip{i}.mp4')
    out = tmp_path/'out'
    p = subprocess.Popen([str(Path(sys.executable).parent/'slr-extract'), str(src), '--out', str(out), '--workers', '1', '--quiet'],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:  # kill it once some videos are done and the next is being written
        state = json.loads((out/STATE_FILE).read_text()) if (out/STATE_FILE).is_file() else {}
        if len(state) >= 2: break
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    done = json.loads((out/STATE_FILE).read_text())
    assert 2 <= len(done) < 6
    for f in (out/'landmarks').rglob('*.parquet'): assert read_parquet_landmarks(f).shape == (58, 543, 3), f  # every file whole
    rows = {r.split(',')[0] for r in (out/'train.csv').read_text().splitlines()[1:]}
    assert set(done) <= rows and len(rows) <= len(done) + 1  # the row is written just before the state: a kill between leaves one more
    r = slr('slr-extract', src, '--out', out, '--workers', '1', '--json', '--quiet')
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s['skipped'] == len(done) and s['extracted'] == 6 - len(done)
    assert len((out/'train.csv').read_text().splitlines()) == 7
    assert not [q for q in out.rglob('*') if 'partial' in q.name]


def test_changed_video_or_options_are_extracted_again(video, tmp_path):
    shutil.copy(video, tmp_path/'v.mp4')
    assert extract_folder([tmp_path/'v.mp4'], tmp_path/'o', progress=False)['extracted'] == 1
    from slr_nb.extract import ExtractOptions
    r = extract_folder([tmp_path/'v.mp4'], tmp_path/'o', ExtractOptions(max_frames=10), progress=False)
    assert r['extracted'] == 1 and read_parquet_landmarks(tmp_path/'o'/'landmarks'/'v.parquet').shape[0] == 10
    os.utime(tmp_path/'v.mp4', ns=(0, 0))  # touched: extracted again
    assert extract_folder([tmp_path/'v.mp4'], tmp_path/'o', ExtractOptions(max_frames=10), progress=False)['extracted'] == 1
    assert extract_folder([tmp_path/'v.mp4'], tmp_path/'o', ExtractOptions(max_frames=10), progress=False)['skipped'] == 1


def test_cnn_features_train_feature_gru_end_to_end(video, tmp_path):
    "Videos -> landmarks + InceptionV3 features (random weights: nothing can be downloaded here) -> FeatureGRU by slr-train."
    src = tmp_path/'videos'
    for who in ('alice', 'bob'):
        for sign in ('hello', 'thanks'):
            (src/who/sign).mkdir(parents=True); shutil.copy(video, src/who/sign/'1.mp4')
    r = slr('slr-extract', src, '--out', tmp_path/'data', '--sign-from', 'folder', '--participant-from', 'parent',
            '--cnn-features', '--cnn-weights', 'random', '--max-frames', '12', '--workers', '2', '--json', '--quiet')
    assert r.returncode == 0, r.stderr
    npz = sorted((tmp_path/'data').rglob('*.npz'))
    assert len(npz) == 4 and np.load(npz[0])['X2048'].shape == (12, 2048)
    from slr_nb.data.store import build_store
    store = build_store(tmp_path/'data', extra_keys=('X2048',))
    assert len(store) == 4 and store.extra('X2048', 0).shape == (12, 2048) and sorted(set(store.items.group)) == ['alice', 'bob']
    t = slr('slr-train', 'feature-gru', '--data', tmp_path/'data', '--split-by', 'group', '--valid-values', 'bob', '--epochs', '2', '--out', tmp_path/'run')
    assert t.returncode == 0, t.stderr[-2000:]
    man = json.loads((tmp_path/'run'/'manifest.json').read_text())
    assert man['model_info']['name'] == 'feature_gru' and man['final_results']['valid_clips'] == 2 and man['final_results']['epochs_done'] == 2
    from slr_nb.inference import Recognizer
    pred = Recognizer.load(tmp_path/'run'/'model.pth').predict(store.extra('X2048', 0), topk=2)
    assert sorted(c for c, _ in pred) == ['hello', 'thanks']
    r = slr('slr-extract', src, '--out', tmp_path/'data', '--cnn-features', '--cnn-weights', tmp_path/'none.pth', '--quiet')
    assert r.returncode == 1 and 'inception_v3_google' in r.stderr
