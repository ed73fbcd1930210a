// The `vzero` command line. Each command is a thin wrapper over a package function, so that
// everything the CLI does is also available to programs.
import { Command, InvalidArgumentError } from 'commander';
import { VZeroError } from '@vzero/core';
import { doctorReport, formatDoctor } from './commands/doctor.js';
import { runGateCommand } from './commands/gate.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/** Parses a finite number for an option, naming the option on failure. */
export function numberOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n))
      throw new InvalidArgumentError(`${name} must be a finite number, got "${value}"`);
    return n;
  };
}

export function integerOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got "${value}"`);
    return n;
  };
}

export function buildProgram(io: CliIo = defaultIo): Command {
  const program = new Command('vzero')
    .description('V-Zero: answer-label-free on-policy distillation with contrastive evidence gating')
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  program
    .command('doctor')
    .description('report Node, the tensor backend chosen and why, sharp/libvips and native kernels')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const report = await doctorReport();
      io.stdout((opts.json ? JSON.stringify(report, null, 2) : formatDoctor(report)) + '\n');
    });

  program
    .command('gate')
    .description('compute gate weights from a JSONL file of positive/negative teacher log-probs')
    .requiredOption(
      '--in <file>',
      'input JSONL: {"group", "teacher_pos": [...], "teacher_neg": [...], "mask"?: [...]}',
    )
    .requiredOption(
      '--out <file>',
      'output JSONL: {"group", "score", "advantage", "weight"} per input line, in order',
    )
    .option('--preset <name>', 'paper (alpha 1) or reference (alpha 0.5)', 'reference')
    .option('--alpha <a>', 'gate strength', numberOption('--alpha'))
    .option(
      '--gamma <g>',
      'penalty on negative evidence (>= 0; 1 gives the plain delta)',
      numberOption('--gamma'),
    )
    .option('--w-min <x>', 'lower clip of the weights', numberOption('--w-min'))
    .option('--w-max <y>', 'upper clip of the weights', numberOption('--w-max'))
    .option('--eps <e>', 'numerical floor', numberOption('--eps'))
    .option('--metrics <file>', 'write the batch diagnostics as JSON')
    .action(async (opts: Parameters<typeof runGateCommand>[0]) => {
      const { lines } = await runGateCommand(opts);
      io.stderr(`gate: ${lines} rollouts -> ${opts.out}\n`);
    });

  return program;
}

/** Runs the CLI; returns the exit code. Typed toolkit errors print one clear line, not a stack. */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const program = buildProgram(io);
  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof VZeroError) {
      io.stderr(`error: ${error.message}\n`);
      return 1;
    }
    const code = (error as { exitCode?: number; code?: string }).exitCode;
    if (typeof code === 'number') {
      // commander already printed its message (help, unknown option, bad argument).
      return code;
    }
    throw error;
  }
}
