// An evaluation asks the same questions at every step it runs (and every run of an ablation asks
// the same ones), so its views are built once per process and reused: the prompts come out the
// same as from a fresh factory (views are a function of the sample, the settings and the seed),
// only without decoding and resizing every image again at each evaluation.
import { PromptFactory, type ImageSlots, type PromptSettings } from '../prompts.js';

export class EvalPrompts {
  private readonly factories = new Map<string, PromptFactory>();

  /** The one factory for these slots and settings (made on first use). */
  factory(student: ImageSlots, teacher: ImageSlots | undefined, settings: PromptSettings): PromptFactory {
    const key = JSON.stringify([student.images, teacher?.images ?? null, settings]);
    let factory = this.factories.get(key);
    if (!factory) {
      factory = new PromptFactory(student, teacher, settings);
      this.factories.set(key, factory);
    }
    return factory;
  }

  /** How many view sets were built and reused, over every factory. */
  get stats(): { readonly hits: number; readonly misses: number; readonly factories: number } {
    let hits = 0;
    let misses = 0;
    for (const f of this.factories.values()) {
      const s = f.cacheStats;
      hits += s.hits;
      misses += s.misses;
    }
    return { hits, misses, factories: this.factories.size };
  }
}
