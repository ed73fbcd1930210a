// `vzero doctor`: what this machine gives the toolkit, and why each choice was made.
import os from 'node:os';
import sharp from 'sharp';
import { selectBackend, type BackendReport } from '@vzero/core';
import * as tf from '@tensorflow/tfjs-core';

export interface DoctorReport {
  readonly node: string;
  readonly platform: string;
  readonly cpus: { readonly count: number; readonly model: string };
  readonly memoryGiB: number;
  readonly backend: BackendReport;
  readonly tfjs: string;
  readonly sharp: Record<string, string | undefined>;
  readonly nativeKernels: unknown;
}

/** Loads the optional native-kernel package when present; its absence is reported, not fatal. */
async function nativeKernels(): Promise<unknown> {
  const specifier = '@vzero/tfjs-native';
  try {
    const mod = (await import(specifier)) as { nativeKernelsReport?: () => unknown };
    return mod.nativeKernelsReport
      ? mod.nativeKernelsReport()
      : { available: false, reason: 'no report function' };
  } catch (error) {
    return { available: false, reason: `not loaded: ${(error as Error).message.split('\n')[0]}` };
  }
}

export async function doctorReport(): Promise<DoctorReport> {
  const backend = await selectBackend();
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: { count: cpus.length, model: cpus[0]?.model ?? 'unknown' },
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    backend,
    tfjs: tf.version_core,
    sharp: { sharp: sharp.versions.sharp, libvips: sharp.versions.vips },
    nativeKernels: await nativeKernels(),
  };
}

export function formatDoctor(r: DoctorReport): string {
  const lines = [
    `node        ${r.node} (${r.platform})`,
    `cpus        ${r.cpus.count} x ${r.cpus.model}, ${r.memoryGiB} GiB`,
    `tfjs        ${r.tfjs}`,
    `backend     ${r.backend.chosen} (${r.backend.reason})`,
    ...r.backend.attempts.map((a) => `  ${a.ok ? 'ok  ' : 'skip'} ${a.name.padEnd(8)} ${a.detail}`),
    `sharp       ${r.sharp['sharp']} (libvips ${r.sharp['libvips']})`,
    `native      ${JSON.stringify(r.nativeKernels)}`,
  ];
  return lines.join('\n');
}
