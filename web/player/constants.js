// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// The runtime constants, read from ../constants.json: the one file that the
// Python reference (core/) and this player share.  Change numbers there only.
import C from "../constants.json" with { type: "json" };

export const CONSTANTS = C;
export const FORMAT_NAME = C.format.name;
export const FORMAT_VERSION = C.format.version;

const upper = (obj) => Object.freeze(Object.fromEntries(Object.entries(obj).map(([k, v]) => [k.toUpperCase(), v])));

// Hard limits so a hostile file cannot freeze a tab (LIMITS keeps the keys it
// always had: MAX_ITEMS ... MAX_TEXTURE_BYTES; the pixel budgets are added).
export const LIMITS = upper(C.limits);

export const PHYSICS_STEP_HZ = C.physics.step_hz;
export const PHYSICS_MAX_FRAME_DT = C.physics.max_frame_dt;
export const PHYSICS = Object.freeze({ ...C.physics });

/** Automatic blink timing (seconds), the numbers core/stages/motions/blink.py uses for the idle motion. */
export const BLINK = Object.freeze({ ...C.blink });
export const BREATH = Object.freeze({ ...C.breath });
export const BUDGETS = Object.freeze({ ...C.budgets });
export const TRACKING = Object.freeze({ ...C.tracking });
