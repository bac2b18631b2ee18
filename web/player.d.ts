// SPDX-License-Identifier: GPL-3.0-or-later OR MIT
// Types of the Image to Rig web player (player.js).

export declare const FORMAT_NAME: string;
export declare const FORMAT_VERSION: number;
export declare const LIMITS: Readonly<Record<string, number>>;
export declare const BLINK: Readonly<{ close_s: number; hold_s: number; open_s: number; gap_s: [number, number]; first_s: [number, number]; double_chance: number; double_pause_s: number }>;
export declare const BREATH: Readonly<{ period_s: number }>;
export declare const BUDGETS: Readonly<Record<string, number | string>>;
export declare const TRACKING: Readonly<Record<string, unknown>>;
export declare const CONSTANTS: Readonly<Record<string, unknown>>;
export declare const PHYSICS_STEP_HZ: number;
export declare const PHYSICS_MAX_FRAME_DT: number;
export declare const ZIP_LIMITS: Readonly<{ MAX_ARCHIVE_BYTES: number; MAX_ENTRIES: number; MAX_TOTAL_BYTES: number }>;
export declare const PRIORITY: Readonly<{ idle: 1; normal: 2; forced: 3 }>;

export declare class ModelError extends Error {}
export declare class ZipError extends ModelError {}

export interface ParameterInfo { id: string; name: string; group: string; min: number; default: number; max: number; confidence: number }
export interface ModelMotion { id: string; duration: number; loop: boolean; fps: number; curves: unknown[] }

export declare class Model {
  canvas: { width: number; height: number };
  textures: string[];
  parameters: ParameterInfo[];
  meshes: Array<{ id: string; layer: string; count: number; index: number }>;
  motions: ModelMotion[];
  physics: unknown[];
  source: string;
  parameterIndex: Map<string, number>;
  defaultValues(): Float64Array;
  resolveValues(values: Record<string, number> | Map<string, number>): Float64Array;
  evaluate(values: Float64Array | Record<string, number>): Float64Array[];
  deformedVertices(values: Float64Array | Record<string, number>): Record<string, Float32Array>;
  meshOpacity(values: Float64Array | Record<string, number>, out?: Float64Array): Float64Array;
  motion(id: string): ModelMotion | null;
}

export type Source = string | URL | Map<string, Blob> | File[] | FileList;
export declare function parseModel(data: unknown): Model;
export declare function loadModel(source: Source, options?: { fetchImpl?: (url: string) => Promise<Response> }): Promise<Model>;
export declare function pngHeader(blob: Blob, name: string): Promise<{ width: number; height: number; bitDepth: number; colourType: number }>;
export declare function exportPath(rel: string): string;

export interface Companions {
  model3: unknown | null;
  motions: Array<{ name: string; group: string; motion: Motion3; fadeIn?: number; fadeOut?: number }>;
  expressions: Array<{ name: string; json: unknown }>;
  hitAreas: Array<{ Id: string; Name: string }>;
}
export declare function loadCompanions(source: Source, model: Model): Promise<Companions>;

export interface Motion3 { name: string; duration: number; loop: boolean; restricted: boolean; fadeIn: number; fadeOut: number; curves: unknown[] }
export declare function parseMotion3(data: unknown, name?: string): Motion3;
export declare function evaluateMotion3Curve(curve: unknown, t: number, restricted?: boolean): number;
export declare function bezierValue(seg: unknown, t: number, restricted: boolean): number;
export declare function easeSine(x: number): number;
export declare function fadeWeight(fadeIn: number, fadeOut: number, elapsed: number, remaining: number): number;

export declare class PhysicsSimulator {
  constructor(model: Model);
  reset(): void;
  step(values: Float64Array, dt: number): Float64Array;
}

export declare class AutoBlink {
  constructor(random?: () => number);
  reset(): void;
  openness(now: number): number;
}

export interface Placement {
  rect?: [number, number, number, number];
  x?: number; y?: number; width?: number; height?: number;
  fit?: "contain" | "cover" | "none";
  scale?: number;
  anchor?: [number, number];
  offset?: [number, number];
}
export declare function placementTransform(model: { width: number; height: number }, target: { width: number; height: number }, placement?: Placement): { scale: number; offsetX: number; offsetY: number; rect: [number, number, number, number] };

export type PriorityName = "idle" | "normal" | "forced";
export interface MotionTicket { name: string; priority: PriorityName; state: "playing" | "queued" | "idle" }

/** An input plug-in (face tracker, remote tracker ...). */
export interface PlayerInput {
  update(dt: number, player: Player): Record<string, number> | Map<string, number> | null;
  weight?: number;
  destroy?(): void;
  calibrate?(): void;
}

export interface PlayerOptions {
  antialias?: boolean;
  preserveDrawingBuffer?: boolean;
  placement?: Placement | null;
  clear?: boolean;
  ticker?: boolean;
  random?: () => number;
}

export interface PlayerEvents {
  load: { model: Model };
  error: Error;
  motionstart: { name: string; kind: "model" | "motion3"; priority: PriorityName };
  motionend: { name: string; kind: "model" | "motion3"; priority: PriorityName; reason: "finished" | "replaced" | "stopped" };
  expression: { name: string | null };
  contextlost: Error;
}

export declare class Player extends EventTarget {
  constructor(canvas: HTMLCanvasElement, model?: Model | null, options?: PlayerOptions);
  readonly model: Model | null;
  readonly parameters: ParameterInfo[];
  readonly motionState: { current: { name: string; kind: string; priority: PriorityName } | null; queue: string[]; idle: string | null };
  readonly ticking: boolean;
  ready?: Promise<Model>;
  values: Float64Array;
  heldParameters: Set<string>;
  expressions: Map<string, unknown>;
  hitAreas: Array<{ name: string; id: string; mesh: number }>;
  inputs: PlayerInput[];
  autoBlink: boolean;
  autoBreath: boolean;
  physicsEnabled: boolean;
  random: () => number;
  playing: boolean;
  on<K extends keyof PlayerEvents>(type: K, cb: (detail: PlayerEvents[K], event: CustomEvent) => void): () => void;
  load(source: Source, options?: { autoplay?: boolean }): Promise<Model>;
  setModel(model: Model, companions?: Partial<Companions> | null): this;
  addCompanions(companions: Partial<Companions>): void;
  getParameter(id: string): number;
  setParameter(id: string, value: number, options?: { hold?: boolean }): void;
  resetParameters(): void;
  startMotion(what: string | object, options?: { priority?: PriorityName; queue?: boolean; loop?: boolean; fadeIn?: number; fadeOut?: number }): MotionTicket | null;
  playMotion(id: string, options?: { loop?: boolean; priority?: PriorityName }): MotionTicket | null;
  playMotion3(json: object, options?: { loop?: boolean; fadeIn?: number; fadeOut?: number; name?: string; priority?: PriorityName }): object | null;
  stopMotion(): void;
  stopMotion3(handle?: object): void;
  clearMotionQueue(options?: { idle?: boolean }): void;
  pause(): void;
  resume(): void;
  playExpression(json: object | null, options?: { name?: string | null }): void;
  setExpression(name: string | null): void;
  addInput(input: PlayerInput): () => void;
  removeInput(input: PlayerInput): void;
  attachAudio(element: HTMLMediaElement): AnalyserNode;
  attachMicrophone(): Promise<AnalyserNode>;
  detachAudio(): void;
  setLipSyncLevel(level: number | null): void;
  followPointer(element: Element | null, enabled?: boolean): () => void;
  setPointerTarget(x: number, y: number): void;
  setPlacement(placement: Placement | null): void;
  toModel(x: number, y: number): [number, number];
  hitTest(x: number, y: number): string[];
  hitTestClient(clientX: number, clientY: number): string[];
  update(dt: number): void;
  draw(): void;
  readPixels(): { width: number; height: number; data: Uint8ClampedArray };
  start(): void;
  stop(): void;
  destroy(): void;
}

export declare function createPlayer(canvas: HTMLCanvasElement, model: Model | null, options?: PlayerOptions): Player;
export declare function openPlayer(canvas: HTMLCanvasElement, source: Source, options?: PlayerOptions & { autoplay?: boolean }): Player;
export declare function readZip(blob: Blob, options?: { name?: string; filter?: (path: string) => boolean; limits?: Partial<typeof ZIP_LIMITS> }): Promise<Map<string, Blob>>;
export declare function readExportZip(blob: Blob, name?: string): Promise<Map<string, Blob>>;
