// tfjs-core registers no gradients by itself (the @tensorflow/tfjs union package and tfjs-node
// do). The tests run under vitest, which resolves this deep ESM import; an application gets the
// gradients from the package that sets up its tensor stack.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
