// tfjs-core registers no gradients by itself (the @tensorflow/tfjs bundle does). Its gradient
// registrations exist only as ES modules with extensionless relative imports, which plain Node
// refuses; a tiny resolve hook scoped to tfjs-core's dist folder adds the missing ".js" (or
// "/index.js"), then the upstream registrations are imported once. The registries are global,
// so they serve the CommonJS build that `@tensorflow/tfjs-core` resolves to as well.
import { register } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';

const HOOK = `
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const parent = context.parentURL ?? '';
    if (!parent.includes('/@tensorflow/tfjs-core/dist/') || !specifier.startsWith('.') || specifier.endsWith('.js')) throw error;
    try {
      return await next(specifier + '.js', context);
    } catch {
      return next(specifier + '/index.js', context);
    }
  }
}`;

let ready: Promise<void> | undefined;

/** Registers tfjs-core's gradient functions once per process (no-op when already present). */
export function ensureGradients(): Promise<void> {
  ready ??= (async () => {
    if (tf.getGradient('RealDiv') !== undefined) return;
    if (!('vitest' in globalThis) && process.env.VITEST === undefined) {
      register(`data:text/javascript,${encodeURIComponent(HOOK)}`, import.meta.url);
    }
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  })();
  return ready;
}
