// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Lip sync: the RMS level of an <audio>/<video> element or the microphone
// (Web Audio), or a level set by hand, smoothed quick to open and a little
// slower to close.

export class LipSync {
  constructor() {
    this.level = 0;
    this.analyser = null;
    this.buffer = null;
    this.context = null;
    this.stop = null;
    this.manual = null;
  }

  get active() {
    return this.manual !== null || this.analyser !== null;
  }

  attachAudio(element) {
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Ctx) throw new Error("this browser has no Web Audio");
    this.detach();
    const context = new Ctx();
    const source = context.createMediaElementSource(element);
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    analyser.connect(context.destination);
    const resume = () => context.resume();
    element.addEventListener("play", resume);
    Object.assign(this, { context, analyser, buffer: new Float32Array(analyser.fftSize),
                          stop: () => { element.removeEventListener("play", resume); source.disconnect(); analyser.disconnect(); context.close(); } });
    return analyser;
  }

  async attachMicrophone() {
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Ctx || typeof navigator === "undefined" || !navigator.mediaDevices) throw new Error("this browser cannot read the microphone");
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    this.detach();
    const context = new Ctx();
    const source = context.createMediaStreamSource(stream);
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser); // not to the speakers: no feedback
    Object.assign(this, { context, analyser, buffer: new Float32Array(analyser.fftSize),
                          stop: () => { source.disconnect(); stream.getTracks().forEach((t) => t.stop()); context.close(); } });
    return analyser;
  }

  detach() {
    if (this.stop) this.stop();
    Object.assign(this, { context: null, analyser: null, buffer: null, stop: null, level: 0 });
  }

  setManual(level) {
    this.manual = level === null ? null : Math.min(Math.max(Number(level) || 0, 0), 1);
  }

  /** Advance by dt seconds; returns the smoothed level 0..1. */
  update(dt) {
    let target = this.manual;
    if (target === null) {
      this.analyser.getFloatTimeDomainData(this.buffer);
      let sum = 0;
      for (let k = 0; k < this.buffer.length; k++) sum += this.buffer[k] * this.buffer[k];
      target = Math.min(1, Math.sqrt(sum / this.buffer.length) * 8);
    }
    // Quick to open, a little slower to close (time constants 40 / 90 ms).
    const tau = target > this.level ? 0.04 : 0.09;
    this.level += (target - this.level) * (1 - Math.exp(-dt / tau));
    return this.level;
  }
}
