// `vzero doctor`: what this machine gives the toolkit, and why each choice was made.
import os from 'node:os';
import sharp from 'sharp';
import type { BackendReport } from '@vzero/core';
import type { NativeKernelsReport } from '@vzero/tfjs-native';
import { formatNative, setupTensors } from '../tensors.js';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { flag } from './options.js';

/** `vzero doctor`'s options. */
export const DOCTOR_OPTIONS = z.strictObject({
  json: flag(z.boolean().optional(), 'print the report as JSON'),
});

export interface DoctorReport {
  readonly node: string;
  readonly platform: string;
  readonly cpus: { readonly count: number; readonly model: string };
  readonly memoryGiB: number;
  readonly backend: BackendReport;
  readonly tfjs: string;
  readonly sharp: Record<string, string | undefined>;
  readonly nativeKernels: NativeKernelsReport;
}

export async function doctorReport(): Promise<DoctorReport> {
  const { backend, native } = await setupTensors();
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: { count: cpus.length, model: cpus[0]?.model ?? 'unknown' },
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    backend,
    tfjs: tf.version_core,
    sharp: { sharp: sharp.versions.sharp, libvips: sharp.versions.vips },
    nativeKernels: native,
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
    `native      ${formatNative(r.nativeKernels)}`,
    ...(r.nativeKernels.gemm ? [`gemm        ${formatGemm(r.nativeKernels)}`] : []),
  ];
  return lines.join('\n');
}

/** Which GEMM the native matrix products run on, its build or core type, and why that one. */
export function formatGemm(r: NativeKernelsReport): string {
  if (!r.gemm) return 'none (native kernels off)';
  const which = r.gemm.kind === 'openblas' ? 'OpenBLAS' : 'built-in';
  return `${which}${r.blas?.coreType ? ` (${r.blas.coreType})` : ''}: ${r.gemm.reason}`;
}
