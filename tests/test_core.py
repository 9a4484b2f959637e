"The mirror map is a symmetry of MediaPipe's own face mesh, not a guess."
import numpy as np
import pytest
from slr_nb.core import MIRROR, GROUPS, N_FACE, PARTS


def _edges(s): return {tuple(sorted(e)) for e in s}


def test_face_mirror_matches_mesh_contours():
    fmc = pytest.importorskip('mediapipe.python.solutions.face_mesh_connections')
    mirror = lambda s: {tuple(sorted((MIRROR[a], MIRROR[b]))) for a, b in s}
    for left, right in [('LEFT_EYE', 'RIGHT_EYE'), ('LEFT_EYEBROW', 'RIGHT_EYEBROW'), ('LEFT_IRIS', 'RIGHT_IRIS'),
                        ('LIPS', 'LIPS'), ('FACE_OVAL', 'FACE_OVAL'), ('NOSE', 'NOSE')]:
        l, r = getattr(fmc, f'FACEMESH_{left}'), getattr(fmc, f'FACEMESH_{right}')
        if any(max(e) >= N_FACE for e in l): continue        # iris points (468+) are not in the Holistic face
        assert mirror(l) == _edges(r), left
    tess = _edges(fmc.FACEMESH_TESSELATION)
    assert len(mirror(tess) & tess) >= len(tess) - 6         # all but six quad diagonals the mesh draws asymmetrically


def test_mirror_is_an_involution():
    assert (MIRROR[MIRROR] == np.arange(543)).all()
    assert (MIRROR[PARTS['left_hand']] == np.arange(522, 543)).all()
