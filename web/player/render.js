// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// WebGL2 drawing of an evaluated frame, the rules of core/runtime/render.py:
// premultiplied colour, "over" in draw order, mesh opacity, and clipping that
// multiplies by the clip layer's rendered alpha (an offscreen mask per layer
// that others clip to).  Draws into the whole canvas or into a placement
// rectangle of it (see placement.js).
import { LIMITS } from "./constants.js";
import { ModelError } from "./errors.js";

const VERTEX_SHADER = `#version 300 es
in vec2 a_position;  // model canvas px, y down
in vec2 a_uv;        // 0..1 in the atlas, v down
uniform vec2 u_scale;   // model px -> target px
uniform vec2 u_offset;  // target px of the model's (0, 0)
uniform vec2 u_target;  // drawing buffer size
out vec2 v_uv;
void main() {
  v_uv = a_uv;
  vec2 clip = (a_position * u_scale + u_offset) / u_target * 2.0 - 1.0;
  gl_Position = vec4(clip.x, -clip.y, 0.0, 1.0);
}`;

const FRAGMENT_SHADER = `#version 300 es
precision highp float;
in vec2 v_uv;
uniform sampler2D u_atlas;   // premultiplied on upload
uniform sampler2D u_mask;    // rendered clip layer (premultiplied), same size as the target
uniform bool u_clip;
uniform float u_opacity;
uniform vec2 u_target;
out vec4 o_color;
void main() {
  vec4 c = texture(u_atlas, v_uv);
  if (u_clip) {
    // The mask texture has the orientation of the framebuffer.
    c *= texture(u_mask, gl_FragCoord.xy / u_target).a;
  }
  o_color = c * u_opacity;
}`;

function compile(gl, type, source) {
  const sh = gl.createShader(type);
  gl.shaderSource(sh, source);
  gl.compileShader(sh);
  if (!gl.getShaderParameter(sh, gl.COMPILE_STATUS)) {
    const log = gl.getShaderInfoLog(sh);
    gl.deleteShader(sh);
    throw new Error(`shader did not compile: ${log}`);
  }
  return sh;
}

/** The GL side of a player: one per canvas (a canvas has one WebGL context for life). */
export class Renderer {
  constructor(canvas, { antialias = false, preserveDrawingBuffer = false } = {}) {
    this.canvas = canvas;
    const gl = canvas.getContext("webgl2", { alpha: true, premultipliedAlpha: true, antialias, preserveDrawingBuffer, depth: false, stencil: false });
    if (!gl) throw new Error("this browser cannot draw WebGL2; try a current Chrome, Firefox or Safari");
    this.gl = gl;
    const prog = gl.createProgram();
    gl.attachShader(prog, compile(gl, gl.VERTEX_SHADER, VERTEX_SHADER));
    gl.attachShader(prog, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT_SHADER));
    gl.bindAttribLocation(prog, 0, "a_position");
    gl.bindAttribLocation(prog, 1, "a_uv");
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`shader did not link: ${gl.getProgramInfoLog(prog)}`);
    this.program = prog;
    this.loc = {};
    for (const u of ["u_scale", "u_offset", "u_atlas", "u_mask", "u_clip", "u_opacity", "u_target"]) this.loc[u] = gl.getUniformLocation(prog, u);
    this.blankTexture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, this.blankTexture);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 1, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
    this.model = null;
    this.textures = [];
    this.meshGL = [];
    this.masks = new Map();
    this.maskSize = [0, 0];
  }

  /** Upload a model's atlas pages and meshes (frees the previous model's). */
  setModel(model) {
    this._freeModel();
    const gl = this.gl;
    this.model = model;
    const maxTex = gl.getParameter(gl.MAX_TEXTURE_SIZE);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, true);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    const uploaded = new Map(); // a page named twice is uploaded once
    this.textures = model.images.map((img, i) => {
      if (uploaded.has(img)) return uploaded.get(img);
      if (img.width > maxTex || img.height > maxTex) throw new ModelError(`atlas ${model.textures[i]} is ${img.width}x${img.height}, larger than this GPU supports (${maxTex})`);
      const tex = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, tex);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, img);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      uploaded.set(img, tex);
      return tex;
    });
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);

    this.meshGL = model.meshes.map((m) => {
      const vao = gl.createVertexArray();
      gl.bindVertexArray(vao);
      const pos = gl.createBuffer();
      gl.bindBuffer(gl.ARRAY_BUFFER, pos);
      gl.bufferData(gl.ARRAY_BUFFER, Float32Array.from(m.vertices), gl.DYNAMIC_DRAW);
      gl.enableVertexAttribArray(0);
      gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
      const uv = gl.createBuffer();
      gl.bindBuffer(gl.ARRAY_BUFFER, uv);
      gl.bufferData(gl.ARRAY_BUFFER, m.uvs, gl.STATIC_DRAW);
      gl.enableVertexAttribArray(1);
      gl.vertexAttribPointer(1, 2, gl.FLOAT, false, 0, 0);
      const ibo = gl.createBuffer();
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, ibo);
      gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, m.triangles, gl.STATIC_DRAW);
      gl.bindVertexArray(null);
      return { vao, pos, uv, ibo, count: m.triangles.length, uploaded: null };
    });
    this.maskLayers = [...new Set(model.layers.filter((l) => l.clipTo).map((l) => l.clipTo))];
    this.meshesOfLayer = new Map();
    model.meshes.forEach((m) => {
      if (!this.meshesOfLayer.has(m.layer)) this.meshesOfLayer.set(m.layer, []);
      this.meshesOfLayer.get(m.layer).push(m.index);
    });
    this.layerById = new Map(model.layers.map((l) => [l.id, l]));
    this._ensureMasks(this.canvas.width, this.canvas.height);
  }

  /** Refuse a drawing buffer (plus its clipping masks) beyond the pixel budget, before allocating. */
  checkTargetBudget(width, height) {
    const masks = this.maskLayers ? this.maskLayers.length : 0;
    const px = width * height * (1 + masks);
    if (width > LIMITS.MAX_CANVAS || height > LIMITS.MAX_CANVAS || px > LIMITS.MAX_TARGET_PIXELS) {
      throw new ModelError(`drawing ${width}x${height} pixels with ${masks} clipping mask(s) needs ${(px / 1e6).toFixed(0)} megapixels ` +
                           `of render targets, more than the ${(LIMITS.MAX_TARGET_PIXELS / 1e6).toFixed(0)} this player allows; use a smaller canvas`);
    }
  }

  /** One offscreen target per clip layer, the size of the drawing buffer. */
  _ensureMasks(width, height) {
    if (this.maskSize[0] === width && this.maskSize[1] === height && this.masks.size === this.maskLayers.length) return;
    this.checkTargetBudget(width, height);
    const gl = this.gl;
    for (const m of this.masks.values()) { gl.deleteTexture(m.tex); gl.deleteFramebuffer(m.fbo); }
    this.masks = new Map();
    for (const id of this.maskLayers) {
      const tex = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, tex);
      gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA8, width, height);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      const fbo = gl.createFramebuffer();
      gl.bindFramebuffer(gl.FRAMEBUFFER, fbo);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
      if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) throw new Error("cannot create the clipping mask target");
      this.masks.set(id, { tex, fbo });
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    this.maskSize = [width, height];
  }

  /** Texture unit 1 must never hold the mask being rendered into (a feedback loop). */
  _bindMask(mask) {
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, mask ? mask.tex : this.blankTexture);
  }

  _drawMesh(mi, verts, opacity, mask) {
    const gl = this.gl, g = this.meshGL[mi], m = this.model.meshes[mi];
    if (g.uploaded !== verts) {
      gl.bindBuffer(gl.ARRAY_BUFFER, g.pos);
      gl.bufferSubData(gl.ARRAY_BUFFER, 0, verts);
      g.uploaded = verts;
    }
    // Only state that changes is sent (fewer WebGL calls per mesh).
    const st = this._glState, tex = this.textures[m.texture];
    if (st.tex0 !== tex) {
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, tex);
      st.tex0 = tex;
    }
    if (st.mask !== mask) {
      gl.uniform1i(this.loc.u_clip, mask ? 1 : 0);
      this._bindMask(mask);
      st.mask = mask;
    }
    if (st.opacity !== opacity) {
      gl.uniform1f(this.loc.u_opacity, opacity);
      st.opacity = opacity;
    }
    gl.bindVertexArray(g.vao);
    gl.drawElements(gl.TRIANGLES, g.count, gl.UNSIGNED_INT, 0);
  }

  /**
   * Draw an evaluated frame ({verts, changed, opacity} from Model.evaluateFrame)
   * with a placement transform {scale, offsetX, offsetY, rect: [x, y, w, h]}.
   * `clear`: clear the whole canvas first (else only the rectangle is drawn over).
   */
  draw(frame, place, { clear = true } = {}) {
    const gl = this.gl;
    const width = gl.drawingBufferWidth, height = gl.drawingBufferHeight;
    this._ensureMasks(width, height);
    const verts = frame.verts;
    // A mesh whose parameters did not change keeps its uploaded vertices.
    for (let mi = 0; mi < verts.length; mi++) if (frame.changed[mi]) this.meshGL[mi].uploaded = null;
    gl.useProgram(this.program);
    gl.uniform2f(this.loc.u_scale, place.scale, place.scale);
    gl.uniform2f(this.loc.u_offset, place.offsetX, place.offsetY);
    gl.uniform2f(this.loc.u_target, width, height);
    gl.uniform1i(this.loc.u_atlas, 0);
    gl.uniform1i(this.loc.u_mask, 1);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.disable(gl.DEPTH_TEST);
    gl.disable(gl.CULL_FACE);
    gl.viewport(0, 0, width, height);
    gl.clearColor(0, 0, 0, 0);
    this._glState = { tex0: null, mask: undefined, opacity: NaN };
    const [rx, ry, rw, rh] = place.rect;
    // GL's scissor box counts rows from the bottom.
    const scissor = [Math.floor(rx), Math.floor(height - (ry + rh)), Math.ceil(rw), Math.ceil(rh)];
    gl.enable(gl.SCISSOR_TEST);
    gl.scissor(...scissor);
    for (const [id, mask] of this.masks) {
      gl.bindFramebuffer(gl.FRAMEBUFFER, mask.fbo);
      gl.clear(gl.COLOR_BUFFER_BIT);
      for (const mi of this.meshesOfLayer.get(id) || []) this._drawMesh(mi, verts[mi], 1, null);
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    if (clear) {
      gl.disable(gl.SCISSOR_TEST);
      gl.clear(gl.COLOR_BUFFER_BIT);
      gl.enable(gl.SCISSOR_TEST);
    } else {
      gl.clear(gl.COLOR_BUFFER_BIT); // the rectangle only (scissored)
    }
    for (const mi of this.model.drawOrder) {
      const layer = this.layerById.get(this.model.meshes[mi].layer);
      const mask = layer.clipTo ? this.masks.get(layer.clipTo) : null;
      this._drawMesh(mi, verts[mi], frame.opacity[mi], mask);
    }
    gl.disable(gl.SCISSOR_TEST);
    gl.bindVertexArray(null);
  }

  /** The drawing buffer: {width, height, data} straight-alpha RGBA rows from the top. */
  readPixels() {
    const gl = this.gl;
    const width = gl.drawingBufferWidth, height = gl.drawingBufferHeight;
    const raw = new Uint8Array(width * height * 4);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, raw);
    const out = new Uint8ClampedArray(width * height * 4);
    for (let y = 0; y < height; y++) {
      const src = (height - 1 - y) * width * 4, dst = y * width * 4;
      for (let x = 0; x < width * 4; x += 4) {
        const a = raw[src + x + 3];
        out[dst + x + 3] = a;
        if (a === 0) continue;
        for (let c = 0; c < 3; c++) out[dst + x + c] = Math.round((raw[src + x + c] * 255) / a);
      }
    }
    return { width, height, data: out };
  }

  _freeModel() {
    const gl = this.gl;
    for (const g of this.meshGL) {
      gl.deleteVertexArray(g.vao); gl.deleteBuffer(g.pos); gl.deleteBuffer(g.uv); gl.deleteBuffer(g.ibo);
    }
    for (const t of new Set(this.textures)) gl.deleteTexture(t);
    for (const m of this.masks.values()) { gl.deleteTexture(m.tex); gl.deleteFramebuffer(m.fbo); }
    this.meshGL = []; this.textures = []; this.masks = new Map(); this.maskSize = [0, 0];
    this.model = null;
  }

  destroy() {
    this._freeModel();
    const gl = this.gl;
    if (this.blankTexture) gl.deleteTexture(this.blankTexture);
    if (this.program) gl.deleteProgram(this.program);
    this.blankTexture = null; this.program = null;
  }
}
