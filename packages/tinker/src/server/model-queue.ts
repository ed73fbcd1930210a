// One model's requests run one at a time in seq_id order, as the SDK expects (it numbers every
// request of a training client, seq_id = 1, 2, ..., and may send a chunk before the one ahead of
// it; training_client.py _take_turn). A request without a seq_id joins the queue as it arrives.
// A request whose predecessor never comes runs after `gapTimeoutMs` anyway, so one lost
// request cannot stall a model forever.
type Job = () => Promise<void>;

export class ModelQueue {
  #expected: number;
  readonly #held = new Map<number, Job>();
  #chain: Promise<void> = Promise.resolve();
  #gapTimer: NodeJS.Timeout | undefined;
  readonly #gapTimeoutMs: number;

  constructor(options: { firstSeqId?: number; gapTimeoutMs: number }) {
    this.#expected = options.firstSeqId ?? 1;
    this.#gapTimeoutMs = options.gapTimeoutMs;
  }

  /** The next seq_id the queue waits for. */
  get expected(): number {
    return this.#expected;
  }

  enqueue(seqId: number | undefined, job: Job): void {
    if (seqId === undefined || seqId < this.#expected) {
      this.#run(job);
      return;
    }
    this.#held.set(seqId, job);
    this.#release();
  }

  #run(job: Job): void {
    this.#chain = this.#chain.then(job, job);
  }

  #release(): void {
    while (this.#held.has(this.#expected)) {
      const job = this.#held.get(this.#expected)!;
      this.#held.delete(this.#expected);
      this.#expected++;
      this.#run(job);
    }
    clearTimeout(this.#gapTimer);
    this.#gapTimer = undefined;
    if (this.#held.size > 0) {
      this.#gapTimer = setTimeout(() => {
        this.#expected = Math.min(...this.#held.keys());
        this.#release();
      }, this.#gapTimeoutMs);
      this.#gapTimer.unref();
    }
  }

  /** Resolves when every job queued so far has finished. */
  idle(): Promise<void> {
    return this.#chain;
  }

  dispose(): void {
    clearTimeout(this.#gapTimer);
    this.#held.clear();
  }
}
