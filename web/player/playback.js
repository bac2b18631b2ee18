// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// The Player: plays a model on a canvas.  Per update(dt): the playing motion
// (model.json or Cubism motion3, by priority with a queue), the expression,
// input plug-ins (face tracking, remote trackers), automatic blink and breath,
// lip sync, pointer follow, then physics.  draw() evaluates and draws.
//
// Events (EventTarget; `on(type, cb)` is a shorthand, cb(detail)):
//   "load" {model}                      a model was set (setModel / load)
//   "error" Error                       loading or drawing failed
//   "motionstart" {name, kind, priority}
//   "motionend" {name, kind, priority, reason: "finished" | "replaced" | "stopped"}
//   "expression" {name}                 name null: cleared
//   "contextlost"
import { ModelError } from "./errors.js";
import { Model } from "./model.js";
import { PhysicsSimulator } from "./physics.js";
import { parseMotion3, evaluateMotion3Curve, fadeWeight } from "./motion3.js";
import { parseExpression, applyExpression } from "./expression.js";
import { AutoBlink } from "./blink.js";
import { breathLevel } from "./breath.js";
import { LipSync } from "./lipsync.js";
import { PointerFollow } from "./pointer.js";
import { Renderer } from "./render.js";
import { placementTransform, toModelPoint } from "./placement.js";
import { resolveHitAreas, hitAreasAt } from "./hit-test.js";
import { Ticker } from "./ticker.js";
import { loadModel } from "./load.js";
import { loadCompanions } from "./companions.js";

/** Motion priorities: a request starts when its priority is at least the playing one's. */
export const PRIORITY = Object.freeze({ idle: 1, normal: 2, forced: 3 });

function priorityOf(p) {
  if (p === undefined || p === null) return PRIORITY.normal;
  if (typeof p === "number" && p >= 1 && p <= 3) return Math.round(p);
  const v = PRIORITY[p];
  if (!v) throw new ModelError(`unknown motion priority "${p}" (use "idle", "normal" or "forced")`);
  return v;
}

const PRIORITY_NAME = { 1: "idle", 2: "normal", 3: "forced" };

export class Player extends EventTarget {
  /**
   * `model` may be null: set one later with setModel() or load().
   * Options: antialias, preserveDrawingBuffer; placement (see placement.js; when
   * given, the canvas keeps its size and the model is drawn into the rectangle);
   * clear (default true: clear the whole canvas each draw); ticker (start the
   * built-in ticker); random (the random source of automatic blinking).
   */
  constructor(canvas, model = null, options = {}) {
    super();
    const { antialias = false, preserveDrawingBuffer = false, placement = null, clear = true, ticker = false, random } = options;
    if (model !== null && !(model instanceof Model)) throw new ModelError("createPlayer needs a model from loadModel()");
    this.canvas = canvas;
    this.model = null;
    this.placement = placement;
    this.clear = clear;
    this._destroyed = false;
    this._blinker = new AutoBlink(() => this.random());
    this.random = random || Math.random; // replaceable for reproducible blinking
    this._lipSync = new LipSync();
    this._pointer = new PointerFollow();
    this.inputs = [];
    this.autoBlink = true;
    this.autoBreath = true;
    this.renderer = new Renderer(canvas, { antialias, preserveDrawingBuffer });
    this.gl = this.renderer.gl;
    this._onLost = (e) => { e.preventDefault(); this._emit("contextlost", new Error("the graphics context was lost")); };
    canvas.addEventListener("webglcontextlost", this._onLost);
    this._ticker = new Ticker((dt) => { this.update(dt); this.draw(); });
    if (model) this.setModel(model);
    if (ticker) this.start();
  }

  on(type, cb) {
    const handler = (e) => cb(e.detail, e);
    this.addEventListener(type, handler);
    return () => this.removeEventListener(type, handler);
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** Play `model` (from loadModel) from now on; emits "load". */
  setModel(model, companions = null) {
    if (!(model instanceof Model)) throw new ModelError("setModel needs a model from loadModel()");
    if (!this.placement) {
      this.renderer.model = null;
      this.canvas.width = model.canvas.width;
      this.canvas.height = model.canvas.height;
    }
    this.renderer.setModel(model);
    this.model = model;
    this.values = model.defaultValues();
    this.heldParameters = new Set(); // ids the user set by hand: motions leave them alone
    this.motion = null;
    this.motionTime = 0;
    this.motionLoop = true;
    this.playing = false;
    this.time = 0; // seconds of update() so far
    this.motion3 = []; // playing Cubism motions: {motion, start, end, loop, fadeIn, fadeOut, targets}
    this.expression = null; // {params, start, fadeIn, name}
    this.physics = new PhysicsSimulator(model);
    this.physicsEnabled = model.physics.length > 0;
    this._blinker.reset();
    this._restore = new Map(); // param index -> [value before effects, value written]
    this._current = null; // the motion playing now: {name, kind, priority, ...}
    this._idle = null; // the idle-priority request that resumes when nothing else plays
    this._queue = [];
    this._evalState = null;
    this._hitState = null;
    this.expressions = new Map(); // name -> exp3 json
    this.motionLibrary = new Map(); // name -> {kind: "motion3", motion, fadeIn, fadeOut}
    this.hitAreas = [];
    const idx = (id) => model.parameterIndex.get(id);
    const group = (name, ids) => (model.groups && model.groups[name] && model.groups[name].length ? model.groups[name] : ids)
      .map(idx).filter((i) => i !== undefined);
    this._eyeBlink = group("EyeBlink", ["ParamEyeLOpen", "ParamEyeROpen"]);
    this._lipSyncParams = group("LipSync", ["ParamMouthOpenY"]);
    this._breath = idx("ParamBreath");
    if (companions) this.addCompanions(companions);
    this._emit("load", { model });
    return this;
  }

  /** Register what loadCompanions() found: named expressions, motion3 motions, hit areas. */
  addCompanions({ motions = [], expressions = [], hitAreas = [] } = {}) {
    for (const e of expressions) this.expressions.set(e.name, e.json);
    for (const m of motions) {
      if (!this.motionLibrary.has(m.name)) this.motionLibrary.set(m.name, { kind: "motion3", motion: m.motion, fadeIn: m.fadeIn, fadeOut: m.fadeOut, group: m.group });
    }
    this.hitAreas = resolveHitAreas(hitAreas, this.model);
  }

  /**
   * Load an export (folder URL, model.json / model3.json URL, or dropped files)
   * with its Cubism companions and play it.  Emits "load" or "error"; the
   * promise resolves to the model or rejects with the ModelError.
   */
  async load(source, { autoplay = true } = {}) {
    try {
      const model = await loadModel(source);
      let companions = null;
      try {
        companions = await loadCompanions(source, model);
      } catch (err) {
        companions = null; // companions are optional
      }
      if (this._destroyed) return model;
      this.setModel(model, companions);
      if (autoplay) {
        const idle = model.motion("Idle") || model.motions[0];
        if (idle) this.startMotion(idle.id, { priority: "idle", loop: true });
      }
      return model;
    } catch (err) {
      this._emit("error", err);
      throw err;
    }
  }

  _need() {
    if (!this.model) throw new ModelError("the player has no model yet (wait for its \"load\" event)");
  }

  /** Parameter descriptions (id, name, group, min, default, max, confidence). */
  get parameters() {
    return this.model ? this.model.parameters.map((p) => ({ ...p })) : [];
  }

  getParameter(id) {
    this._need();
    const i = this.model.parameterIndex.get(id);
    if (i === undefined) throw new ModelError(`unknown parameter "${id}"`);
    return this.values[i];
  }

  /** Set a parameter (clamped); `hold` keeps a playing motion from overriding it. */
  setParameter(id, value, { hold = false } = {}) {
    this._need();
    const i = this.model.parameterIndex.get(id);
    if (i === undefined) throw new ModelError(`unknown parameter "${id}"`);
    const p = this.model.parameters[i];
    const v = Number(value);
    if (Number.isNaN(v)) return;
    this.values[i] = Math.min(Math.max(v, p.min), p.max);
    if (hold) this.heldParameters.add(id);
  }

  /** All parameters back to their defaults; releases held ones. */
  resetParameters() {
    this._need();
    this.values = this.model.defaultValues();
    this.heldParameters.clear();
    if (this.motion) this._applyMotion();
  }

  // ------------------------------------------------------------ motions

  /**
   * Play a motion by name: a model.json motion id, or a motion3 motion that
   * model3.json lists (its group name), or a motion3.json object.
   * Options: priority "idle" | "normal" (default) | "forced"; queue (default
   * false): wait for the playing motion instead of being refused when it has a
   * higher priority (or of interrupting it when it has the same); loop; fadeIn,
   * fadeOut (motion3).  Rules: forced always starts at once; otherwise a
   * request starts at once when its priority is at least the playing one's
   * (with queue: strictly higher), else it is queued (queue) or refused.  An
   * idle request becomes the motion that resumes whenever nothing else plays.
   * Returns a ticket {name, priority, state: "playing" | "queued" | "idle"},
   * or null when refused.
   */
  startMotion(what, { priority, queue = false, loop, fadeIn, fadeOut } = {}) {
    this._need();
    const req = this._request(what, { loop, fadeIn, fadeOut });
    req.priority = priorityOf(priority);
    const ticket = { name: req.name, priority: PRIORITY_NAME[req.priority], state: "playing" };
    req.ticket = ticket;
    const cur = this._current;
    if (req.priority === PRIORITY.idle) {
      this._idle = req;
      if (cur && cur.priority > PRIORITY.idle) { ticket.state = "idle"; return ticket; }
      this._begin(req, "replaced");
      return ticket;
    }
    const now = !cur || req.priority === PRIORITY.forced || req.priority > cur.priority || (!queue && req.priority === cur.priority);
    if (now) {
      this._begin(req, "replaced");
      return ticket;
    }
    if (!queue) return null;
    ticket.state = "queued";
    this._queue.push(req);
    return ticket;
  }

  _request(what, { loop, fadeIn, fadeOut }) {
    if (typeof what === "string") {
      const m = this.model.motion(what);
      if (m) return { kind: "model", name: m.id, motion: m, loop: loop === undefined ? m.loop : Boolean(loop) };
      const lib = this.motionLibrary.get(what);
      if (lib) {
        return { kind: "motion3", name: what, motion: lib.motion, loop: loop === undefined ? lib.motion.loop : Boolean(loop),
                 fadeIn: fadeIn ?? lib.fadeIn, fadeOut: fadeOut ?? lib.fadeOut };
      }
      throw new ModelError(`the model has no motion "${what}"`);
    }
    const motion = what && Array.isArray(what.curves) && "restricted" in what ? what : parseMotion3(what);
    return { kind: "motion3", name: motion.name, motion, loop: loop === undefined ? motion.loop : Boolean(loop), fadeIn, fadeOut };
  }

  /** Start a request now: the playing motion ends ("replaced"). */
  _begin(req, reason) {
    this._end(reason);
    if (req.kind === "model") {
      this.motion = req.motion;
      this.motionLoop = req.loop;
      this.motionTime = 0;
      this.playing = true;
      this._applyMotion();
    } else {
      req.entry = this._startMotion3(req.motion, { loop: req.loop, fadeIn: req.fadeIn, fadeOut: req.fadeOut });
    }
    if (req.ticket) req.ticket.state = "playing";
    this._current = req;
    this._emit("motionstart", { name: req.name, kind: req.kind, priority: PRIORITY_NAME[req.priority] });
  }

  /** End the playing motion (model motions stop, motion3 ones fade out). */
  _end(reason) {
    const cur = this._current;
    if (!cur) return;
    this._current = null;
    if (cur.kind === "model") {
      if (this.motion === cur.motion) { this.motion = null; this.playing = false; }
    } else if (cur.entry) {
      this._fadeOut(cur.entry);
    }
    this._emit("motionend", { name: cur.name, kind: cur.kind, priority: PRIORITY_NAME[cur.priority], reason });
  }

  /** The playing motion finished: the next queued one (highest priority first), else idle. */
  _advance() {
    this._end("finished");
    if (this._queue.length) {
      let best = 0;
      for (let k = 1; k < this._queue.length; k++) if (this._queue[k].priority > this._queue[best].priority) best = k;
      const [next] = this._queue.splice(best, 1);
      this._begin(next, "replaced");
    } else if (this._idle) {
      this._begin(this._idle, "replaced");
    }
  }

  /** The motion playing now {name, kind, priority} and the queue's names. */
  get motionState() {
    const c = this._current;
    return { current: c ? { name: c.name, kind: c.kind, priority: PRIORITY_NAME[c.priority] } : null,
             queue: this._queue.map((q) => q.name), idle: this._idle ? this._idle.name : null };
  }

  /** Play a model.json motion at once (priority "forced" unless given, as before priorities). */
  playMotion(id, { loop, priority = "forced" } = {}) {
    this._need();
    const motion = this.model.motion(id);
    if (!motion) throw new ModelError(`the model has no motion "${id}"`);
    return this.startMotion(id, { loop, priority });
  }

  pause() { this.playing = false; }

  resume() { if (this.motion) this.playing = true; }

  /** Stop the model.json motion (it does not resume as the idle motion). */
  stopMotion() {
    if (this._current && this._current.kind === "model") this._end("stopped");
    if (this._idle && this._idle.kind === "model" && this._idle.motion === this.motion) this._idle = null;
    this.motion = null;
    this.playing = false;
  }

  /** Empty the motion queue and forget the idle motion. */
  clearMotionQueue({ idle = true } = {}) {
    this._queue = [];
    if (idle) this._idle = null;
  }

  _applyMotion() {
    const held = this.heldParameters;
    for (const [i, v] of this.model.sampleMotion(this.motion, this.motionTime)) {
      const p = this.model.parameters[i];
      if (held.has(p.id)) continue;
      this.values[i] = Math.min(Math.max(v, p.min), p.max);
    }
  }

  /**
   * Play a Cubism motion3.json (parsed JSON object or the result of
   * parseMotion3).  Options: loop (default Meta.Loop), fadeIn / fadeOut
   * seconds (default the file's, else 1 s), priority (as startMotion, default
   * "forced").  Motions already playing fade out.  Returns the motion's handle
   * for stopMotion3.
   */
  playMotion3(json, { loop, fadeIn, fadeOut, name, priority = "forced" } = {}) {
    this._need();
    const motion = json && Array.isArray(json.curves) && "restricted" in json ? json : parseMotion3(json, name);
    const ticket = this.startMotion(motion, { loop, fadeIn, fadeOut, priority });
    return ticket && this._current && this._current.motion === motion ? this._current.entry : null;
  }

  _startMotion3(motion, { loop, fadeIn, fadeOut } = {}) {
    for (const m of this.motion3) this._fadeOut(m);
    const targets = [];
    for (const c of motion.curves) {
      if (c.target !== "Parameter") continue;
      const i = this.model.parameterIndex.get(c.id);
      if (i !== undefined) targets.push([i, c]);
    }
    const entry = {
      motion, targets, start: this.time,
      loop: loop === undefined ? motion.loop : Boolean(loop),
      fadeIn: fadeIn === undefined || fadeIn === null ? motion.fadeIn : Math.max(0, Number(fadeIn) || 0),
      fadeOut: fadeOut === undefined || fadeOut === null ? motion.fadeOut : Math.max(0, Number(fadeOut) || 0),
    };
    entry.end = entry.loop ? Infinity : this.time + motion.duration;
    this.motion3.push(entry);
    return entry;
  }

  _fadeOut(m) {
    m.end = Math.min(m.end, this.time + m.fadeOut);
  }

  /** Fade out one motion3 (or all when none is given). */
  stopMotion3(entry) {
    const cur = this._current;
    if (cur && cur.kind === "motion3" && (!entry || cur.entry === entry)) this._end("stopped");
    for (const m of this.motion3) {
      if (entry && m !== entry) continue;
      this._fadeOut(m);
    }
  }

  // ------------------------------------------------------------ expressions

  /** Apply a Cubism exp3.json expression (null clears it), faded in.  Emits "expression". */
  playExpression(json, { name = null } = {}) {
    this._need();
    if (json === null) {
      this.expression = null;
      this._emit("expression", { name: null });
      return;
    }
    const e = parseExpression(json, this.model);
    this.expression = { ...e, start: this.time, name };
    this._emit("expression", { name });
  }

  /** An expression by its model3.json name (null clears). */
  setExpression(name) {
    if (name === null) return this.playExpression(null);
    const json = this.expressions && this.expressions.get(name);
    if (!json) throw new ModelError(`the model has no expression "${name}" (it has: ${[...(this.expressions?.keys() || [])].join(", ") || "none"})`);
    return this.playExpression(json, { name });
  }

  // ------------------------------------------------------------ inputs

  /**
   * Add an input plug-in (a face tracker, a remote tracker ...): an object with
   * `update(dt, player)` that returns parameter values ({id: value} or a Map,
   * or null for "nothing this frame"), and optionally `weight` (0..1, blends
   * over the animation) and `destroy()`.  Parameters an input sets are left
   * alone by automatic blink, breath and pointer follow.  Returns a remove function.
   */
  addInput(input) {
    if (!input || typeof input.update !== "function") throw new TypeError("an input needs an update(dt, player) method");
    this.inputs.push(input);
    return () => this.removeInput(input);
  }

  removeInput(input) {
    this.inputs = this.inputs.filter((i) => i !== input);
  }

  _readInputs(dt) {
    const out = new Map(); // param index -> [value, weight]
    for (const input of this.inputs) {
      let values;
      try {
        values = input.update(dt, this);
      } catch (err) {
        this._emit("error", err);
        continue;
      }
      if (!values) continue;
      const w = input.weight === undefined ? 1 : Math.min(Math.max(Number(input.weight) || 0, 0), 1);
      const entries = values instanceof Map ? values.entries() : Object.entries(values);
      for (const [id, v] of entries) {
        const i = this.model.parameterIndex.get(id);
        if (i === undefined || typeof v !== "number" || !Number.isFinite(v)) continue;
        out.set(i, [v, w]);
      }
    }
    return out;
  }

  // ------------------------------------------------------------ automatic effects

  /** Lip sync from an <audio>/<video> element (Web Audio RMS level). */
  attachAudio(element) { return this._lipSync.attachAudio(element); }

  /** Lip sync from the microphone (asks for permission). */
  attachMicrophone() { return this._lipSync.attachMicrophone(); }

  detachAudio() { this._lipSync.detach(); }

  /** Drive lip sync by hand with a level 0..1 (null: back to the audio input). */
  setLipSyncLevel(level) { this._lipSync.setManual(level); }

  /** Head, eyes and body follow the pointer over `element` (returns a stop function). */
  followPointer(element, enabled = true) {
    this._pointer.attach(element, enabled, (x, y) => this.setPointerTarget(x, y));
    if (!enabled || !element) return () => {};
    return () => this.followPointer(null, false);
  }

  /** Where the pointer is: x, y in -1..1 (right, down) over the model. */
  setPointerTarget(x, y) { this._pointer.setTarget(x, y); }

  _set(i, v) {
    if (i === undefined) return;
    const p = this.model.parameters[i];
    if (!this._restore.has(i)) this._restore.set(i, [this.values[i], 0]);
    const clamped = Math.min(Math.max(v, p.min), p.max);
    this.values[i] = clamped;
    this._restore.get(i)[1] = clamped;
  }

  _driven(i) {
    if (this.heldParameters.has(this.model.parameters[i].id)) return true;
    if (this._inputValues && this._inputValues.has(i)) return true;
    if (this.motion && this.motion.curves.some((c) => c.param === i)) return true;
    return this.motion3.some((m) => m.targets.some(([j]) => j === i));
  }

  /**
   * Advance by dt seconds: motion, Cubism motions, expression, inputs,
   * automatic blink and breath, lip sync, pointer follow, then physics.
   */
  update(dt) {
    if (this._destroyed || !this.model) return;
    dt = Number(dt);
    if (!Number.isFinite(dt) || dt < 0) dt = 0;
    this.time += dt;
    // Effects of the last frame come off again (unless the user changed the value since).
    for (const [i, [before, written]] of this._restore) if (this.values[i] === written) this.values[i] = before;
    this._restore.clear();
    let finished = false;
    if (this.motion && this.playing) {
      const d = this.motion.duration;
      this.motionTime += dt;
      if (this.motionLoop) this.motionTime %= d;
      else if (this.motionTime >= d) { this.motionTime = d; this.playing = false; finished = true; }
      this._applyMotion();
    }
    const cur = this._current;
    if (cur && cur.kind === "model" && finished && this.motion === cur.motion) this._advance();
    else if (cur && cur.kind === "motion3" && cur.entry && this.time >= cur.entry.end) this._advance();
    this._applyMotion3();
    if (this.expression) applyExpression(this.expression, this.values, this.time, (i, v) => this._set(i, v));
    this._inputValues = this.inputs.length ? this._readInputs(dt) : null;
    this._applyEffects(dt);
    if (this._inputValues) {
      const lip = new Set(this._lipSync.active ? this._lipSyncParams : []);
      for (const [i, [v, w]] of this._inputValues) {
        if (this.heldParameters.has(this.model.parameters[i].id)) continue;
        let target = this.values[i] + (v - this.values[i]) * w;
        if (lip.has(i)) target = Math.max(target, this.values[i]); // talking opens the mouth further
        this._set(i, target);
      }
    }
    if (this.physicsEnabled && this.physics.chains.length) {
      const outputs = this.physics.chains.flatMap((c) => c.outputIndex);
      const held = outputs.filter((i) => this.heldParameters.has(this.model.parameters[i].id)).map((i) => [i, this.values[i]]);
      const before = outputs.map((i) => this.values[i]);
      this.physics.step(this.values, dt);
      outputs.forEach((i, k) => { const v = this.values[i]; this.values[i] = before[k]; this._set(i, v); });
      for (const [i, v] of held) this.values[i] = v;
    }
  }

  _applyMotion3() {
    const now = this.time, held = this.heldParameters;
    this.motion3 = this.motion3.filter((m) => now < m.end);
    for (const m of this.motion3) {
      const elapsed = now - m.start;
      let t = elapsed;
      if (m.loop && m.motion.duration > 0) t %= m.motion.duration;
      else t = Math.min(t, m.motion.duration);
      const remaining = m.end - now;
      const weight = fadeWeight(m.fadeIn, m.fadeOut, elapsed, remaining);
      for (const [i, c] of m.targets) {
        if (held.has(this.model.parameters[i].id)) continue;
        const w = c.fadeIn === null && c.fadeOut === null ? weight
          : fadeWeight(c.fadeIn ?? m.fadeIn, c.fadeOut ?? m.fadeOut, elapsed, remaining);
        const v = evaluateMotion3Curve(c, t, m.motion.restricted);
        this._set(i, this.values[i] + (v - this.values[i]) * w);
      }
    }
  }

  _applyEffects(dt) {
    const model = this.model, now = this.time;
    if (this.autoBlink && this._eyeBlink.length && !this._eyeBlink.some((i) => this._driven(i))) {
      const open = this._blinker.openness(now);
      for (const i of this._eyeBlink) {
        const p = model.parameters[i];
        this._set(i, p.min + (p.default - p.min) * open);
      }
    }
    if (this.autoBreath && this._breath !== undefined && !this._driven(this._breath)) {
      const p = model.parameters[this._breath];
      this._set(this._breath, p.min + (p.max - p.min) * breathLevel(now));
    }
    if (this._lipSync.active) {
      const level = this._lipSync.update(dt);
      for (const i of this._lipSyncParams) {
        if (this.heldParameters.has(model.parameters[i].id)) continue;
        const p = model.parameters[i];
        this._set(i, p.min + (p.max - p.min) * level);
      }
    }
    if (this._pointer.enabled) {
      for (const [id, f] of this._pointer.update(dt)) {
        const i = model.parameterIndex.get(id);
        if (i === undefined || this.heldParameters.has(id) || (this._inputValues && this._inputValues.has(i))) continue;
        const p = model.parameters[i];
        this._set(i, p.default + f * (f > 0 ? p.max - p.default : p.default - p.min));
      }
    }
  }

  // ------------------------------------------------------------ placement, hit testing

  /** Draw into a rectangle of the canvas from now on (see placement.js); null: the whole canvas. */
  setPlacement(placement) {
    this.placement = placement;
  }

  _place() {
    const gl = this.gl;
    const target = { width: gl.drawingBufferWidth, height: gl.drawingBufferHeight };
    if (!this.placement) {
      const { width, height } = this.model.canvas;
      if (target.width === width && target.height === height) return { scale: 1, offsetX: 0, offsetY: 0, rect: [0, 0, width, height] };
      return placementTransform(this.model.canvas, target, { fit: "contain" });
    }
    return placementTransform(this.model.canvas, target, this.placement);
  }

  /** Canvas pixel (x, y), in the canvas's own pixels -> model canvas pixel. */
  toModel(x, y) {
    this._need();
    return toModelPoint(this._place(), x, y);
  }

  /**
   * Names of the hit areas (model3.json HitAreas, e.g. "Head", "Body") under
   * the canvas pixel (x, y) at the current pose, the frontmost first.
   */
  hitTest(x, y) {
    if (!this.model || !this.hitAreas.length) return [];
    const [mx, my] = this.toModel(x, y);
    if (!this._hitState) this._hitState = this.model.newFrameState();
    const frame = this.model.evaluateFrame(this.values, this._hitState);
    return hitAreasAt(this.model, this.hitAreas, frame.verts, mx, my);
  }

  /** hitTest for a pointer event's clientX / clientY. */
  hitTestClient(clientX, clientY) {
    const r = this.canvas.getBoundingClientRect();
    return this.hitTest(((clientX - r.left) / r.width) * this.canvas.width, ((clientY - r.top) / r.height) * this.canvas.height);
  }

  // ------------------------------------------------------------ drawing

  /** Draw the current parameter values.  Errors are reported as "error" events. */
  draw() {
    if (this._destroyed || !this.model) return;
    if (this.gl.isContextLost()) return;
    try {
      if (!this._evalState) this._evalState = this.model.newFrameState();
      const frame = this.model.evaluateFrame(this.values, this._evalState);
      this.renderer.draw(frame, this._place(), { clear: this.clear });
    } catch (err) {
      this._emit("error", err);
    }
  }

  /**
   * Draw, then read the canvas back: {width, height, data} with straight-alpha
   * RGBA rows from the top (as core/runtime/render.py returns).
   */
  readPixels() {
    this.draw();
    return this.renderer.readPixels();
  }

  /** The built-in ticker: update(dt) + draw() every animation frame. */
  start() { this._ticker.start(); }

  stop() { this._ticker.stop(); }

  get ticking() { return this._ticker.running; }

  destroy() {
    if (this._destroyed) return;
    this._destroyed = true;
    this.stop();
    this.detachAudio();
    this.followPointer(null, false);
    for (const input of this.inputs) if (typeof input.destroy === "function") { try { input.destroy(); } catch (err) { /* ignore */ } }
    this.inputs = [];
    this.canvas.removeEventListener("webglcontextlost", this._onLost);
    this.renderer.destroy();
  }
}

export function createPlayer(canvas, model, options) {
  return new Player(canvas, model, options);
}

/**
 * The embedding shortcut: a player on `canvas` that loads `source` (an export
 * folder URL) with its companions, plays its Idle motion and, by default,
 * runs its own ticker.  Listen for "load" / "error"; `player.ready` is the
 * loading promise.  Options as Player, plus autoplay (default true).
 */
export function openPlayer(canvas, source, options = {}) {
  const { autoplay = true, ticker = true, ...rest } = options;
  const player = new Player(canvas, null, { ...rest, ticker });
  player.ready = player.load(source, { autoplay });
  player.ready.catch(() => {}); // reported as an "error" event; callers may await ready
  return player;
}
