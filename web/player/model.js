// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// The player's model: its evaluator (parameters -> deformed vertices and mesh
// opacities), the rules of core/runtime/evaluate.py.


export class Model {
  constructor(parts) {
    Object.assign(this, parts);
    this.images = []; // decoded atlas pages (ImageBitmap), filled by loadModel
    this._keyformsOf = { mesh: this.meshes.map(() => []), deformer: this.deformers.map(() => []), opacity: this.meshes.map(() => []) };
    for (const k of this.keyforms) this._keyformsOf[k.kind][k.index].push(k);
    this._restGrids = this.deformers.map((d) => {
      if (d.type !== "warp") return null;
      const g = new Float64Array((d.rows + 1) * (d.cols + 1) * 2);
      for (let r = 0; r <= d.rows; r++) {
        for (let c = 0; c <= d.cols; c++) {
          const o = (r * (d.cols + 1) + c) * 2;
          g[o] = d.rect[0] + (d.rect[2] - d.rect[0]) * (c / d.cols);
          g[o + 1] = d.rect[1] + (d.rect[3] - d.rect[1]) * (r / d.rows);
        }
      }
      return g;
    });
    this.parameterIndex = new Map(this.parameters.map((p, i) => [p.id, i]));
  }

  /** Default values (Float64Array in parameter order). */
  defaultValues() {
    return Float64Array.from(this.parameters, (p) => p.default);
  }

  /** Clamped value array from an object/Map of id -> value (others default). */
  resolveValues(values) {
    const out = this.defaultValues();
    if (values) {
      const entries = values instanceof Map ? values.entries() : Object.entries(values);
      for (const [id, v] of entries) {
        const i = this.parameterIndex.get(id);
        if (i === undefined || typeof v !== "number" || Number.isNaN(v)) continue;
        const p = this.parameters[i];
        out[i] = Math.min(Math.max(v, p.min), p.max);
      }
    }
    return out;
  }

  /** Sum of keyform offsets of one target into `out` (zeroed first); false if none. */
  _offsets(list, values, out) {
    if (list.length === 0) return false;
    out.fill(0);
    // Scratch for the non-zero grid nodes (at most 2 per parameter, 4 parameters).
    const nodes = this._nodeScratch || (this._nodeScratch = new Int32Array(32));
    const weights = this._weightScratch || (this._weightScratch = new Float64Array(32));
    for (const k of list) {
      let count = 1;
      nodes[0] = 0; weights[0] = 1;
      for (let j = 0; j < k.params.length; j++) {
        const keys = k.keys[j], n = keys.length;
        let v = values[k.params[j]];
        let i0 = 0, w1 = 0;
        if (n > 1) {
          if (v < keys[0]) v = keys[0];
          if (v > keys[n - 1]) v = keys[n - 1];
          while (i0 < n - 2 && keys[i0 + 1] <= v) i0++;
          w1 = (v - keys[i0]) / (keys[i0 + 1] - keys[i0]);
        }
        // Expand in place from the back: node q -> (q*n + i0, w*(1-w1)), (q*n + i0 + 1, w*w1).
        if (n > 1) {
          for (let q = count - 1; q >= 0; q--) {
            const base = nodes[q] * n + i0, w = weights[q];
            nodes[2 * q] = base; weights[2 * q] = w * (1 - w1);
            nodes[2 * q + 1] = base + 1; weights[2 * q + 1] = w * w1;
          }
          count *= 2;
        } else {
          for (let q = 0; q < count; q++) nodes[q] = nodes[q] * n;
        }
      }
      const size = k.size, forms = k.forms;
      for (let q = 0; q < count; q++) {
        const w = weights[q];
        if (w === 0) continue;
        const base = nodes[q] * size;
        for (let e = 0; e < size; e++) out[e] += w * forms[base + e];
      }
    }
    return true;
  }

  _deformerForm(index, values, cache) {
    let form = cache[index];
    if (form) return form;
    const d = this.deformers[index];
    form = new Float64Array(d.type === "warp" ? this._restGrids[index].length : 3);
    this._offsets(this._keyformsOf.deformer[index], values, form);
    cache[index] = form;
    return form;
  }

  /**
   * Opacity of every mesh at `values` into `out` (Float64Array, mesh order):
   * its layer's opacity plus its opacity keyforms, clamped to 0..1.
   */
  meshOpacity(values, out = new Float64Array(this.meshes.length)) {
    const vals = values instanceof Float64Array ? values : this.resolveValues(values);
    const one = this._opacityScratch || (this._opacityScratch = new Float64Array(1));
    for (let mi = 0; mi < this.meshes.length; mi++) {
      let o = this.layers[this.meshes[mi].layerIndex].opacity;
      if (this._offsets(this._keyformsOf.opacity[mi], vals, one)) o = Math.min(Math.max(o + one[0], 0), 1);
      out[mi] = o;
    }
    return out;
  }

  /** Parameter indices that move a mesh (its keyforms and those of its deformer chain). */
  _meshParams(mi) {
    const m = this.meshes[mi], set = new Set();
    for (const k of this._keyformsOf.mesh[mi]) for (const p of k.params) set.add(p);
    for (const di of m.chain) for (const k of this._keyformsOf.deformer[di]) for (const p of k.params) set.add(p);
    return Int32Array.from(set);
  }

  /**
   * The player's per-frame evaluation: deforms into reused buffers and skips
   * meshes none of whose parameters changed since the last call.  Returns
   * {verts: Float32Array per mesh, changed: Uint8Array per mesh}.
   */
  evaluateFrame(vals, st = this._frame || (this._frame = this.newFrameState())) {
    st.formDone.fill(0);
    return this._evaluateInto(vals, st);
  }

  /** Reusable buffers for evaluateFrame (one per player). */
  newFrameState() {
    {
      return {
        verts: this.meshes.map((m) => new Float32Array(m.vertices.length)),
        pts: this.meshes.map((m) => new Float64Array(m.vertices.length)),
        off: new Float64Array(Math.max(2, ...this.meshes.map((m) => m.vertices.length))),
        params: this.meshes.map((m, mi) => this._meshParams(mi)),
        last: this.meshes.map((m, mi) => new Float64Array(this._meshParams(mi).length).fill(NaN)),
        changed: new Uint8Array(this.meshes.length),
        forms: this.deformers.map((d, i) => new Float64Array(d.type === "warp" ? this._restGrids[i].length : 3)),
        formDone: new Uint8Array(this.deformers.length),
        opacity: new Float64Array(this.meshes.length),
      };
    }
  }

  _evaluateInto(vals, st) {
    for (let mi = 0; mi < this.meshes.length; mi++) {
      const ps = st.params[mi], last = st.last[mi];
      let same = true;
      for (let j = 0; j < ps.length; j++) if (last[j] !== vals[ps[j]]) { same = false; last[j] = vals[ps[j]]; }
      st.changed[mi] = same ? 0 : 1;
      if (same) continue;
      const m = this.meshes[mi], pts = st.pts[mi];
      pts.set(m.vertices);
      const list = this._keyformsOf.mesh[mi];
      if (list.length) {
        const off = st.off.subarray(0, pts.length);
        this._offsets(list, vals, off);
        for (let e = 0; e < pts.length; e++) pts[e] += off[e];
      }
      for (const di of m.chain) {
        if (!st.formDone[di]) { this._offsets(this._keyformsOf.deformer[di], vals, st.forms[di]) || st.forms[di].fill(0); st.formDone[di] = 1; }
        this._applyDeformer(di, st.forms[di], pts);
      }
      st.verts[mi].set(pts);
    }
    this.meshOpacity(vals, st.opacity);
    return st;
  }

  _applyDeformer(index, form, pts) {
    const d = this.deformers[index];
    const n = pts.length / 2;
    if (d.type === "rotation") {
      const a = (form[0] * Math.PI) / 180;
      const c = Math.cos(a), s = Math.sin(a);
      const px = d.pivot[0], py = d.pivot[1], dx = form[1], dy = form[2];
      for (let i = 0; i < n; i++) {
        const rx = pts[2 * i] - px, ry = pts[2 * i + 1] - py;
        pts[2 * i] = px + c * rx + s * ry + dx;
        pts[2 * i + 1] = py - s * rx + c * ry + dy;
      }
      return;
    }
    const [x0, y0, x1, y1] = d.rect;
    const rows = d.rows, cols = d.cols, stride = cols + 1;
    for (let i = 0; i < n; i++) {
      const x = pts[2 * i], y = pts[2 * i + 1];
      const u = ((x - x0) / (x1 - x0)) * cols;
      const v = ((y - y0) / (y1 - y0)) * rows;
      const iu = Math.floor(u), iv = Math.floor(v);
      const fu = u - iu, fv = v - iv;
      const cu0 = Math.min(Math.max(iu, 0), cols), cu1 = Math.min(Math.max(iu + 1, 0), cols);
      const cv0 = Math.min(Math.max(iv, 0), rows), cv1 = Math.min(Math.max(iv + 1, 0), rows);
      const w00 = (1 - fu) * (1 - fv), w10 = fu * (1 - fv), w01 = (1 - fu) * fv, w11 = fu * fv;
      const o00 = (cv0 * stride + cu0) * 2, o10 = (cv0 * stride + cu1) * 2;
      const o01 = (cv1 * stride + cu0) * 2, o11 = (cv1 * stride + cu1) * 2;
      pts[2 * i] = x + w00 * form[o00] + w10 * form[o10] + w01 * form[o01] + w11 * form[o11];
      pts[2 * i + 1] = y + w00 * form[o00 + 1] + w10 * form[o10 + 1] + w01 * form[o01 + 1] + w11 * form[o11 + 1];
    }
  }

  /**
   * Deformed vertices of every mesh at `values` (parameter-order Float64Array
   * from resolveValues, or an object id -> value).  Returns an array (mesh
   * order) of Float64Array [x0, y0, x1, y1, ...] in canvas pixels.
   */
  evaluate(values) {
    const vals = values instanceof Float64Array ? values : this.resolveValues(values);
    const cache = new Array(this.deformers.length);
    return this.meshes.map((m, mi) => {
      const pts = Float64Array.from(m.vertices);
      const list = this._keyformsOf.mesh[mi];
      if (list.length) {
        const off = new Float64Array(pts.length);
        this._offsets(list, vals, off);
        for (let e = 0; e < pts.length; e++) pts[e] += off[e];
      }
      for (const di of m.chain) this._applyDeformer(di, this._deformerForm(di, vals, cache), pts);
      return pts;
    });
  }

  /** Deformed vertices as a plain object mesh id -> Float32Array (canvas px). */
  deformedVertices(values) {
    const out = {};
    this.evaluate(values).forEach((pts, i) => { out[this.meshes[i].id] = Float32Array.from(pts); });
    return out;
  }

  /** Parameter values of a motion at time t (seconds): Map param index -> value. */
  sampleMotion(motion, t) {
    const out = new Map();
    for (const c of motion.curves) {
      const { times, values } = c;
      let v;
      if (t <= times[0]) v = values[0];
      else if (t >= times[times.length - 1]) v = values[values.length - 1];
      else {
        let lo = 0, hi = times.length - 1;
        while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (times[mid] <= t) lo = mid; else hi = mid; }
        const span = times[hi] - times[lo];
        v = span > 0 ? values[lo] + ((values[hi] - values[lo]) * (t - times[lo])) / span : values[hi];
      }
      out.set(c.param, v);
    }
    return out;
  }

  motion(id) {
    return this.motions.find((m) => m.id === id) || null;
  }
}
