// `vzero serve --checkpoint DIR [--api openai|tinker]`: a checkpoint behind the OpenAI-compatible
// subset the remote Policy uses (a teacher or evaluation server), or behind the Tinker training
// API (a student trained through it; docs/SCALE.md). Runs until SIGINT or SIGTERM.
import { basename, resolve } from 'node:path';
import { z } from 'zod';
import { SERVE_DEFAULTS, startServer, startTinkerService } from '@vzero/serve';
import { flag, type GivenOptions } from './options.js';
import { setupTensors } from '../tensors.js';

/** `vzero serve`'s options. */
export const SERVE_OPTIONS = z.strictObject({
  checkpoint: flag(z.string(), 'model checkpoint folder', { value: 'dir' }),
  host: flag(z.string().default(SERVE_DEFAULTS.host), 'address to bind (loopback by default)', {
    value: 'addr',
  }),
  port: flag(z.number().int().min(0).default(SERVE_DEFAULTS.port), 'port (0 picks a free one)', {
    value: 'n',
  }),
  model: flag(
    z.string().optional(),
    'served model name, what clients send as "model" (vzero eval --model, models.student: tinker://NAME); default: the folder name',
    { value: 'name', deprecated: ['--model-name'] },
  ),
  imageTimeout: flag(
    z.number().int().min(1).default(SERVE_DEFAULTS.imageTimeoutMs),
    'milliseconds one image may take to decode (longer is a 503)',
    { value: 'ms' },
  ),
  maxImagePixels: flag(
    z.number().int().min(1).optional(),
    'largest image, width x height (larger is a 413)',
    {
      value: 'n',
    },
  ),
  allowSvg: flag(
    z.boolean().optional(),
    'accept SVG images, rendered in a child process killed at --image-timeout (off: a tiny SVG can render for ever)',
  ),
  api: flag(
    z.enum(['openai', 'tinker']).default('openai'),
    'openai: the OpenAI-compatible subset (a teacher or evaluation server); tinker: the Tinker training API (a student trained through it; docs/SCALE.md)',
    { value: 'kind' },
  ),
  stateDir: flag(
    z.string().default('runs/tinker-service'),
    "--api tinker: where trained models' checkpoints are kept (a restarted server finds them)",
    { value: 'dir' },
  ),
});

export type ServeCommandOptions = GivenOptions<z.output<typeof SERVE_OPTIONS>>;

/** Serves until the server closes (a signal); the API key, when set, is $VZERO_API_KEY. */
export async function runServe(o: ServeCommandOptions, log: (line: string) => void): Promise<void> {
  await setupTensors(log);
  const apiKey = process.env['VZERO_API_KEY'];
  if (o.api === 'tinker') {
    const name = o.model ?? basename(resolve(o.checkpoint));
    const service = await startTinkerService({
      baseModels: { [name]: o.checkpoint },
      root: o.stateDir,
      host: o.host,
      port: o.port,
      ...(o.maxImagePixels !== undefined ? { maxImagePixels: o.maxImagePixels } : {}),
      ...(apiKey ? { apiKey } : {}),
      log,
    });
    await service.closed;
    return;
  }
  const server = await startServer({
    checkpoint: o.checkpoint,
    host: o.host,
    port: o.port,
    imageTimeoutMs: o.imageTimeout,
    ...(o.maxImagePixels !== undefined ? { maxImagePixels: o.maxImagePixels } : {}),
    ...(o.allowSvg ? { allowSvg: true } : {}),
    ...(o.model ? { modelName: o.model } : {}),
    ...(apiKey ? { apiKey } : {}),
    handleSignals: true,
    logger: log,
  });
  await server.closed;
  server.policy.model.dispose();
  // Native work a request left behind (a decode past its time limit) must not keep the process
  // alive after shutdown: it ends a second after closing whatever is still running.
  setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
}
