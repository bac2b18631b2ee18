# SPDX-License-Identifier: GPL-3.0-or-later
"""The player's own run time in headless Chromium: the built-in ticker of
openPlayer, the zip limits it reads from web/constants.json, and the
WebSocket input plug-in fed by a real local WebSocket server (the RFC 6455
handshake and frames written here with the standard library)."""

import base64
import hashlib
import json
import os
import shutil
import socket
import threading
import zipfile

import pytest

from image_to_rig.core.formats.export_folder import export_folder

from web_support import INSTALL_HINT, chromium_path, launch_chromium, make_face_document, serve_folder

try:
    import playwright  # noqa: F401

    BROWSER_MISSING = None if chromium_path() else INSTALL_HINT
except ImportError:
    BROWSER_MISSING = "pip install playwright (Chromium comes from apt: " + INSTALL_HINT + ")"

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if BROWSER_MISSING:
        pytest.skip(BROWSER_MISSING)
    root = tmp_path_factory.mktemp("runtime")
    doc = make_face_document()
    export_folder(doc, root / "face")
    with serve_folder(str(root)) as url:
        yield {"root": root, "url": url, "face": url + "face/", "doc": doc}


@pytest.fixture(scope="module")
def page(site):
    with launch_chromium() as browser:
        pg = browser.new_page()
        errors = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(site["face"] + "model.json")
        yield pg
        assert not errors, errors


# ------------------------------------------------------------------ the ticker of openPlayer


def test_open_player_ticks_by_itself_and_stops(site, page):
    got = page.evaluate(
        """async (base) => {
      const { openPlayer } = await import(base + 'player.js');
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const canvas = document.createElement('canvas'); document.body.append(canvas);
      const player = openPlayer(canvas, base);
      const before = { ticking: player.ticking, model: player.model };
      await player.ready;
      let draws = 0;
      const draw = player.draw.bind(player);
      player.draw = () => { draws++; draw(); };
      const t0 = player.time, b0 = player.getParameter('ParamBreath'), wall0 = performance.now();
      await sleep(600);
      const ran = { time: player.time - t0, wall: (performance.now() - wall0) / 1000, draws,
                    breathMoved: player.getParameter('ParamBreath') !== b0, motion: player.motionState.current };
      // A stalled tab: one frame of 0.7 s counts as at most 0.25 s.
      await frames();
      const s0 = player.time;
      const stallStart = performance.now(); while (performance.now() - stallStart < 700) {}
      await frames();
      const stalled = player.time - s0;
      player.stop();
      const stopped0 = player.time, drawsAtStop = draws;
      await sleep(300);
      const stopped = { time: player.time - stopped0, draws: draws - drawsAtStop, ticking: player.ticking };
      player.start(); player.start();   // a second start does not make two loops
      const r0 = player.time, rw0 = performance.now();
      await sleep(400);
      const resumed = { time: player.time - r0, wall: (performance.now() - rw0) / 1000 };
      const px = player.readPixels();
      let covered = 0;
      for (let i = 3; i < px.data.length; i += 4) if (px.data[i] > 0) covered++;
      player.destroy();
      const d0 = player.time;
      await sleep(200);
      // ticker: false leaves the stepping to the page.
      const manual = openPlayer(document.createElement('canvas'), base, { ticker: false });
      await manual.ready;
      await sleep(300);
      const manualTime = manual.time;
      manual.update(0.5);
      const manualAfter = manual.time;
      manual.destroy();
      return { before: { ticking: before.ticking, model: before.model === null }, ran, stalled, stopped, resumed,
               covered, destroyed: { time: player.time - d0, ticking: player.ticking }, manualTime, manualAfter };
    }""",
        site["face"],
    )
    # Ticking starts at once, before the model arrives (update waits for it).
    assert got["before"] == {"ticking": True, "model": True}
    ran = got["ran"]
    assert ran["motion"]["name"] == "Idle" and ran["motion"]["priority"] == "idle", "openPlayer plays Idle"
    # Animation time follows the wall clock (frames of at most 0.25 s each).
    assert 0.5 * ran["wall"] < ran["time"] <= ran["wall"] + 0.05, ran
    assert ran["draws"] >= 5 and ran["breathMoved"], ran
    assert got["stalled"] <= 0.25 + 0.1, f"a 0.7 s stall advanced {got['stalled']:.3f} s"
    assert got["stopped"] == {"time": 0, "draws": 0, "ticking": False}
    resumed = got["resumed"]
    assert 0.5 * resumed["wall"] < resumed["time"] <= resumed["wall"] + 0.05, resumed
    assert got["covered"] > 500, "the ticker drew the character"
    assert got["destroyed"] == {"time": 0, "ticking": False}
    assert got["manualTime"] == 0 and got["manualAfter"] == 0.5


# ------------------------------------------------------------------ zip limits from constants.json


def _zip(path, entries, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_zip_limits_come_from_constants_json(site, page):
    """ZIP_LIMITS is constants.json "zip" (upper-cased keys), and a copy of the
    player whose constants.json says less refuses what the shipped one takes."""
    constants = json.loads(open(os.path.join(REPO, "web", "constants.json"), encoding="utf-8").read())
    shipped = page.evaluate("async (base) => (await import(base + 'player.js')).ZIP_LIMITS", site["face"])
    assert shipped == {k.upper(): v for k, v in constants["zip"].items()}
    # A copy of the player with small limits.
    small = site["root"] / "small-limits"
    shutil.copytree(os.path.join(REPO, "web", "player"), small / "player")
    shutil.copyfile(os.path.join(REPO, "web", "player.js"), small / "player.js")
    strict = dict(constants)
    strict["zip"] = {"max_archive_bytes": 2**20, "max_entries": 3, "max_total_bytes": 2**20}
    (small / "constants.json").write_text(json.dumps(strict), encoding="utf-8")
    _zip(small / "four.zip", {f"f{i}.txt": b"x" for i in range(4)})
    _zip(small / "three.zip", {f"f{i}.txt": b"x" for i in range(3)})
    _zip(small / "two-mb.zip", {"zeros.bin": bytes(2 * 2**20)})  # deflates to a few KB
    _zip(small / "big-archive.zip", {"noise.bin": os.urandom(3 * 2**19)}, zipfile.ZIP_STORED)  # 1.5 MB
    got = page.evaluate(
        """async ([small, shipped]) => {
      const strict = await import(small + 'player.js');
      const loose = await import(shipped + 'player.js');
      const blob = async (n) => (await fetch(small + n)).blob();
      const attempt = async (mod, n, options = {}) => {
        try { const files = await mod.readZip(await blob(n), { name: n, ...options }); return { ok: files.size }; }
        catch (err) { return { error: err.message, zipError: err instanceof mod.ZipError }; }
      };
      const out = { limits: strict.ZIP_LIMITS };
      for (const n of ['four.zip', 'three.zip', 'two-mb.zip', 'big-archive.zip']) {
        out[n] = { strict: await attempt(strict, n), shipped: await attempt(loose, n) };
      }
      out.override = await attempt(strict, 'four.zip', { limits: { MAX_ENTRIES: 10 } });
      return out;
    }""",
        [site["url"] + "small-limits/", site["face"]],
    )
    assert got["limits"] == {"MAX_ARCHIVE_BYTES": 2**20, "MAX_ENTRIES": 3, "MAX_TOTAL_BYTES": 2**20}
    assert got["four.zip"]["strict"] == {
        "error": "four.zip: holds 4 files, more than the 3 this viewer unpacks",
        "zipError": True,
    }
    assert got["three.zip"]["strict"] == {"ok": 3}
    assert (
        got["two-mb.zip"]["strict"]["error"]
        == "two-mb.zip: would unpack to 2 MB, more than the 1 MB this viewer allows"
    )
    assert got["big-archive.zip"]["strict"]["error"].startswith(
        "big-archive.zip: is 2 MB, larger than the 1 MB this viewer unpacks"
    )
    for n, expect in (("four.zip", 4), ("three.zip", 3), ("two-mb.zip", 1), ("big-archive.zip", 1)):
        assert got[n]["shipped"] == {"ok": expect}, "the shipped limits take all of them"
    assert got["override"] == {"ok": 4}, "an explicit limits option still wins"


# ------------------------------------------------------------------ the WebSocket input plug-in


class TinyWebSocketServer:
    """A one-client-at-a-time WebSocket server (RFC 6455) on 127.0.0.1 that
    sends text frames; enough to drive WebSocketTrackerInput from a test."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.clients = []
        self.connected = threading.Event()
        self.paths = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                request += chunk
            lines = request.decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)
            }
            key = headers.get("sec-websocket-key", "")
            accept = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
            conn.sendall(
                (
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
                ).encode()
            )
            self.paths.append(lines[0].split(" ")[1] if " " in lines[0] else "")
            self.clients.append(conn)
            self.connected.set()

    def send(self, text: str):
        data = text.encode("utf-8")
        n = len(data)
        if n < 126:
            head = bytes([0x81, n])
        elif n < 65536:
            head = bytes([0x81, 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x81, 127]) + n.to_bytes(8, "big")
        for c in self.clients:
            c.sendall(head + data)

    def close(self):
        for c in self.clients:
            try:
                c.sendall(bytes([0x88, 0]))
                c.close()
            except OSError:
                pass
        self.sock.close()


OPEN_SOCKET_INPUT = """async ([base, url]) => {
  const { loadModel, createPlayer } = await import(base + 'player.js');
  const { WebSocketTrackerInput } = await import(base + 'player/tracking/remote.js');
  const player = createPlayer(document.createElement('canvas'), await loadModel(base));
  player.physicsEnabled = false; player.autoBreath = false;
  const input = new WebSocketTrackerInput(url);
  player.addInput(input);
  await new Promise((resolve, reject) => {
    input.socket.addEventListener('open', resolve);
    input.socket.addEventListener('error', () => reject(new Error('the socket did not open')));
  });
  window.SOCKET = { player, input };
  return input.socket.readyState;
}"""

# Run the player for `seconds` at 30 fps (letting socket messages in between frames).
PLAY = """async ([seconds, ids]) => {
  const { player, input } = window.SOCKET;
  for (let k = 0; k < Math.round(seconds * 30); k++) {
    player.update(1 / 30);
    await new Promise((r) => setTimeout(r, 5));
  }
  return { values: Object.fromEntries(ids.map((id) => [id, player.getParameter(id)])),
           weight: input.weight, tracking: input.tracking };
}"""

# 68 landmarks of the tracker's own face shape turned by `yaw` degrees (pinhole camera).
LANDMARKS = """async ([base, yaw]) => {
  const { FACE_SHAPE } = await import(base + 'player/tracking/face-pose.js');
  const a = yaw * Math.PI / 180, c = Math.cos(a), s = Math.sin(a);
  return FACE_SHAPE.map(([x, y, z]) => {
    const X = c * x + s * z, Z = -s * x + c * z;
    const depth = 600 - Z;
    return [320 + 700 * X / depth, 240 - 700 * y / depth];
  });
}"""


def test_websocket_input_drives_the_player(site, page):
    server = TinyWebSocketServer()
    try:
        state = page.evaluate(OPEN_SOCKET_INPUT, [site["face"], f"ws://127.0.0.1:{server.port}/tracker"])
        assert state == 1 and server.connected.wait(5) and server.paths == ["/tracker"]
        ids = ["ParamAngleX", "ParamMouthOpenY", "ParamEyeLOpen", "ParamAngleY"]
        # Bad messages are ignored: not JSON, not an object, wrong types, too long, non-finite.
        for bad in (
            "not json",
            "[1, 2, 3]",
            '{"parameters": {"ParamAngleX": "12"}}',
            '{"landmarks": [[1, 2]]}',
            json.dumps({"parameters": {"ParamAngleX": 29.0}, "pad": "x" * 70000}),
        ):
            server.send(bad)
        quiet = page.evaluate(PLAY, [0.3, ids])
        assert quiet["values"] == {
            "ParamAngleX": 0,
            "ParamMouthOpenY": 0,
            "ParamEyeLOpen": 1,
            "ParamAngleY": 0,
        }
        assert quiet["weight"] == 0 and not quiet["tracking"]
        # Parameter frames, 20 a second for 1 s: they show up in the player's parameters.
        got = None
        for k in range(20):
            server.send(
                '{"parameters": {"ParamAngleX": 12.5, "ParamMouthOpenY": 0.8, "ParamEyeLOpen": 0.25, '
                '"ParamAngleY": 1e999, "ParamNotInTheModel": 3}}'
            )
            got = page.evaluate(PLAY, [0.05, ids])
        assert got["tracking"] and got["weight"] == 1
        assert got["values"]["ParamAngleX"] == pytest.approx(12.5, abs=1e-9)
        assert got["values"]["ParamMouthOpenY"] == pytest.approx(0.8, abs=1e-9)
        assert got["values"]["ParamEyeLOpen"] == pytest.approx(0.25, abs=1e-9), (
            "automatic blink leaves it alone"
        )
        assert got["values"]["ParamAngleY"] == 0, "an infinite value is dropped"
        # Landmark frames are mapped like the webcam's (mirror mode: a turn to the image's right is AngleX < 0).
        points = page.evaluate(LANDMARKS, [site["face"], 20])
        for k in range(15):
            server.send(json.dumps({"landmarks": points}))
            mapped = page.evaluate(PLAY, [1 / 15, ids])
        assert -25 < mapped["values"]["ParamAngleX"] < -15, mapped
        # Silence: the input is lost after 0.5 s and fades out; the animation (rest) takes over.
        page.evaluate("() => { window.SOCKET.player.autoBlink = false; }")
        lost = page.evaluate(PLAY, [1.2, ids])
        assert not lost["tracking"] and lost["weight"] == 0
        assert lost["values"] == {
            "ParamAngleX": 0,
            "ParamMouthOpenY": 0,
            "ParamEyeLOpen": 1,
            "ParamAngleY": 0,
        }
        page.evaluate("() => { window.SOCKET.player.destroy(); }")
    finally:
        server.close()
