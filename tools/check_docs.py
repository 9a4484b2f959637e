#!/usr/bin/env python3
"""Check the documentation offline, without Quarto.

    python tools/check_docs.py [--workers N] [--with-data] [--keep-proc] [--html-dir DIR [--widget-js DIR]] [-v]

1. Source notebooks (nbs/**/*.ipynb): no saved `error` outputs, no stderr output holding a
   "Traceback" or "Error".
2. Build `_proc/` exactly as `nbdev-docs` does before it calls Quarto (`nbdev.serve.proc_nbs`).
   That step *executes* code: every `#| export(s|i)` cell, every cell holding an import statement
   (whatever its flags: a `#| slow` or `#| notest` cell that imports something runs too) and the
   `show_doc(...)` cells nbdev inserts after each exported function/class, whose markdown output is
   what the docs page shows. Any exception there fails the docs build, so it fails this check.
   By default the real datasets are hidden (`SLR_NB_DATA` points at a missing folder) because the
   docs are published from GitHub Actions, where they do not exist; `--with-data` keeps them.
3. Render every `_proc/**/*.ipynb` to HTML with nbconvert (nothing is executed at this point); `--html-dir` keeps the
   pages (for tools/browser_check.py), `--widget-js` points them at a local copy of require.js and the Jupyter widget
   manager (a node_modules folder holding requirejs and @jupyter-widgets/html-manager) instead of their CDNs.
4. Every name in the `__all__` of each slr_nb module: functions and classes need a docstring,
   `show_doc` must render them, and every name must appear on the docs page of the notebook it is
   exported from (the page comes from slr_nb/_modidx.py, else from the `# %% ../nbs/...` marker
   above its definition).
Prints a compact report; exits 1 on any problem.
"""
import argparse, ast, dataclasses, glob, html, importlib, inspect, json, os, re, sys, tempfile, time, warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.chdir(ROOT)
sys.path.insert(0, str(ROOT))  # import this checkout's slr_nb (spawned proc workers inherit sys.path)

# nbdev warns, printing the whole cell, about cells mixing imports and code; we report those compactly
_QUIET = 'ignore:Found cells containing imports'
os.environ['PYTHONWARNINGS'] = ','.join(filter(None, [os.environ.get('PYTHONWARNINGS'), _QUIET]))
warnings.filterwarnings('ignore', message='Found cells containing imports')
os.environ.setdefault('MPLBACKEND', 'Agg')

problems, notes = [], []
def problem(msg): problems.append(msg)

def _short(s, n=300):
    s = ' '.join(str(s).split())
    return s if len(s) <= n else s[:n-3] + '...'

def _skip(p, base):
    return any(part.startswith(('.', '_')) or part == '.ipynb_checkpoints' for part in p.relative_to(base).parts)

# ------------------------------------------------------------------ 1. saved outputs in the sources
def check_saved_outputs(nbs_path, flags):
    from nbdev.doclinks import nbglob
    nbs = sorted(nbglob(nbs_path, as_path=True))  # the notebooks nbdev builds pages from
    for nb_path in nbs:
        rel = nb_path.relative_to(ROOT)
        try: nb = json.loads(nb_path.read_text(encoding='utf-8'))
        except Exception as e:
            problem(f'{rel}: not readable as a notebook: {type(e).__name__}: {e}'); continue
        for i, cell in enumerate(nb.get('cells', [])):
            src = ''.join(cell.get('source', ''))
            for o in cell.get('outputs', []) or []:
                if o.get('output_type') == 'error':
                    problem(f"{rel} cell {i}: saved error output: {o.get('ename')}: {_short(o.get('evalue'), 160)}")
                elif o.get('output_type') == 'stream' and o.get('name') == 'stderr':
                    txt = ''.join(o.get('text', ''))
                    if 'Traceback' in txt or 'Error' in txt:
                        line = next((l for l in txt.splitlines() if 'Error' in l or 'Traceback' in l), '')
                        problem(f'{rel} cell {i}: saved stderr output with an error: {_short(line, 160)}')
            # flagged cells that the docs build will run anyway (they hold an import statement)
            if cell.get('cell_type') == 'code' and flags:
                dirs = set(re.findall(r'^\s*#\|\s*([\w-]+)', src, flags=re.M))
                fl = sorted(dirs & flags)
                if fl and 'eval' not in dirs and re.search(r'^\s*(import|from)\s+\S', src, flags=re.M):
                    notes.append(f'{rel} cell {i} (#| {" ".join(fl)}) holds an import, so the docs build executes it '
                                 f'anyway; keep imports in a cell of their own')
    return nbs

# ------------------------------------------------------------------ 2. nbdev's proc step
def _proc_error_msg(e):
    "One line from nbdev's 'Error in notebook: X in cell N :\\n<source>\\nExcType: msg'"
    msg = str(e).strip()
    lines = msg.splitlines()
    head = lines[0] if lines else type(e).__name__
    dirs = [l.strip() for l in lines[1:] if l.strip().startswith('#|')]
    last = lines[-1] if len(lines) > 1 else f'{type(e).__name__}: {msg}'
    return _short(f"{head.rstrip(' :')}{' [' + ', '.join(dirs) + ']' if dirs else ''}: {last}", 400), msg

def build_proc(cfg, nbs, flags, workers, force, hide_data, verbose):
    from nbdev.serve import proc_nbs
    cache = cfg.config_path/'_proc'
    nbs_path = Path(cfg.nbs_path)
    saved = os.environ.get('SLR_NB_DATA')
    if hide_data:
        os.environ['SLR_NB_DATA'] = str(Path(tempfile.gettempdir())/'slr_nb-check-docs-no-real-data')
    try:
        first = None
        try: proc_nbs(n_workers=workers, force=force)
        except Exception as e: first = e
        # a notebook whose processed copy is missing or older than its source failed: redo each alone to
        # learn which ones and why (proc_nbs stops at the first exception)
        def stale(nb):
            d = cache/nb.relative_to(nbs_path)
            return not d.exists() or d.stat().st_mtime < nb.stat().st_mtime
        failed = [nb for nb in nbs if stale(nb)]
        for nb in failed:
            try: proc_nbs(n_workers=0 if workers == 0 else 1, file_glob=glob.escape(nb.name))
            except Exception as e:
                line, full = _proc_error_msg(e)
                hint = ''
                fl = [f for f in sorted(flags) if re.search(rf'^\s*#\|\s*{re.escape(f)}\b', full, flags=re.M)]
                if fl:
                    hint = (f'\n      hint: nbdev-docs executes every cell that contains an import statement, even '
                            f'test-flagged ones (#| {"/".join(fl)}): move the imports into a cell of their own')
                if hide_data:
                    hint += ('\n      note: the real datasets were hidden, as they are where the docs are published '
                             '(GitHub Actions); --with-data keeps them')
                problem(f'{nb.relative_to(ROOT)}: docs build (nbdev proc_nbs) failed: {line}{hint}')
                if verbose: print(full, file=sys.stderr)
                d = cache/nb.relative_to(nbs_path)
                if d.exists(): d.unlink()  # never render a stale page
            else:
                if stale(nb): problem(f'{nb.relative_to(ROOT)}: nbdev proc_nbs wrote no processed notebook')
        if first is not None and not failed:
            problem(f'docs build (nbdev proc_nbs) failed: {_proc_error_msg(first)[0]}')
    finally:
        if saved is None: os.environ.pop('SLR_NB_DATA', None)
        else: os.environ['SLR_NB_DATA'] = saved
    return cache

# ------------------------------------------------------------------ 3. render to HTML
_re_strip = re.compile(r'<(script|style)\b.*?</\1\s*>', flags=re.S | re.I)
_re_tag = re.compile(r'<[^>]+>')

def html_text(doc):
    m = re.search(r'<body\b.*?>(.*)</body>', doc, flags=re.S | re.I)
    body = _re_strip.sub(' ', m.group(1) if m else doc)
    return html.unescape(_re_tag.sub(' ', body))

def render(cache, html_dir=None, widget_js=None):
    import nbformat
    from nbconvert import HTMLExporter
    from nbdev.doclinks import nbpath2html
    local = {}
    if widget_js:  # the saved widget state drawn by a local widget manager: the browser check runs offline
        js = Path(widget_js).resolve()
        local = dict(require_js_url=(js/'requirejs'/'require.js').as_uri(),
                     widget_renderer_url=(js/'@jupyter-widgets'/'html-manager'/'dist'/'embed-amd.js').as_uri())
    exporter = HTMLExporter(**local)
    pages, n = {}, 0
    for p in sorted(cache.rglob('*.ipynb')):
        if _skip(p, cache): continue
        rel = p.relative_to(cache)
        try:
            nb = nbformat.read(p, as_version=4)
            for cell in nb.cells:
                cell.metadata.pop('execution', None)
                if cell.cell_type == 'code' and re.search(r'^show_doc\(', cell.source, flags=re.M):
                    if any(o.get('output_type') == 'error' for o in cell.get('outputs', [])):
                        problem(f'_proc/{rel}: `{_short(cell.source.splitlines()[-1], 80)}` raised')
            body, _ = exporter.from_notebook_node(nb)
        except Exception as e:
            problem(f'_proc/{rel}: HTML render failed: {type(e).__name__}: {_short(e, 200)}'); continue
        text, n = html_text(body), n + 1
        pages[nbpath2html(rel).as_posix()] = text
        if html_dir:
            dest = Path(html_dir)/rel.with_suffix('.html'); dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(body, encoding='utf-8')
        m = re.search(r'^output-file:\s*(\S+)', nb.cells[0].source if nb.cells else '', flags=re.M)
        if m: pages.setdefault(m.group(1), text)
    return pages, n

# ------------------------------------------------------------------ 4. exported names
_re_marker = re.compile(r'^# %% (\S+\.ipynb)', flags=re.M)

def _defined_at(tree, name):
    "Line of the top-level statement that binds `name`"
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name: return node.lineno
        targets = []
        if isinstance(node, ast.Assign): targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)): targets = [node.target]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((a.asname or a.name.split('.')[0]) == name for a in node.names): return node.lineno
        for t in targets:
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(t)): return node.lineno

def _page_from_source(mod_file, src, tree, name, nbs_path):
    from nbdev.doclinks import nbpath2html
    line = _defined_at(tree, name)
    markers = [(src.count('\n', 0, m.start()) + 1, m.group(1)) for m in _re_marker.finditer(src)]
    cands = [nb for ln, nb in markers if line and ln <= line] or [nb for _, nb in markers]
    if not cands: return None
    nb = (mod_file.parent/cands[-1]).resolve()
    try: return nbpath2html(nb.relative_to(nbs_path.resolve())).as_posix()
    except ValueError: return None

def _own_doc(obj):
    if inspect.isclass(obj):
        doc = obj.__dict__.get('__doc__')
        if doc and dataclasses.is_dataclass(obj) and doc.startswith(obj.__name__ + '('): doc = None  # auto-generated
        return doc
    return getattr(obj, '__doc__', None)

def check_names(cfg, pages):
    from nbdev.showdoc import show_doc
    lib = Path(cfg.lib_path)
    nbs_path = Path(cfg.nbs_path)
    try:
        syms = importlib.import_module(f'{lib.name}._modidx').d['syms']
    except Exception as e:
        problem(f'{lib.name}/_modidx.py: cannot be read: {type(e).__name__}: {e}'); syms = {}
    n, unbuilt = 0, {}
    for f in sorted(lib.rglob('*.py')):
        if f.name == '_modidx.py' or '__pycache__' in f.parts: continue
        rel = f.relative_to(ROOT)
        modname = '.'.join(f.relative_to(lib.parent).with_suffix('').parts)
        if modname.endswith('.__init__'): modname = modname[:-len('.__init__')]
        src = f.read_text(encoding='utf-8')
        if not re.search(r'^__all__\s*=', src, flags=re.M): continue
        try:
            with warnings.catch_warnings():  # import-time deprecation chatter of the dependencies
                warnings.simplefilter('ignore')
                mod = importlib.import_module(modname)
        except Exception as e:
            problem(f'{rel}: import failed: {type(e).__name__}: {_short(e, 200)}'); continue
        tree = ast.parse(src)
        for name in getattr(mod, '__all__', []):
            n += 1
            where = f'{modname}.{name}'
            if not hasattr(mod, name): problem(f'{where}: listed in __all__ but not defined'); continue
            obj = getattr(mod, name)
            is_def = inspect.isroutine(obj) or inspect.isclass(obj)
            if is_def and not (_own_doc(obj) or '').strip():
                problem(f'{where}: {"class" if inspect.isclass(obj) else "function"} without a docstring')
            if is_def:
                try: show_doc(obj)._repr_markdown_()
                except Exception as e: problem(f'{where}: show_doc failed: {type(e).__name__}: {_short(e, 160)}')
            entry = syms.get(modname, {}).get(where)
            page = entry[0].split('#')[0] if entry else _page_from_source(f, src, tree, name, nbs_path)
            if page is None: problem(f'{where}: cannot tell which notebook/page documents it'); continue
            if page not in pages:
                unbuilt.setdefault(page, []).append(where); continue
            if not re.search(rf'(?<!\w){re.escape(name)}(?!\w)', pages[page]):
                problem(f'{where}: not mentioned on its docs page {page}')
    for page, names in unbuilt.items():
        problem(f'{page} was not built, so {len(names)} exported name(s) could not be checked: '
                + _short(', '.join(nm.rsplit('.', 1)[1] for nm in names), 200))
    return n

# ------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--workers', type=int, default=min(2, os.cpu_count() or 1), help='proc_nbs workers (0: in-process)')
    ap.add_argument('--with-data', action='store_true', help='let the docs build see the real datasets')
    ap.add_argument('--keep-proc', action='store_true', help="reuse nbdev's _proc cache (default: rebuild it)")
    ap.add_argument('--html-dir', help='write the rendered pages there')
    ap.add_argument('--widget-js', help='node_modules folder with requirejs and @jupyter-widgets/html-manager, used by the pages')
    ap.add_argument('-v', '--verbose', action='store_true', help='print full errors')
    a = ap.parse_args()

    from nbdev.config import get_config
    cfg = get_config()
    nbs_path = Path(cfg.nbs_path)
    flags = set(str(cfg.get('tst_flags', '')).split())
    times = {}

    t = time.time()
    nbs = check_saved_outputs(nbs_path, flags)
    t1 = time.time(); times['outputs'] = t1 - t
    cache = build_proc(cfg, nbs, flags, a.workers, not a.keep_proc, not a.with_data, a.verbose)
    t2 = time.time(); times['proc'] = t2 - t1
    pages, n_pages = render(cache, a.html_dir, a.widget_js)
    t3 = time.time(); times['render'] = t3 - t2
    n_names = check_names(cfg, pages)
    times['names'] = time.time() - t3

    for m in notes: print(f'note: {m}')
    tm = ', '.join(f'{k} {v:.1f}s' for k, v in times.items())
    print(f'check_docs: {len(nbs)} notebooks, {n_pages} pages rendered, {n_names} exported names checked, '
          f'{len(problems)} problem(s)  [{tm}]')
    for p in problems: print(f'  - {p}')
    return 1 if problems else 0

if __name__ == '__main__': sys.exit(main())
