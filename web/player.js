// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Image to Rig web player: loads an exported model.json + atlas PNGs and draws
// it with WebGL2.  No dependencies.  This file gathers the player's modules
// (web/player/*.js, one concept each) into the one import that pages use:
//
//   import { openPlayer } from "./player.js";
//   const player = openPlayer(canvas, "./");        // loads, plays Idle, ticks
//   player.on("load", () => player.setExpression("smile"));
//
// The evaluation rules are those of core/runtime/evaluate.py and core/model/document.py
// (web/player/model.js); drawing follows core/runtime/render.py (web/player/render.js).
// Constants (limits, physics rate, blink and breath timing) come from
// constants.json, the one file the Python side reads too.
export { CONSTANTS, FORMAT_NAME, FORMAT_VERSION, LIMITS, BLINK, BREATH, BUDGETS, TRACKING } from "./player/constants.js";
export { ModelError } from "./player/errors.js";
export { parseModel } from "./player/parse.js";
export { Model } from "./player/model.js";
export { PHYSICS_STEP_HZ, PHYSICS_MAX_FRAME_DT, PhysicsSimulator } from "./player/physics.js";
export { parseMotion3, bezierValue, evaluateMotion3Curve, easeSine, fadeWeight } from "./player/motion3.js";
export { loadModel, pngHeader } from "./player/load.js";
export { exportPath, loadCompanions } from "./player/companions.js";
export { AutoBlink } from "./player/blink.js";
export { placementTransform } from "./player/placement.js";
export { Player, PRIORITY, createPlayer, openPlayer } from "./player/playback.js";
export { ZIP_LIMITS, ZipError, readZip, readExportZip } from "./player/zip.js";
