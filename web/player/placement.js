// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Where the model goes in a canvas the page owns: a rectangle of it, a fit
// (contain, cover or none), a scale on top, an anchor and an offset.  The
// canvas itself is never resized.

/**
 * The transform from model canvas pixels to drawing-buffer pixels.
 *  - `rect`: [x, y, width, height] of the target canvas (default: all of it);
 *  - `fit`: "contain" (default) | "cover" | "none" (1 model px = 1 canvas px);
 *  - `scale`: multiplies the fitted size (default 1);
 *  - `anchor`: [ax, ay] in 0..1: that point of the model sits on the same
 *    point of the rectangle (default [0.5, 0.5]; [0.5, 1] stands it on the bottom);
 *  - `offset`: [dx, dy] canvas pixels added at the end.
 * Returns {scale, offsetX, offsetY, rect}: target = model * scale + offset.
 */
export function placementTransform(model, target, placement = {}) {
  const rect = placement.rect || [placement.x ?? 0, placement.y ?? 0,
    placement.width ?? target.width - (placement.x ?? 0), placement.height ?? target.height - (placement.y ?? 0)];
  const [x, y, w, h] = rect.map(Number);
  if (![x, y, w, h].every(Number.isFinite) || w <= 0 || h <= 0) throw new RangeError("placement needs a rectangle with a positive width and height");
  const fit = placement.fit || "contain";
  const sx = w / model.width, sy = h / model.height;
  const base = fit === "cover" ? Math.max(sx, sy) : fit === "none" ? 1 : Math.min(sx, sy);
  const scale = base * (placement.scale === undefined ? 1 : Number(placement.scale));
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError("placement scale must be a positive number");
  const [ax, ay] = placement.anchor || [0.5, 0.5];
  const [dx, dy] = placement.offset || [0, 0];
  return {
    scale,
    offsetX: x + ax * w - ax * model.width * scale + dx,
    offsetY: y + ay * h - ay * model.height * scale + dy,
    rect: [x, y, w, h],
  };
}

/** Canvas pixel -> model canvas pixel under a placement transform. */
export function toModelPoint(place, x, y) {
  return [(x - place.offsetX) / place.scale, (y - place.offsetY) / place.scale];
}
