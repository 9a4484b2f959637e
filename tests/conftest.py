"Shared fixtures: the real datasets beside the project, and a private store cache."
import os
import pytest
from slr_nb.core import real_data_dir


@pytest.fixture(scope='session')
def data_dir():
    "The real data (`$SLR_NB_DATA` or ../shared/data). Missing data fails, unless SLR_NB_ALLOW_NO_DATA=1 (public CI)."
    try: return real_data_dir()
    except FileNotFoundError:
        if os.environ.get('SLR_NB_ALLOW_NO_DATA') == '1': pytest.skip('real data not available (SLR_NB_ALLOW_NO_DATA=1)')
        raise


@pytest.fixture(autouse=True, scope='session')
def private_cache(tmp_path_factory):
    "Build stores in a fresh cache, so tests never reuse a store from an earlier run."
    old = os.environ.get('SLR_NB_CACHE')
    os.environ['SLR_NB_CACHE'] = str(tmp_path_factory.mktemp('cache'))
    yield
    if old is None: os.environ.pop('SLR_NB_CACHE', None)
    else: os.environ['SLR_NB_CACHE'] = old
