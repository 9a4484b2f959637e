"The widgets on real clips of every reader: driven from Python, the figure follows the slider; the explorer's counts are the store's."
import numpy as np, pytest
from slr_nb.core import PARTS
from slr_nb.data.store import build_store
from slr_nb.data.readers import load_landmarks
from slr_nb.widgets import LandmarkPlayer, DatasetExplorer

pytest.importorskip('ipywidgets')


@pytest.mark.parametrize('name', ['ksl13', 'cafe-asl-letters', 'asl-signs', 'mp-data-sample', 'pose'])
def test_player_on_real_clips(data_dir, name):
    if name == 'pose': clip = load_landmarks(sorted((data_dir/'pose').glob('*mediapipe.pose'))[0])
    else: store = build_store(data_dir/name); clip = store.clip(int(np.argmax(store.lengths)))
    p = LandmarkPlayer(clip, views=('raw', 'augmented'))
    seen = {t: np.concatenate([p.artists['raw'][k].get_offsets().reshape(-1, 2) for k in PARTS]) for t in (0,)}
    p.widget.children[0].children[1].value = len(clip) - 1  # the slider to the last frame
    assert p.frame == len(clip) - 1
    last = np.concatenate([p.artists['raw'][k].get_offsets().reshape(-1, 2) for k in PARTS])
    drawn = np.isfinite(clip[-1, :, :2]).all(1).sum()
    assert len(last) == drawn  # exactly the points detected in that frame
    if name == 'cafe-asl-letters': assert len(p.artists['raw']['face'].get_offsets()) == 0  # no face in that layout: not drawn
    assert len(seen[0]) == np.isfinite(clip[0, :, :2]).all(1).sum()


def test_explorer_counts_and_opens_clips(data_dir):
    store = build_store(data_dir/'cafe-asl')
    ex = DatasetExplorer(store)
    s = ex.summary('coffee')
    assert int(s.clips.sum()) == int((store.items.label == 'coffee').sum()) and set(s.index) <= set(store.items.group.astype(str))
    w = ex.widget
    ex.label.value, ex.group.value = 'coffee', 'dmohazab'
    n = int(((store.items.label == 'coffee') & (store.items.group.astype(str) == 'dmohazab')).sum())
    assert len(ex.clip.options) == n > 0
    ex.clip.value = ex.clip.options[-1][1]
    assert ex.current.T == len(store[ex.clip.value])
    assert 0 <= s.no_left_hand.min() <= s.no_left_hand.max() <= 1


def test_webcam_widget_on_real_video_frames(data_dir, tmp_path):
    "The frames of a real video sent as the browser sends them (JPEG messages): MediaPipe in the kernel, the skeleton and a sign back."
    from slr_nb.extract import video_frames, _cv2
    from slr_nb.learner import save_recognizer
    from slr_nb.models.isolated import make_model
    from slr_nb.inference import Recognizer, SignStream
    from slr_nb.widgets import WebcamRecognizer
    cv2 = _cv2()
    classes = ['hello', 'thankyou']  # an untrained model: the path is tested here, not the answer
    rec = Recognizer.load(save_recognizer(tmp_path/'m.pth', make_model('default', n_classes=len(classes)), classes))
    cam = WebcamRecognizer(rec, follow=SignStream(rec, window=16, hop=2, threshold=0.))
    w, parts = cam.widget, []
    try:
        for rgb, ms, _ in video_frames(data_dir/'pose'/'python__tests__data__test_video.mp4'):
            small = cv2.resize(rgb, (320, round(320 * rgb.shape[0] / rgb.shape[1])))
            jpeg = cv2.imencode('.jpg', cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
            w._handle_custom_msg({'type': 'frame', 't': ms}, [memoryview(jpeg)])
            assert w.error == ''
            parts.append({p['part'] for p in w.skeleton})
    finally: cam.close()
    assert cam.frames == len(parts) == 58
    assert np.mean(['pose' in p for p in parts]) >= 0.9  # the person is found in the frames the browser would send
    assert any('right_hand' in p for p in parts)  # the video shows the right hand in about a third of its frames
    assert cam.events and w.text in classes + ['no sign'] and w.text == cam.follow.said
    assert w.status.startswith('58 frames')
