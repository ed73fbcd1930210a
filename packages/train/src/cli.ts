// The `vzero` command line. Each command is a thin wrapper over a package function, so that
// everything the CLI does is also available to programs. Its options are the zod schema next to
// that function (commands/*.ts: EVAL_OPTIONS beside runEval, ...): flags, defaults, checks and
// help text all come from it (commands/options.ts), so a default is written once and a new key is a
// new flag. What is left here is what each command prints.
import { Command } from 'commander';
import { InvalidInputError, VZeroError, isSystemError, toFileSystemError } from '@vzero/core';
import { DOCTOR_OPTIONS, doctorReport, formatDoctor } from './commands/doctor.js';
import { GATE_OPTIONS, runGateCommand } from './commands/gate.js';
import { EXPORT_OPTIONS, GENERATE_OPTIONS, runWorldExport, runWorldGenerate } from './commands/world.js';
import { PRETRAIN_OPTIONS, runPretrain } from './commands/pretrain.js';
import { TRAIN_OPTIONS, runTrainCommand } from './commands/train.js';
import { RunInterruptedError } from './trainer.js';
import { constants as osConstants } from 'node:os';
import { setupTensors } from './tensors.js';
import { DEMO_OPTIONS, runDemo } from './commands/demo.js';
import { EVAL_OPTIONS, formatEvalReport, runEval } from './commands/eval.js';
import { ABLATE_OPTIONS, runAblateCommand, shippedSpecText } from './commands/ablate.js';
import { SERVE_OPTIONS, runServe } from './commands/serve.js';
import { COMPARE_OPTIONS, runCompare } from './commands/compare.js';
import { toolkitVersion } from './version.js';
import { INSPECT_OPTIONS, runInspect } from './commands/inspect.js';
import { addCommand } from './commands/options.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

export function buildProgram(io: CliIo = defaultIo): Command {
  const log = (line: string) => io.stderr(line + '\n');
  const program = new Command('vzero')
    .description('V-Zero: answer-label-free on-policy distillation with contrastive evidence gating')
    .version(toolkitVersion(), '-V, --version', 'print the version of @vzero/train')
    // A typo gets commander's suggestion and a pointer to the help, not the whole help text.
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  addCommand(
    program,
    {
      name: 'doctor',
      description: 'report Node, the tensor backend chosen and why, sharp/libvips and native kernels',
      options: DOCTOR_OPTIONS,
    },
    log,
    async (o) => {
      const report = await doctorReport();
      io.stdout((o.json ? JSON.stringify(report, null, 2) : formatDoctor(report)) + '\n');
    },
  );

  addCommand(
    program,
    {
      name: 'gate',
      description: 'compute gate weights from a JSONL file of positive/negative teacher log-probs',
      options: GATE_OPTIONS,
    },
    log,
    async ({ outFile, ...o }) => {
      const { lines } = await runGateCommand({ ...o, out: outFile });
      log(`gate: ${lines} rollouts -> ${outFile}`);
    },
  );

  const world = program.command('world').description('the synthetic fine-grained visual-question world');
  addCommand(
    world,
    {
      name: 'generate',
      description: 'generate a split (or all splits) of the world: images, manifest, separate labels',
      options: GENERATE_OPTIONS,
      configFile: true,
    },
    log,
    (o) => runWorldGenerate(o, log),
  );
  addCommand(
    world,
    {
      name: 'export-parquet [dir]',
      description: "export a split to the reference trainer's parquet schema",
      options: EXPORT_OPTIONS,
    },
    log,
    async ({ data, outFile, ...o }, [dir]) => {
      if (dir !== undefined) log('warning: export-parquet DIR is deprecated, use --data DIR');
      const from = data ?? dir;
      if (from === undefined) throw new InvalidInputError('--data', undefined, 'is required');
      await runWorldExport(from, { ...o, out: outFile }, log);
    },
  );

  addCommand(
    program,
    {
      name: 'pretrain <role>',
      description:
        'build a starting model: "teacher" (full image + positive crop) or "student" (full image only)',
      options: PRETRAIN_OPTIONS,
      configFile: true,
    },
    log,
    // --split and --limit are the evaluation's.
    ({ split, limit, ...o }, [role]) =>
      runPretrain({ ...o, role: role ?? '', evalSplit: split, evalLimit: limit }, log),
  );

  addCommand(
    program,
    { name: 'train', description: 'train the student with V-Zero, OPD, SFT or GRPO', options: TRAIN_OPTIONS },
    log,
    async (o) => {
      const { config, result } = await runTrainCommand(o, log);
      io.stdout(`trained ${result.steps} steps (${config.method}); run folder ${result.run.root}\n`);
    },
  );

  addCommand(
    program,
    {
      name: 'eval',
      description:
        'evaluate a checkpoint or a served model (OpenAI-compatible: vLLM, SGLang, vzero serve) on a world split, a V* Bench folder or an HR-Bench .tsv',
      options: EVAL_OPTIONS,
      configFile: true,
    },
    log,
    async (o) => io.stdout(formatEvalReport(await runEval(o, log))),
  );

  addCommand(
    program,
    {
      name: 'ablate',
      description:
        'regenerate docs/RESULTS.md: Base, OPD, V-Zero, SFT, GRPO, the gate ablation and G 4 vs 8 over seeds',
      options: ABLATE_OPTIONS,
      configFile: true,
    },
    log,
    async ({ printSpec, ...o }) => {
      if (printSpec !== undefined) {
        io.stdout(shippedSpecText(printSpec));
        return;
      }
      await setupTensors(log);
      const result = await runAblateCommand(o, log);
      io.stdout(`${result.markdown}\n${result.json}\n`);
    },
  );

  addCommand(
    program,
    {
      name: 'serve',
      description: 'serve a checkpoint over the OpenAI-compatible subset the remote Policy uses',
      options: SERVE_OPTIONS,
    },
    log,
    (o) => runServe(o, log),
  );

  addCommand(
    program,
    {
      name: 'demo',
      description:
        'the main job: a small world, starting models, a short V-Zero run, accuracy before and after',
      options: DEMO_OPTIONS,
      configFile: true,
    },
    log,
    async (o) => io.stdout((await runDemo(o, log)) + '\n'),
  );

  addCommand(
    program,
    {
      name: 'compare <runs...>',
      description:
        'compare run folders: a markdown/JSON table, overlaid curves, and accuracy bar charts per evaluation split',
      options: COMPARE_OPTIONS,
    },
    log,
    async (o, runs) => io.stdout((await runCompare({ runs, ...o }, log)).markdown),
  );

  addCommand(
    program,
    {
      name: 'inspect <run>',
      description:
        'a static HTML report of what the gate did on every recorded step (one page): views, rollouts with per-token delta, weights, right or wrong from the labels',
      options: INSPECT_OPTIONS,
    },
    log,
    async ({ step, out }, [run]) => {
      const result = await runInspect(
        { run: run ?? '', ...(step !== undefined ? { step } : {}), ...(out ? { out } : {}) },
        log,
      );
      io.stdout(`${result.html}\n`);
    },
  );

  return program;
}

/**
 * Runs the CLI; returns the exit code. Every failure is one line on stderr and exit code 1:
 * typed toolkit errors as they are, file-system errors as path and cause, anything else as its
 * message (the stack only with VZERO_DEBUG=1), so no failure ends in a stack dump.
 */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const program = buildProgram(io);
  program.exitOverride();
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (error) {
    return reportError(error, io);
  }
}

/** Prints `error` as one line and returns the exit code. */
export function reportError(error: unknown, io: CliIo = defaultIo): number {
  if (error instanceof RunInterruptedError) {
    // Stopped by a signal, cleanly: the conventional 128 + the signal's number.
    io.stderr(`${error.message}\n`);
    const signo = (osConstants.signals as Record<string, number | undefined>)[error.reason];
    return signo !== undefined ? 128 + signo : 1;
  }
  const code = (error as { exitCode?: number; code?: string } | undefined)?.exitCode;
  if (typeof code === 'number' && String((error as { code?: string }).code).startsWith('commander.')) {
    // commander already printed its message (help, unknown option, bad argument).
    return code;
  }
  const e = isSystemError(error) ? toFileSystemError(error) : error;
  if (e instanceof VZeroError) {
    io.stderr(`error: ${e.message}\n`);
    return 1;
  }
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  io.stderr(`error: ${message.split('\n')[0]}\n`);
  if (process.env['VZERO_DEBUG']) io.stderr(`${(e as Error)?.stack ?? ''}\n`);
  else io.stderr('(an unexpected error; run with VZERO_DEBUG=1 to see where it came from)\n');
  return 1;
}
