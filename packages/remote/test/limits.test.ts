// The transport against servers that misbehave on purpose (plain node:http on loopback): a
// replica that sends an endless or oversize body is cut off at maxResponseBytes and the call
// fails over; an outage of every replica is ridden out up to maxOutageMs, and no longer.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RemoteError } from '../src/index.js';
import { Transport } from '../src/transport.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((ok) => s.close(() => ok(undefined)));
  }
});

async function listen(
  handler: Parameters<typeof createServer>[1],
  port = 0,
): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const ok = (_req: unknown, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ fine: true }));
};

/** An endless body, chunked, with no length: what a broken replica (or an attacker) sends. */
const endless = (_req: unknown, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const pump = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', pump);
  };
  res.write('{"a":"');
  pump();
};

const FAST = { backoffMs: 10, maxBackoffMs: 50 } as const;
const parse = (j: unknown) => j as { fine?: boolean };

describe('response bodies are capped', () => {
  it('cuts an endless body at maxResponseBytes and fails over to a working replica', async () => {
    const bad = await listen(endless);
    const good = await listen(ok);
    const t = new Transport({
      baseUrl: [bad.url, good.url],
      maxResponseBytes: 1 << 20,
      ...FAST,
      maxRetries: 2,
    });
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 4; i++) expect(await t.call('GET', '/x', undefined, parse)).toEqual({ fine: true });
    const s = t.stats();
    expect(s.failures['malformed-response']).toBeGreaterThanOrEqual(1);
    expect(s.replicas[0]?.healthy).toBe(false);
    expect(s.replicas[1]?.succeeded).toBe(4);
    // The endless body was not buffered (it would grow without bound).
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
    t.close();
  });

  it('refuses a declared oversize body at once, and fails with a clear error when no replica is left', async () => {
    const declared = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(3 * 2 ** 30) });
      res.write('{');
    });
    const t = new Transport({ baseUrl: declared.url, maxResponseBytes: 1 << 20, ...FAST, maxRetries: 1 });
    const e = await t.call('GET', '/x', undefined, parse).catch((error: unknown) => error);
    expect(e).toBeInstanceOf(RemoteError);
    expect((e as Error).message).toMatch(
      /response body of 3221225472 bytes exceeds the limit of 1048576 bytes \(maxResponseBytes\)/,
    );
    t.close();
  });
});

describe('an outage of every replica', () => {
  it('is ridden out up to maxOutageMs: a server back after a second answers the call', async () => {
    // Take a free port, close it, and bring the server up on it a second later.
    const probe = await listen(ok);
    const port = (probe.server.address() as AddressInfo).port;
    await new Promise((done) => probe.server.close(() => done(undefined)));
    servers.splice(servers.indexOf(probe.server), 1);
    const t = new Transport({
      baseUrl: `http://127.0.0.1:${port}`,
      maxRetries: 1,
      maxOutageMs: 20_000,
      ...FAST,
    });
    const lines: string[] = [];
    const logged = new Transport({
      baseUrl: `http://127.0.0.1:${port}`,
      maxRetries: 1,
      maxOutageMs: 20_000,
      ...FAST,
      logger: (l) => lines.push(l),
    });
    setTimeout(() => void listen(ok, port), 1000);
    const [a, b] = await Promise.all([
      t.call('GET', '/x', undefined, parse),
      logged.call('GET', '/x', undefined, parse),
    ]);
    expect(a).toEqual({ fine: true });
    expect(b).toEqual({ fine: true });
    expect(lines.some((l) => /riding out an outage of \d+ s of at most 20 s/.test(l))).toBe(true);
    t.close();
    logged.close();
  });

  it('fails once the outage has lasted maxOutageMs (bounded), and at maxRetries without it', async () => {
    const probe = await listen(ok);
    const port = (probe.server.address() as AddressInfo).port;
    await new Promise((done) => probe.server.close(() => done(undefined)));
    servers.splice(servers.indexOf(probe.server), 1);
    const bounded = new Transport({
      baseUrl: `http://127.0.0.1:${port}`,
      maxRetries: 1,
      maxOutageMs: 800,
      ...FAST,
    });
    const t0 = Date.now();
    await expect(bounded.call('GET', '/x', undefined, parse)).rejects.toThrow(/connection failed/);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(800);
    expect(waited).toBeLessThan(10_000);
    expect(bounded.stats().attempts).toBeGreaterThan(2);
    const plain = new Transport({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 1, ...FAST });
    await expect(plain.call('GET', '/x', undefined, parse)).rejects.toThrow(/after 2 attempt/);
    bounded.close();
    plain.close();
  });
});
