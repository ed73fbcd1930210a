// The server's state: sessions, models with their request queues, checkpoints, sampling sessions
// and the futures table, with the rules that SkyRL's server (skyrl/tinker/api.py at a9564572)
// applies to them: 404 Session not found / Model not found, a reused seq_id with another body 409,
// checkpoint 409 when it exists and 425 while it is written, load only as a model's first request.
import { createHash, randomBytes } from 'node:crypto';
import { VZeroError } from '@vzero/core';
import type { Datum, ForwardBackwardInput, LoraConfig } from '../types.js';
import type { CheckpointKind, CheckpointRef, TinkerBackend } from './backend.js';
import { canonicalData } from './canonical.js';
import { FuturesTable, type FutureEntry, type FutureKind } from './futures-table.js';
import { HttpError } from './http.js';
import type { ModelQueue } from './model-queue.js';
import { checkpointRef } from './paths.js';
import type { TinkerServerOptions } from './server.js';

export interface SessionState {
  lastSeen: number;
  readonly sdkVersion: string;
}

export interface ModelState {
  readonly modelId: string;
  readonly sessionId: string;
  readonly baseModel: string;
  readonly loraConfig: LoraConfig;
  readonly queue: ModelQueue;
  /** Requests accepted for it, create_model excluded (load_weights must come first). */
  requests: number;
  status: 'created' | 'unloading' | 'unloaded';
  readonly seen: Map<number, { readonly fingerprint: string; readonly requestId: string }>;
}

export interface CheckpointState {
  readonly ref: CheckpointRef;
  readonly baseModel: string;
  readonly loraRank: number;
  status: 'pending' | 'ready' | 'failed';
}

export interface SamplingSessionState {
  readonly sessionId: string;
  readonly baseModel: string | undefined;
  readonly modelPath: string | undefined;
}

/** A fresh id like SkyRL's (`model_1a2b3c4d`), never one `taken` already holds. */
export function randomId(prefix: string, taken: ReadonlyMap<string, unknown>): string {
  for (;;) {
    const id = `${prefix}_${randomBytes(4).toString('hex')}`;
    if (!taken.has(id)) return id;
  }
}

/**
 * A digest of a value's JSON with object keys sorted: equal requests give equal digests. Kept per
 * (model, seq_id) for the whole run, so a digest, not the body (which may be megabytes).
 */
function fingerprint(value: unknown): string {
  const json = JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
  return createHash('sha256').update(json).digest('base64');
}

export function categoryOf(error: unknown): 'user' | 'server' {
  return error instanceof VZeroError &&
    (error.code === 'INVALID_INPUT' || error.code === 'SHAPE_MISMATCH' || error.code === 'UNKNOWN_KEY')
    ? 'user'
    : 'server';
}

/** Everything the routes share; one per server. */
export class ServerState {
  readonly options: TinkerServerOptions;
  readonly backend: TinkerBackend;
  readonly futures: FuturesTable;
  readonly sessions = new Map<string, SessionState>();
  readonly models = new Map<string, ModelState>();
  readonly checkpoints = new Map<string, CheckpointState>();
  readonly samplers = new Map<string, SamplingSessionState>();
  /** Jobs running now (close() waits for them). */
  readonly running = new Set<Promise<void>>();
  readonly retrieveWaitMs: number;
  readonly sessionTtlMs: number;
  readonly protobuf: boolean;
  readonly onError: (error: unknown, context: string) => void;
  closing = false;

  constructor(options: TinkerServerOptions) {
    this.options = options;
    this.backend = options.backend;
    this.futures = new FuturesTable({ ttlMs: options.futureTtlMs ?? 60 * 60_000 });
    this.retrieveWaitMs = options.retrieveWaitMs ?? 10_000;
    this.sessionTtlMs = options.sessionTtlMs ?? 10 * 60_000;
    this.protobuf = options.protobuf ?? true;
    this.onError = options.onError ?? (() => undefined);
  }

  liveSession(id: string): SessionState {
    const s = this.sessions.get(id);
    if (!s || Date.now() - s.lastSeen > this.sessionTtlMs) {
      this.sessions.delete(id);
      throw new HttpError(404, 'Session not found');
    }
    return s;
  }

  getModel(id: string): ModelState {
    const m = this.models.get(id);
    if (!m || m.status === 'unloaded') throw new HttpError(404, 'Model not found');
    return m;
  }

  /** Runs `work` as the future's job and settles the entry with its outcome. */
  job(entry: FutureEntry, context: string, work: () => Promise<unknown>): () => Promise<void> {
    return async () => {
      const p = (async () => {
        try {
          this.futures.settle(entry, { status: 'done', value: await work() });
        } catch (error) {
          this.onError(error, context);
          const message = error instanceof Error ? error.message : String(error);
          this.futures.settle(entry, { status: 'failed', error: message, category: categoryOf(error) });
        }
      })();
      this.running.add(p);
      await p.finally(() => this.running.delete(p));
    };
  }

  /**
   * A future for a model request: the same (model, seq_id) with the same body answers the
   * same request id (a retried submission); with another body, 409 (SkyRL create_future).
   */
  modelFuture(
    model: ModelState,
    kind: FutureKind,
    seqId: number | null | undefined,
    body: unknown,
    work: () => Promise<unknown>,
  ): string {
    const seq = seqId ?? undefined;
    const print = fingerprint({ kind, body });
    if (seq !== undefined) {
      const seen = model.seen.get(seq);
      if (seen) {
        if (seen.fingerprint !== print)
          throw new HttpError(409, 'Training request sequence number was reused');
        return seen.requestId;
      }
    }
    const entry = this.futures.create(kind);
    if (seq !== undefined) model.seen.set(seq, { fingerprint: print, requestId: entry.id });
    model.requests++;
    model.queue.enqueue(seq, this.job(entry, `${kind} ${model.modelId}`, work));
    return entry.id;
  }

  async findCheckpoint(ref: CheckpointRef): Promise<CheckpointState | undefined> {
    const known = this.checkpoints.get(ref.path);
    if (known) return known;
    // After a restart the table is empty; a persistent backend still knows its checkpoints.
    const info = await this.backend.checkpointInfo(ref);
    if (!info) return undefined;
    const state: CheckpointState = {
      ref,
      baseModel: info.baseModel,
      loraRank: info.loraRank,
      status: 'ready',
    };
    this.checkpoints.set(ref.path, state);
    return state;
  }

  async readyCheckpoint(ref: CheckpointRef): Promise<CheckpointState> {
    const state = await this.findCheckpoint(ref);
    if (!state || state.status === 'failed')
      throw new HttpError(404, `Checkpoint not found: ${ref.modelId}/${ref.name}`);
    if (state.status === 'pending') throw new HttpError(425, 'Checkpoint is still being created');
    return state;
  }

  newCheckpoint(model: ModelState, kind: CheckpointKind, name: string, overwrite: boolean): CheckpointState {
    const ref = checkpointRef(model.modelId, kind, name);
    const existing = this.checkpoints.get(ref.path);
    if (existing && !overwrite)
      throw new HttpError(409, `Checkpoint '${name}' already exists for model '${model.modelId}'`);
    const state: CheckpointState = {
      ref,
      baseModel: model.baseModel,
      loraRank: model.loraConfig.rank,
      status: 'pending',
    };
    this.checkpoints.set(ref.path, state);
    return state;
  }

  async saving(state: CheckpointState, save: () => Promise<void>): Promise<void> {
    try {
      await save();
      state.status = 'ready';
    } catch (error) {
      state.status = 'failed';
      throw error;
    }
  }

  fwdInput(input: ForwardBackwardInput): {
    data: Datum[];
    config: Record<string, number> | undefined;
  } {
    return { data: canonicalData(input.data), config: input.loss_fn_config ?? undefined };
  }

  /** Drops expired results and sessions. */
  sweep(): void {
    this.futures.sweep();
    const now = Date.now();
    for (const [id, s] of this.sessions) if (now - s.lastSeen > this.sessionTtlMs) this.sessions.delete(id);
  }
}
