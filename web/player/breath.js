// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Automatic breathing: a sine over the parameter's range, period from
// constants.json "breath".
import { BREATH } from "./constants.js";

/** Breath value 0..1 at time `now` seconds. */
export function breathLevel(now) {
  return 0.5 + 0.5 * Math.sin((2 * Math.PI * now) / BREATH.period_s);
}
