// The server's futures: one entry per request id, pending until its job ends, then holding the
// result (or the failure) for `ttlMs`, after which it expires: retrieve_future answers 410 for
// an expired id (the SDK resubmits or gives up) and 404 for one it never issued (SkyRL api.py).
export type FutureKind =
  | 'create_model'
  | 'forward'
  | 'forward_backward'
  | 'optim_step'
  | 'save_weights'
  | 'save_weights_for_sampler'
  | 'load_weights'
  | 'sample'
  | 'unload_model';

export type FutureState =
  | { readonly status: 'pending' }
  | { readonly status: 'done'; readonly value: unknown }
  | { readonly status: 'failed'; readonly error: string; readonly category: 'user' | 'server' };

export interface FutureEntry {
  readonly id: string;
  readonly kind: FutureKind;
  state: FutureState;
  doneAt: number | undefined;
  readonly waiters: Set<() => void>;
}

export class FuturesTable {
  readonly #entries = new Map<string, FutureEntry>();
  readonly #expired = new Set<string>();
  readonly #ttlMs: number;
  readonly #now: () => number;
  #next = 1;

  constructor(options: { ttlMs: number; now?: () => number }) {
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
  }

  create(kind: FutureKind): FutureEntry {
    const entry: FutureEntry = {
      id: String(this.#next++),
      kind,
      state: { status: 'pending' },
      doneAt: undefined,
      waiters: new Set(),
    };
    this.#entries.set(entry.id, entry);
    return entry;
  }

  /** The entry, 'expired' for one whose result was dropped, undefined for an unknown id. */
  get(id: string): FutureEntry | 'expired' | undefined {
    this.sweep();
    if (this.#expired.has(id)) return 'expired';
    return this.#entries.get(id);
  }

  settle(entry: FutureEntry, state: Exclude<FutureState, { status: 'pending' }>): void {
    entry.state = state;
    entry.doneAt = this.#now();
    for (const wake of entry.waiters) wake();
    entry.waiters.clear();
  }

  /** Resolves when the entry settles or after `ms`, whichever comes first. */
  wait(entry: FutureEntry, ms: number): Promise<void> {
    if (entry.state.status !== 'pending' || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        entry.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      entry.waiters.add(wake);
    });
  }

  /** Ends every wait now (shutdown). */
  wakeAll(): void {
    for (const entry of this.#entries.values()) for (const wake of [...entry.waiters]) wake();
  }

  /** Drops settled results older than the TTL; their ids answer 410 from then on. */
  sweep(): void {
    const limit = this.#now() - this.#ttlMs;
    for (const [id, entry] of this.#entries) {
      if (entry.doneAt !== undefined && entry.doneAt <= limit) {
        this.#entries.delete(id);
        this.#expired.add(id);
      }
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
