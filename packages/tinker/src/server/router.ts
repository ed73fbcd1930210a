// Routing of the server: "METHOD /path" to a handler, with :name segments.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http.js';

export const API = '/api/v1';

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly body: Buffer;
  readonly params: Record<string, string>;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

export class Router {
  readonly #routes = new Map<string, Handler>();

  route(method: 'GET' | 'POST', path: string, handler: Handler): void {
    this.#routes.set(`${method} ${path}`, handler);
  }

  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | undefined {
    const exact = this.#routes.get(`${method} ${path}`);
    if (exact) return { handler: exact, params: {} };
    for (const [key, handler] of this.#routes) {
      const [m, pattern] = key.split(' ') as [string, string];
      if (m !== method || !pattern.includes(':')) continue;
      const re = new RegExp(`^${pattern.replace(/:(\w+)/g, '(?<$1>[^/]+)')}$`);
      const found = re.exec(path);
      if (found) return { handler, params: { ...found.groups } };
    }
    return undefined;
  }

  /** Whether some method serves `path` (405 rather than 404). */
  hasPath(path: string): boolean {
    return [...this.#routes.keys()].some((k) => k.endsWith(` ${path}`));
  }
}

/** A submitted request's answer (SkyRL api.py FutureResponse; the SDK reads request_id). */
export function futureAnswer(res: ServerResponse, requestId: string, modelId?: string): void {
  sendJson(res, 200, {
    future_id: requestId,
    status: 'pending',
    request_id: requestId,
    ...(modelId === undefined ? {} : { model_id: modelId }),
  });
}
