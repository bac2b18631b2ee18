// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Cubism exp3.json expressions: parameters added, multiplied or overwritten,
// faded in with a sine ease.
import { ModelError } from "./errors.js";
import { isObj } from "./checks.js";
import { easeSine } from "./motion3.js";

/** An exp3.json made playable for a model: {params: [[index, value, blend]], fadeIn}. */
export function parseExpression(json, model) {
  if (!isObj(json) || !Array.isArray(json.Parameters)) throw new ModelError("not an exp3.json expression (needs Parameters)");
  const params = [];
  for (const p of json.Parameters.slice(0, 10000)) {
    const i = isObj(p) ? model.parameterIndex.get(p.Id) : undefined;
    if (i === undefined || typeof p.Value !== "number" || !Number.isFinite(p.Value)) continue;
    const blend = p.Blend === "Multiply" || p.Blend === "Overwrite" ? p.Blend : "Add";
    params.push([i, p.Value, blend]);
  }
  const fadeIn = typeof json.FadeInTime === "number" && json.FadeInTime >= 0 ? json.FadeInTime : 1;
  return { params, fadeIn };
}

/** Apply an expression started at `start` to the values at `now` through set(i, v). */
export function applyExpression(e, values, now, set) {
  const w = e.fadeIn > 0 ? easeSine((now - e.start) / e.fadeIn) : 1;
  for (const [i, value, blend] of e.params) {
    const v = values[i];
    if (blend === "Add") set(i, v + value * w);
    else if (blend === "Multiply") set(i, v * (1 + (value - 1) * w));
    else set(i, v + (value - v) * w);
  }
}
