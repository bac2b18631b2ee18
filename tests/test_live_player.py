# SPDX-License-Identifier: GPL-3.0-or-later
"""The player for web developers and VTubers, in headless Chromium: events,
motion priority and queue, expressions by name, hit areas, placement in a
page's own canvas, the OBS page, and webcam face tracking end to end through
Chromium's fake camera fed with a video of a synthetic face."""

import os

import numpy as np
import pytest

from image_to_rig.core.formats.export_folder import export_folder

from web_support import INSTALL_HINT, chromium_path, launch_chromium, make_face_document, serve_folder

try:
    import playwright  # noqa: F401

    BROWSER_MISSING = None if chromium_path() else INSTALL_HINT
except ImportError:
    BROWSER_MISSING = "pip install playwright (Chromium comes from apt: " + INSTALL_HINT + ")"

SHOTS = os.environ.get("IMAGE_TO_RIG_SHOTS", "")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if BROWSER_MISSING:
        pytest.skip(BROWSER_MISSING)
    root = tmp_path_factory.mktemp("live")
    doc = make_face_document()
    export_folder(doc, root / "face")
    with serve_folder(str(root)) as url:
        yield {"root": root, "url": url + "face/", "doc": doc}


@pytest.fixture(scope="module")
def page(site):
    with launch_chromium() as browser:
        pg = browser.new_page()
        errors = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(site["url"] + "model.json")
        yield pg
        assert not errors, errors


def test_events_priority_queue_and_expressions_by_name(site, page):
    got = page.evaluate(
        """async (base) => {
      const { Player } = await import(base + 'player.js');
      const canvas = document.createElement('canvas');
      const player = new Player(canvas, null);
      const log = [];
      for (const type of ['load', 'error', 'motionstart', 'motionend', 'expression']) {
        player.on(type, (d) => log.push([type, d && (d.name !== undefined ? d.name : d.message || (d.model ? 'model' : '')),
                                          d && d.priority, d && d.reason]));
      }
      await player.load(base);
      const state0 = player.motionState;
      const idle = player.motionState.current;
      // The export's motion3 twin of Idle is in the library too; make a short motion.
      const short = { Version: 3, Meta: { Duration: 0.5, Fps: 30, Loop: false, FadeInTime: 0, FadeOutTime: 0 },
                      Curves: [{ Target: 'Parameter', Id: 'ParamAngleZ', Segments: [0, 0, 0, 0.5, 20] }] };
      const a = player.startMotion(short, { priority: 'normal' });
      const refused = player.startMotion('Idle', { priority: 'idle' });         // becomes the idle fallback
      const queued = player.startMotion(short, { priority: 'normal', queue: true });
      const states = [a.state, refused.state, queued.state];
      const queue1 = player.motionState.queue.length;
      for (let i = 0; i < 12; i++) player.update(0.05);   // the first finishes, the queued one starts
      const mid = player.motionState.current;
      for (let i = 0; i < 12; i++) player.update(0.05);   // it finishes: idle resumes
      const after = player.motionState.current;
      const forced = player.startMotion(short, { priority: 'forced' });
      const cantInterrupt = player.startMotion(short, { priority: 'normal' });
      let unknown = '';
      try { player.setExpression('nope'); } catch (err) { unknown = err.message; }
      player.setExpression('smile');
      for (let i = 0; i < 30; i++) player.update(1 / 30);
      const smile = player.getParameter('ParamMouthForm');
      player.setExpression(null);
      player.destroy();
      // A broken source: an "error" event and a rejected promise.
      const broken = new Player(document.createElement('canvas'), null);
      let errorEvent = null, rejected = null;
      broken.on('error', (e) => { errorEvent = e.message; });
      try { await broken.load(base + 'nothere/'); } catch (err) { rejected = err.name; }
      broken.destroy();
      return { log, state0, idle, states, queue1, mid, after, forced: forced.state, cantInterrupt,
               unknown, smile, errorEvent, rejected, expressions: [...player.expressions.keys()] };
    }""",
        site["url"],
    )
    assert got["log"][0][0] == "load"
    assert got["idle"] == {"name": "Idle", "kind": "model", "priority": "idle"}
    assert got["states"] == ["playing", "idle", "queued"], (
        "idle waits its turn, equal priority with queue waits"
    )
    assert got["queue1"] == 1
    assert got["mid"]["priority"] == "normal" and got["mid"]["kind"] == "motion3"
    assert got["after"] == {"name": "Idle", "kind": "model", "priority": "idle"}, (
        "idle resumes when the rest ends"
    )
    assert got["forced"] == "playing" and got["cantInterrupt"] is None, "normal cannot interrupt forced"
    ends = [e for e in got["log"] if e[0] == "motionend"]
    assert [e[3] for e in ends[:3]] == ["replaced", "finished", "finished"], ends
    starts = [e for e in got["log"] if e[0] == "motionstart"]
    assert [s[2] for s in starts[:4]] == ["idle", "normal", "normal", "idle"], starts
    assert "no expression \"nope\"" in got["unknown"] and "smile" in got["unknown"]
    assert got["smile"] > 0.9
    assert ["expression", "smile", None, None] in got["log"] and ["expression", None, None, None] in got[
        "log"
    ]
    assert got["expressions"] == ["smile", "surprise", "angry"]
    assert "could not download" in got["errorEvent"] and got["rejected"] == "ModelError"


def test_hit_areas_from_model3_follow_the_pose(site, page):
    doc = site["doc"]
    face = next(layer for layer in doc.layers if layer.id == "face")
    body = next(layer for layer in doc.layers if layer.id == "topwear")
    fx, fy = face.x + face.size[0] / 2, face.y + face.size[1] * 0.4
    bx, by = body.x + body.size[0] / 2, body.y + body.size[1] * 0.8
    got = page.evaluate(
        """async ([base, pts]) => {
      const { Player } = await import(base + 'player.js');
      const player = new Player(document.createElement('canvas'), null);
      await player.load(base, { autoplay: false });
      player.autoBlink = false; player.autoBreath = false; player.physicsEnabled = false;
      const out = { areas: player.hitAreas.map((a) => [a.name, a.id]) };
      out.hits = pts.map(([x, y]) => player.hitTest(x, y));
      // Turn the head far: the face moves, so a point at its old right edge may leave it.
      player.setParameter('ParamAngleZ', 30);
      out.turned = pts.map(([x, y]) => player.hitTest(x, y));
      player.destroy();
      return out;
    }""",
        [site["url"], [[fx, fy], [bx, by], [2, 2], [face.x + face.size[0] - 2, face.y + 2]]],
    )
    assert got["areas"] == [["Head", "face"], ["Body", "topwear"]]
    head, body_hit, outside, corner = got["hits"]
    assert head[0] == "Head", head
    assert body_hit == ["Body"]
    assert outside == []
    assert got["turned"][0][0] == "Head" and got["turned"][1] == ["Body"]
    assert got["turned"][3] != corner or corner == [], "the face's corner moves with the pose"


def test_placement_draws_into_a_rectangle_of_the_page_canvas(site, page, tmp_path):
    doc = site["doc"]
    got = page.evaluate(
        """async (base) => {
      const { loadModel, createPlayer } = await import(base + 'player.js');
      const model = await loadModel(base);
      const alone = createPlayer(document.createElement('canvas'), model);
      alone.autoBlink = false;
      const ref = alone.readPixels();
      alone.destroy();
      const canvas = document.createElement('canvas');
      canvas.width = 400; canvas.height = 300;
      const player = createPlayer(canvas, model, { placement: { rect: [200, 20, 160, 256], anchor: [0.5, 1], scale: 1 } });
      player.autoBlink = false;
      const px = player.readPixels();
      player.addCompanions({ hitAreas: [{ Id: 'face', Name: 'Head' }, { Id: 'topwear', Name: 'Body' }] });
      const hit = player.hitTest(280, 20 + 256 - 128 + 50);  // model point (80, 50): the face
      const place = player._place();
      player.destroy();
      return { size: [canvas.width, canvas.height], ref: { w: ref.width, h: ref.height, data: Array.from(ref.data) },
               px: Array.from(px.data), place, hit };
    }""",
        site["url"],
    )
    assert got["size"] == [400, 300], "the page's canvas keeps its size"
    img = np.asarray(got["px"], np.uint8).reshape(300, 400, 4)
    ref = np.asarray(got["ref"]["data"], np.uint8).reshape(got["ref"]["h"], got["ref"]["w"], 4)
    if SHOTS:
        import cv2

        cv2.imwrite(os.path.join(SHOTS, "placement.png"), cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA))
    x0, y0, w, h = 200, 20, 160, 256
    outside = img.copy()
    outside[y0 : y0 + h, x0 : x0 + w] = 0
    assert outside[..., 3].max() == 0, "nothing is drawn outside the rectangle"
    s = min(w / doc.canvas.width, h / doc.canvas.height)
    assert got["place"]["scale"] == pytest.approx(s)
    # Anchored at the bottom centre of the rectangle.
    assert got["place"]["offsetY"] + doc.canvas.height * s == pytest.approx(y0 + h)
    assert got["place"]["offsetX"] + doc.canvas.width * s / 2 == pytest.approx(x0 + w / 2)
    # The drawing is the model scaled down: compare with the reference resized.
    import cv2

    ox, oy = got["place"]["offsetX"], got["place"]["offsetY"]
    m = np.float32([[s, 0, ox], [0, s, oy]])
    pre = ref.astype(np.float32)
    pre[..., :3] *= pre[..., 3:] / 255
    warped = cv2.warpAffine(pre, m, (400, 300), flags=cv2.INTER_AREA)
    got_pre = img.astype(np.float32)
    got_pre[..., :3] *= got_pre[..., 3:] / 255
    covered = (warped[..., 3] > 20) | (got_pre[..., 3] > 20)
    assert covered.sum() > 2000
    assert np.abs(warped - got_pre)[covered].mean() < 12
    assert got["hit"] and got["hit"][0] in ("Head", "Body")


def test_obs_page_is_transparent_without_ui(site, page, tmp_path):
    # A page of the module's browser (one Playwright per process).
    shared = page
    if True:
        page = shared.context.browser.new_page(viewport={"width": 360, "height": 480})
        page.goto(site["url"] + "live.html")
        page.wait_for_function("document.body.dataset.ready === 'true'", timeout=30000)
        page.wait_for_timeout(500)
        elements = page.evaluate(
            "Array.from(document.body.querySelectorAll('*')).filter((e) => e.tagName !== 'SCRIPT').map((e) => e.tagName)"
        )
        path = os.path.join(SHOTS or str(tmp_path), "obs_live.png")
        page.screenshot(path=path, omit_background=True)
        playing = page.evaluate("window.imageToRig.player.motionState.current.name")
        page.keyboard.press("q")
        expression = page.evaluate(
            "window.imageToRig.player.expression && window.imageToRig.player.expression.name"
        )
        page.close()
    assert elements == ["CANVAS"], "no UI on the OBS page"
    import cv2

    shot = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert shot.shape == (480, 360, 4)
    alpha = shot[..., 3]
    assert alpha[:10].max() == 0 and alpha[-10:].max() == 0 and alpha[:, :10].max() == 0, (
        "transparent background"
    )
    assert (alpha > 200).mean() > 0.1, "the character is drawn"
    assert playing == "Idle" and expression == "smile"
