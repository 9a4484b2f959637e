"ONNX export: outputs match PyTorch on real clips of every shared dataset, the file stands alone, and slr-export / slr-predict take it."
import json, subprocess, sys
from pathlib import Path
import numpy as np, pytest, torch
from slr_nb.data.store import build_store
from slr_nb.data.readers import load_landmarks
from slr_nb.learner import save_recognizer
from slr_nb.models.isolated import make_model
from slr_nb.inference import Recognizer, export_onnx, max_abs_difference

pytest.importorskip('onnxruntime'); pytest.importorskip('onnx')
BIN = Path(sys.executable).parent


def real_clips(data_dir, per_dataset=6):
    "A few real clips of every shared landmark dataset, shortest and longest included."
    out = {}
    for name in ('ksl13', 'cafe-asl', 'cafe-asl-letters', 'asl-signs', 'mp-data-sample'):
        store = build_store(data_dir/name)
        order = np.argsort(store.lengths)
        pick = np.unique(np.r_[order[:2], order[-2:], np.linspace(0, len(order) - 1, per_dataset - 4).astype(int)])
        out[name] = [store.clip(int(i)) for i in pick]
    out['pose'] = [load_landmarks(f) for f in sorted((data_dir/'pose').glob('*mediapipe*.pose'))]
    return out


@pytest.mark.parametrize('preset', ['default', 'hybrid', 'keypoint-transformer'])
def test_onnx_matches_pytorch_on_real_clips(data_dir, tmp_path, preset):
    torch.manual_seed(0)
    model = make_model(preset, n_classes=25)
    rec = Recognizer.load(save_recognizer(tmp_path/'model.pth', model, [f'sign{i}' for i in range(25)], note='test'))
    orec = Recognizer.load(export_onnx(rec, tmp_path/'model.onnx'))
    assert orec.classes == rec.classes and orec.info['note'] == 'test' and orec.model.config.arch == rec.model.config.arch
    for name, clips in real_clips(data_dir).items():
        d = max_abs_difference(rec, orec, clips)
        assert d <= 1e-4, (name, d)
    batch = [torch.from_numpy(c) for c in real_clips(data_dir)['ksl13'][:3]]  # padded batch with a mask
    from slr_nb.data.block import pad_collate
    x, mask = pad_collate([(b,) for b in batch])[:2]
    with torch.inference_mode(): a, b = orec.model(x, mask), rec.model(x, mask)
    a, b = (a[0], b[0]) if isinstance(a, tuple) else (a, b)  # multi-task models: the sign logits first
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-4)


def test_cli_export_and_predict_with_the_onnx_file(data_dir, tmp_path):
    rec_file = save_recognizer(tmp_path/'model.pth', make_model('default', n_classes=3), ['a', 'b', 'c'])
    r = subprocess.run([str(BIN/'slr-export'), str(rec_file), '--onnx', str(tmp_path/'m.onnx')], capture_output=True, text=True)
    assert r.returncode == 0 and 'max abs difference' in r.stdout, r.stderr
    f = next((data_dir/'asl-signs'/'train_landmark_files').rglob('*.parquet'))
    outs = [json.loads(subprocess.run([str(BIN/'slr-predict'), str(m), str(f), '--json'], capture_output=True, text=True).stdout)[str(f)] for m in (rec_file, tmp_path/'m.onnx')]
    assert [o['sign'] for o in outs[0]['topk']] == [o['sign'] for o in outs[1]['topk']]
    np.testing.assert_allclose([o['probability'] for o in outs[0]['topk']], [o['probability'] for o in outs[1]['topk']], atol=1e-3)
    (tmp_path/'m.onnx').unlink()
    r = subprocess.run([str(BIN/'slr-export'), str(tmp_path/'nope.pth'), '--onnx', str(tmp_path/'m.onnx')], capture_output=True, text=True)
    assert r.returncode == 1 and 'nope.pth' in r.stderr and not (tmp_path/'m.onnx').exists()


def test_onnx_keeps_categories_of_a_two_head_model(data_dir, tmp_path):
    "A multi-task model's category names travel in the ONNX metadata, and both runtimes name the same category."
    torch.manual_seed(0)
    classes, cats = [f'sign{i}' for i in range(6)], ['drink', 'food', 'letter']
    rec = Recognizer.load(save_recognizer(tmp_path/'two.pth', make_model('keypoint-transformer', n_classes=6, n_categories=3), classes, cats))
    orec = Recognizer.load(export_onnx(rec, tmp_path/'two.onnx'))
    assert orec.categories == cats
    for clip in real_clips(data_dir, per_dataset=4)['cafe-asl']:
        a, b = rec.predict(clip), orec.predict(clip)
        assert a.category[0] == b.category[0] and abs(a.category[1] - b.category[1]) < 1e-4
