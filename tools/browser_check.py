#!/usr/bin/env python3
"""Check the docs pages and the widgets in a real browser (Debian's headless Chromium, driven by Playwright), offline.

    python tools/browser_check.py --html-dir DIR [--out DIR] [--pages P1,P2] [--no-webcam] [--no-pages]

1. Pages: the HTML pages `tools/check_docs.py --html-dir DIR --widget-js NODE_MODULES` wrote (the landing page and a
   tutorial by default) are opened from disk and screenshotted. Each must differ from a blank page, every figure
   (`<img>` of a cell output) must hold enough non-background pixels, and where a page saved widget state (a
   `LandmarkPlayer`) the widget manager must draw it: the player's figure shows the skeleton in its colours.
2. Webcam: JupyterLab, then Jupyter Notebook 7, serve a notebook showing a `WebcamRecognizer` over a model trained
   on asl-signs; Chromium's fake camera plays the shared real video (converted to Y4M); the cells are run from the
   page, and the page must show a recognised sign of the model's vocabulary, frames counted in its status line, and
   the skeleton drawn over the video. A `LandmarkPlayer` in the same notebook is played with its play button: the
   slider must move and the figure be redrawn.
Screenshots go to `--out`. Prints a report; exits 1 on any failure.
"""
import argparse, io, json, os, re, secrets, shutil, socket, subprocess, sys, tempfile, time, urllib.request, warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get('SLR_NB_CHROMIUM', '/usr/bin/chromium')
# no background traffic: this machine's network is closed, and the check must not depend on it
FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']
SKELETON = {'pose': (0, 121, 140), 'right_hand': (237, 174, 73), 'left_hand': (209, 73, 91)}  # slr_nb.widgets._COLOURS
failures = []

def fail(msg): failures.append(msg); print(f'  FAIL {msg}')
def ok(msg): print(f'  ok   {msg}')

def pixels(png:bytes):
    import numpy as np
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert('RGB')).astype(int)

def non_background(a)->int:
    "Pixels differing from the image's most common colour (its background)."
    import numpy as np
    flat = a.reshape(-1, 3)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    bg = colours[counts.argmax()]
    return int((np.abs(flat - bg).max(1) > 24).sum())

def skeleton_pixels(a)->dict:
    import numpy as np
    return {k: int((np.abs(a - np.array(c)).max(-1) <= 30).sum()) for k, c in SKELETON.items()}

# ------------------------------------------------------------------ 1. rendered pages
def saved_widget_state(page_html:str)->dict:
    "The widget models a page saved (nbconvert writes an empty state when the notebook has none)."
    m = re.search(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', page_html, flags=re.S)
    return json.loads(m.group(1)).get('state', {}) if m else {}

def check_pages(browser, html_dir:Path, names:list, out:Path, min_figure_px:int=400):
    page = browser.new_page(viewport={'width': 1200, 'height': 900})
    page.set_content('<html><body></body></html>')
    blank = pixels(page.screenshot(full_page=True))
    for name in names:
        f = (html_dir/f'{name}.html').resolve()
        if not f.is_file(): fail(f'{name}: no rendered page {f}'); continue
        errors = []
        page.on('pageerror', lambda e: errors.append(str(e)))
        page.goto(f.as_uri()); page.wait_for_load_state('load')
        has_state = bool(saved_widget_state(f.read_text(encoding='utf-8')))
        if has_state:  # the widget manager draws the saved views (an output widget holding the player's figure)
            try: page.wait_for_function("document.querySelectorAll('.jupyter-widgets img, .widget-output img').length > 0", timeout=30000)
            except Exception: fail(f'{name}: saved widget state, but no widget drawn in 30 s ({"; ".join(errors)[:300] or "no page error"})')
        page.wait_for_timeout(500)
        shot = page.screenshot(full_page=True, path=str(out/f'{name.replace("/", "_")}.png'))
        a = pixels(shot)
        h, w = min(len(a), len(blank)), min(a.shape[1], blank.shape[1])
        changed = int((abs(a[:h, :w] - blank[:h, :w]).max(-1) > 24).sum())
        (ok if changed > 20000 else fail)(f'{name}: {changed} pixels differ from a blank page ({a.shape[1]}x{a.shape[0]} screenshot)')
        figures = [e for e in page.query_selector_all('.jp-OutputArea-output img, .output_png img, .jp-RenderedImage img')
                   if (b := e.bounding_box()) and b['width'] > 80 and b['height'] > 80]
        if not figures: fail(f'{name}: no figure on the page')
        for i, e in enumerate(figures):
            e.scroll_into_view_if_needed()
            n = non_background(pixels(e.screenshot()))
            (ok if n >= min_figure_px else fail)(f'{name}: figure {i + 1} of {len(figures)}: {n} non-background pixels')
        if has_state:
            players = [e for e in page.query_selector_all('.jupyter-widgets img, .widget-output img') if e.bounding_box()]
            best = max((skeleton_pixels(pixels(e.screenshot())) for e in players), key=lambda d: sum(d.values()), default={})
            (ok if best and best['pose'] > 100 and best['right_hand'] + best['left_hand'] > 100 else fail)(
                f'{name}: widget (saved state) drawn, skeleton pixels {best}')
    page.close()

# ------------------------------------------------------------------ 2. the webcam widget, live
def write_y4m(video:Path, dest:Path, width:int=360)->int:
    "The video as a Y4M file, the format of Chromium's fake camera; returns the frame count."
    import cv2
    cap, n = cv2.VideoCapture(str(video)), 0
    with open(dest, 'wb') as f:
        while True:
            ok_, bgr = cap.read()
            if not ok_: break
            h = round(width * bgr.shape[0] / bgr.shape[1] / 2) * 2
            bgr = cv2.resize(bgr, (width, h))
            if n == 0: f.write(f'YUV4MPEG2 W{width} H{h} F30:1 Ip A1:1 C420jpeg\n'.encode())
            f.write(b'FRAME\n' + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes()); n += 1
    cap.release()
    return n

def free_port()->int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def train_model(data:Path, run:Path)->Path:
    from slr_nb.learner import train_recognizer
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        train_recognizer(data/'asl-signs', run, 'default', split_by='group', valid_values='62590', epochs=3, progress=False)
    return run/'model.pth'

WEBCAM_CELLS = ['''from slr_nb.inference import Recognizer, SignStream
from slr_nb.data.store import build_store
from slr_nb.widgets import WebcamRecognizer, LandmarkPlayer''',
'''rec = Recognizer.load({model!r})
cam = WebcamRecognizer(rec, follow=SignStream(rec, window=16, hop=2, threshold=0., topk=2), fps=15, width=360, autostart=True)
cam''',
'''store = build_store({asl!r})
LandmarkPlayer((store, int(store.lengths.argmax())), fps=10)''']

FRONT_ENDS = {  # how each front end is served, and where it opens the notebook
    'jupyterlab': (['lab', '--LabApp.expose_app_in_browser=True', '--LabApp.news_url='], '/lab/tree/webcam.ipynb'),
    'notebook': (['notebook', '--JupyterNotebookApp.expose_app_in_browser=True'], '/notebooks/webcam.ipynb'),
}

def run_front_end(pw, front:str, tmp:Path, classes:list, out:Path, frames_in_video:int, timeout_s:int):
    "Serve `tmp/webcam.ipynb` with one front end, run its cells from the page, and read what the widget shows."
    args, path = FRONT_ENDS[front]
    port, token = free_port(), secrets.token_hex(12)
    env = {**os.environ, 'JUPYTER_CONFIG_DIR': str(tmp/'cfg'), 'JUPYTERLAB_SETTINGS_DIR': str(tmp/'settings'),
           'JUPYTERLAB_WORKSPACES_DIR': str(tmp/'workspaces'), 'JUPYTER_RUNTIME_DIR': str(tmp/'runtime')}
    log_file = tmp/f'{front}.log'
    server = subprocess.Popen([sys.executable, '-m', 'jupyter', *args, '--no-browser', '--ip=127.0.0.1', f'--port={port}',
                               f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={tmp}', '--ServerApp.open_browser=False',
                               '--allow-root'], env=env, stdout=open(log_file, 'w'), stderr=subprocess.STDOUT, cwd=tmp)
    browser = None
    try:
        base = f'http://127.0.0.1:{port}'
        for _ in range(120):
            try: urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=2); break
            except Exception: time.sleep(0.5)
        else: raise RuntimeError(f'{front} did not start: {log_file.read_text()[-800:]}')
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS + [
            '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', f'--use-file-for-fake-video-capture={tmp/"camera.y4m"}'])
        page = browser.new_page(viewport={'width': 1200, 'height': 900})
        page.goto(f'{base}{path}?token={token}')
        page.wait_for_function("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                               " return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel; }", timeout=120000)
        page.evaluate("async () => { const w = window.jupyterapp.shell.currentWidget; await w.sessionContext.ready;"
                      " await window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        try:
            sign = page.wait_for_function("classes => { const e = document.querySelector('.slr-webcam-sign');"
                                          " const s = e && e.textContent.trim(); return classes.includes(s) && s; }",
                                          arg=classes, timeout=timeout_s * 1000).json_value()
        except Exception:
            st = page.evaluate("() => (document.querySelector('.slr-webcam-status') || {}).textContent")
            page.screenshot(path=str(out/f'webcam_{front}.png'))
            raise RuntimeError(f'no recognised sign on the page in {timeout_s} s (status line: {st!r})')
        page.query_selector('.slr-webcam').screenshot(path=str(out/f'webcam_{front}.png'))
        count = lambda st: int(st.split()[0]) if st.split() and st.split()[0].isdigit() else 0
        first = count(page.inner_text('.slr-webcam-status'))
        page.wait_for_timeout(2000)  # the frames keep coming after the first sign
        status = page.inner_text('.slr-webcam-status').strip()
        drawn = page.evaluate("() => { const c = document.querySelector('.slr-webcam-overlay');"
                              " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                              " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }")
        frames = count(status)
        ok(f'webcam ({front}): the page shows the sign {sign!r} after {first} frames (fake camera: {frames_in_video} frames of the real video, looping)')
        (ok if frames > first >= 8 else fail)(f'webcam ({front}): frames keep reaching the kernel: {status}, 2 s after the sign')
        (ok if drawn > 200 else fail)(f'webcam ({front}): skeleton drawn over the video ({drawn} overlay pixels)')
        # the player, live: press play, and the figure must change as the frames go by
        page.wait_for_selector('.slr-player img', timeout=60000)
        player = page.query_selector('.slr-player')
        player.scroll_into_view_if_needed()
        frame_shown = lambda: page.evaluate("() => [document.querySelector('.slr-player img').src, document.querySelector('.slr-player .widget-readout').textContent]")
        before = frame_shown()
        player.query_selector('.widget-play button').click()
        page.wait_for_timeout(1500)
        after = frame_shown()
        player.screenshot(path=str(out/f'player_{front}.png'))
        (ok if after[0] != before[0] and after[1] != before[1] else fail)(
            f'player ({front}): play pressed, slider {before[1]} -> {after[1]}, figure {"redrawn" if after[0] != before[0] else "unchanged"}')
    finally:
        if browser is not None: browser.close()
        server.terminate()
        try: server.wait(10)
        except subprocess.TimeoutExpired: server.kill()

def check_webcam(pw, data:Path, out:Path, front_ends=tuple(FRONT_ENDS), timeout_s:int=240):
    import nbformat
    tmp = Path(tempfile.mkdtemp(prefix='slr-webcam-'))
    try:
        t0 = time.time()
        model = train_model(data, tmp/'run')
        from slr_nb.inference import Recognizer
        classes = Recognizer.load(model).classes
        ok(f'webcam: model trained on asl-signs in {time.time() - t0:.0f} s, classes {classes}')
        n = write_y4m(data/'pose'/'python__tests__data__test_video.mp4', tmp/'camera.y4m')
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.format(model=str(model), asl=str(data/'asl-signs'))) for c in WEBCAM_CELLS],
                                      metadata={'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}})
        nbformat.write(nb, tmp/'webcam.ipynb')
        for front in front_ends:
            try: run_front_end(pw, front, tmp, classes, out, n, timeout_s)
            except Exception as e: fail(f'webcam ({front}): {type(e).__name__}: {e}')
    except Exception as e:
        fail(f'webcam: {type(e).__name__}: {e}')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--html-dir', help='pages rendered by tools/check_docs.py --html-dir')
    ap.add_argument('--pages', default='index,tutorials/isolated_ksl13,tutorials/widgets_tour', help='pages to check (paths under --html-dir, no .html)')
    ap.add_argument('--out', default=str(ROOT/'_browser'), help='where the screenshots go')
    ap.add_argument('--no-pages', action='store_true'); ap.add_argument('--no-webcam', action='store_true')
    a = ap.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    if not Path(CHROMIUM).is_file(): print(f'browser_check: no Chromium at {CHROMIUM} (apt-get install chromium)'); return 1
    sys.path.insert(0, str(ROOT))
    from slr_nb.core import real_data_dir
    from playwright.sync_api import sync_playwright
    t0 = time.time()
    with sync_playwright() as pw:
        if not a.no_pages:
            if not a.html_dir: fail('pages: --html-dir is needed')
            else:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS + ['--allow-file-access-from-files'])
                check_pages(browser, Path(a.html_dir), a.pages.split(','), out)
                browser.close()
        if not a.no_webcam: check_webcam(pw, real_data_dir(), out)
    print(f'browser_check: {len(failures)} failure(s) in {time.time() - t0:.0f} s; screenshots in {out}')
    return 1 if failures else 0

if __name__ == '__main__': sys.exit(main())
