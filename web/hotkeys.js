// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Keyboard hotkeys for the viewer and the OBS page: 1-9 the motions in order,
// Q W E R T Y U I O P the expressions in order, 0 clears the expression,
// C calibrates face tracking ("this is my neutral face"), B toggles blinking.

export const EXPRESSION_KEYS = ["q", "w", "e", "r", "t", "y", "u", "i", "o", "p"];

/** [{key, kind: "motion" | "expression" | "action", name}] for a player's model. */
export function hotkeyList(player) {
  const out = [];
  motionNames(player).slice(0, 9).forEach((name, k) => out.push({ key: String(k + 1), kind: "motion", name }));
  [...player.expressions.keys()].slice(0, EXPRESSION_KEYS.length).forEach((name, k) => out.push({ key: EXPRESSION_KEYS[k].toUpperCase(), kind: "expression", name }));
  out.push({ key: "0", kind: "expression", name: "none" });
  out.push({ key: "C", kind: "action", name: "calibrate tracking" });
  out.push({ key: "B", kind: "action", name: "blink on/off" });
  return out;
}

/** Every motion once: model.json motions, then motion3 ones of other names. */
export function motionNames(player) {
  const names = player.model.motions.map((m) => m.id);
  for (const name of player.motionLibrary.keys()) if (!names.includes(name)) names.push(name);
  return names;
}

export function bindHotkeys(player, target = window) {
  const onKey = (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || (e.target && /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName))) return;
    const key = e.key.toLowerCase();
    const motions = motionNames(player);
    if (/^[1-9]$/.test(key) && motions[Number(key) - 1]) {
      player.startMotion(motions[Number(key) - 1], { priority: "normal", loop: false });
    } else if (EXPRESSION_KEYS.includes(key)) {
      const name = [...player.expressions.keys()][EXPRESSION_KEYS.indexOf(key)];
      if (name) player.setExpression(name);
    } else if (key === "0") {
      player.setExpression(null);
    } else if (key === "c") {
      for (const input of player.inputs) if (typeof input.calibrate === "function") input.calibrate();
    } else if (key === "b") {
      player.autoBlink = !player.autoBlink;
    } else return;
    e.preventDefault();
  };
  target.addEventListener("keydown", onKey);
  return () => target.removeEventListener("keydown", onKey);
}
