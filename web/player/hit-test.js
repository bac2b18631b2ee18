// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Hit areas (model3.json "HitAreas": [{Id: mesh id, Name}]) tested against the
// deformed triangles of their meshes at the current pose.

/** model3.json HitAreas -> [{name, id, mesh}] for the meshes the model has. */
export function resolveHitAreas(list, model) {
  const out = [];
  const byId = new Map(model.meshes.map((m) => [m.id, m.index]));
  for (const h of Array.isArray(list) ? list.slice(0, 256) : []) {
    if (!h || typeof h.Id !== "string") continue;
    const mesh = byId.get(h.Id);
    if (mesh === undefined) continue;
    out.push({ name: typeof h.Name === "string" && h.Name ? h.Name : h.Id, id: h.Id, mesh });
  }
  return out;
}

function inTriangle(px, py, ax, ay, bx, by, cx, cy) {
  const d1 = (px - bx) * (ay - by) - (ax - bx) * (py - by);
  const d2 = (px - cx) * (by - cy) - (bx - cx) * (py - cy);
  const d3 = (px - ax) * (cy - ay) - (cx - ax) * (py - ay);
  const neg = d1 < 0 || d2 < 0 || d3 < 0, pos = d1 > 0 || d2 > 0 || d3 > 0;
  return !(neg && pos);
}

/** Is model point (x, y) on a triangle of mesh `mi` with deformed vertices `verts`? */
export function meshContains(model, mi, verts, x, y) {
  const tr = model.meshes[mi].triangles;
  for (let k = 0; k < tr.length; k += 3) {
    const a = 2 * tr[k], b = 2 * tr[k + 1], c = 2 * tr[k + 2];
    if (inTriangle(x, y, verts[a], verts[a + 1], verts[b], verts[b + 1], verts[c], verts[c + 1])) return true;
  }
  return false;
}

/** Names of the hit areas at model point (x, y), the frontmost (latest drawn) first. */
export function hitAreasAt(model, areas, verts, x, y) {
  const depth = new Map(model.drawOrder.map((mi, k) => [mi, k]));
  return areas.filter((a) => meshContains(model, a.mesh, verts[a.mesh], x, y))
    .sort((a, b) => depth.get(b.mesh) - depth.get(a.mesh))
    .map((a) => a.name);
}
