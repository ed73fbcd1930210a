// The `vzero` command line. Each command is a thin wrapper over a package function, so that
// everything the CLI does is also available to programs.
import { Command, InvalidArgumentError, Option } from 'commander';
import { InvalidInputError, VZeroError, isSystemError, toFileSystemError } from '@vzero/core';
import { doctorReport, formatDoctor } from './commands/doctor.js';
import { runGateCommand } from './commands/gate.js';
import { runWorldExport, runWorldGenerate } from './commands/world.js';
import { PRETRAIN_COMMAND_DEFAULTS, runPretrain } from './commands/pretrain.js';
import { DEFAULT_TOKENIZER, TOKENIZER_CHOICES } from './world-tokenizer.js';
import { resolveTrainConfig, runRemoteTrain, runTrain } from './commands/train.js';
import { isRemoteStudent } from './remote/student.js';
import { RunInterruptedError } from './trainer.js';
import { constants as osConstants } from 'node:os';
import { setupTensors } from './tensors.js';
import { runDemo, DEMO_DEFAULTS } from './commands/demo.js';
import { runEval } from './commands/eval.js';
import { runAblateCommand, shippedSpecText } from './commands/ablate.js';
import { startServer, startTinkerService } from '@vzero/serve';
import { basename, resolve } from 'node:path';
import { COMPARE_DEFAULTS, runCompare } from './commands/compare.js';
import { toolkitVersion } from './version.js';
import { runInspect } from './commands/inspect.js';
import { deprecatedAlias, optionsOf, withConfigFile } from './cli-options.js';

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

/** Parses an integer >= `min` (default: any integer), naming the option and the bound on failure. */
export function integerOption(name: string, min?: number, why?: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n))
      throw new InvalidArgumentError(`${name} must be an integer, got "${value}"`);
    if (min !== undefined && n < min)
      throw new InvalidArgumentError(`${name} must be >= ${min}${why ? ` (${why})` : ''}, got ${n}`);
    return n;
  };
}

/** A finite number >= `min`. */
export function minNumberOption(name: string, min: number, why: string) {
  const parse = numberOption(name);
  return (value: string): number => {
    const n = parse(value);
    if (n < min) throw new InvalidArgumentError(`${name} must be >= ${min} (${why}), got ${n}`);
    return n;
  };
}

export function buildProgram(io: CliIo = defaultIo): Command {
  const warn = (line: string) => io.stderr(line + '\n');
  const program = new Command('vzero')
    .description('V-Zero: answer-label-free on-policy distillation with contrastive evidence gating')
    .version(toolkitVersion(), '-V, --version', 'print the version of @vzero/train')
    // A typo gets commander's suggestion and a pointer to the help, not the whole help text.
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  program
    .command('doctor')
    .description('report Node, the tensor backend chosen and why, sharp/libvips and native kernels')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const report = await doctorReport();
      io.stdout((opts.json ? JSON.stringify(report, null, 2) : formatDoctor(report)) + '\n');
    });

  const gate = program
    .command('gate')
    .description('compute gate weights from a JSONL file of positive/negative teacher log-probs')
    .requiredOption(
      '--in <file>',
      'input JSONL: {"group", "teacher_pos": [...], "teacher_neg": [...], "mask"?: [...]}',
    )
    .option(
      '--out-file <file>',
      'output JSONL: {"group", "score", "advantage", "weight"} per input line, in order (required)',
    )
    .option('--preset <name>', 'paper (alpha 1) or reference (alpha 0.5)', 'reference')
    .option(
      '--alpha <a>',
      'gate strength (>= 0)',
      minNumberOption(
        '--alpha',
        0,
        'a negative alpha inverts the gate: rollouts the evidence supports get less weight',
      ),
    )
    .option(
      '--gamma <g>',
      'penalty on negative evidence (>= 0; 1 gives the plain delta)',
      numberOption('--gamma'),
    )
    .option('--w-min <x>', 'lower clip of the weights', numberOption('--w-min'))
    .option('--w-max <y>', 'upper clip of the weights', numberOption('--w-max'))
    .option('--eps <e>', 'numerical floor', numberOption('--eps'))
    .option('--metrics <file>', 'write the batch diagnostics as JSON')
    .action(async (opts: Omit<Parameters<typeof runGateCommand>[0], 'out'> & { outFile?: string }) => {
      const { outFile, ...rest } = opts;
      if (outFile === undefined) throw new InvalidInputError('--out-file', undefined, 'is required');
      const { lines } = await runGateCommand({ ...rest, out: outFile });
      io.stderr(`gate: ${lines} rollouts -> ${outFile}\n`);
    });
  deprecatedAlias(gate, '--out <file>', 'outFile', warn);

  const world = program.command('world').description('the synthetic fine-grained visual-question world');
  const generate = world
    .command('generate')
    .description('generate a split (or all splits) of the world: images, manifest, separate labels')
    .option('--out <dir>', 'dataset folder (required)')
    .option('--split <name>', 'train, val, test, test-counter-prior or all', 'all')
    .option('--n <count>', 'samples per split', integerOption('--n', 1), 200)
    .option('--seed <k>', 'world seed', integerOption('--seed', 0, 'seeds are non-negative'), 0)
    .option(
      '--settings <file>',
      'YAML or JSON file of world settings (width, height, targetSizeMin, priorStrength, ...); unset ones keep the defaults',
    )
    .option('--force', 'replace splits the folder already holds (swapped in once complete)')
    .action(async () => {
      const opts = optionsOf(generate) as {
        out: string;
        split: string;
        n: number;
        seed: number;
        settings?: string;
        force?: boolean;
      };
      await runWorldGenerate(opts, (l) => io.stderr(l + '\n'));
    });
  withConfigFile(generate, { required: ['out'] });
  const exportParquet = world
    .command('export-parquet [dir]')
    .description("export a split to the reference trainer's parquet schema")
    .option('--data <dir>', 'world dataset folder (required; the positional [dir] is deprecated)')
    .option('--out-file <file>', 'parquet file to write (required)')
    .option('--split <name>', 'split to export', 'train')
    .option('--negative <mode>', 'negative view in the negative teacher prompt', 'outside-downsampled')
    .option('--labels', 'fill reward_model.ground_truth from the labels file (baselines only)')
    .action(
      async (
        dir: string | undefined,
        opts: { data?: string; outFile?: string; split: string; negative: string; labels?: boolean },
      ) => {
        if (dir !== undefined) warn('warning: export-parquet DIR is deprecated, use --data DIR');
        const data = opts.data ?? dir;
        if (data === undefined) throw new InvalidInputError('--data', undefined, 'is required');
        if (opts.outFile === undefined) throw new InvalidInputError('--out-file', undefined, 'is required');
        const { outFile, ...rest } = opts;
        await runWorldExport(data, { ...rest, out: outFile }, (l) => io.stderr(l + '\n'));
      },
    );
  deprecatedAlias(exportParquet, '--out <file>', 'outFile', warn);

  const pretrain = program
    .command('pretrain <role>')
    .description(
      'build a starting model: "teacher" (full image + positive crop) or "student" (full image only)',
    )
    .option(
      '--data <dir>',
      'world dataset folder (required; trains on its train split, evaluates on --split)',
    )
    .option('--out <dir>', 'checkpoint folder to write (required)')
    .option('--steps <n>', 'optimizer steps', integerOption('--steps', 1), PRETRAIN_COMMAND_DEFAULTS.steps)
    .option(
      '--batch-size <n>',
      'examples per step',
      integerOption('--batch-size', 1),
      PRETRAIN_COMMAND_DEFAULTS.batchSize,
    )
    .option(
      '--lr <x>',
      'peak learning rate',
      minNumberOption('--lr', 0, 'a negative rate climbs the loss'),
      PRETRAIN_COMMAND_DEFAULTS.lr,
    )
    .option(
      '--seed <k>',
      'seed',
      integerOption('--seed', 0, 'seeds are non-negative'),
      PRETRAIN_COMMAND_DEFAULTS.seed,
    )
    .option('--split <name>', 'split to report accuracy on', PRETRAIN_COMMAND_DEFAULTS.evalSplit)
    .option(
      '--limit <n>',
      'evaluate on the first n samples (0 = all)',
      integerOption('--limit', 0, '0 means all'),
      0,
    )
    .option(
      '--negative-fraction <x>',
      'teacher only: also train on the negative view for this fraction of samples',
      numberOption('--negative-fraction'),
      PRETRAIN_COMMAND_DEFAULTS.negativeFraction,
    )
    .addOption(
      new Option('--tokenizer <kind>', 'tokenizer of a fresh model (docs/results/tokenizer.md)')
        .choices(TOKENIZER_CHOICES)
        .default(DEFAULT_TOKENIZER),
    )
    .option('--force', 'replace the model --out holds (the new one is swapped in once complete)')
    .action(async (role: string) => {
      // The options after --config; --split and --limit are the evaluation's.
      const { split, limit, ...rest } = optionsOf(pretrain) as Omit<
        Parameters<typeof runPretrain>[0],
        'role' | 'evalSplit' | 'evalLimit'
      > & { split: string; limit: number };
      await runPretrain({ ...rest, role, evalSplit: split, evalLimit: limit }, (l) => io.stderr(l + '\n'));
    });
  withConfigFile(pretrain, { required: ['data', 'out'] });
  deprecatedAlias(pretrain, '--eval-split <name>', 'split', warn);
  deprecatedAlias(pretrain, '--eval-limit <n>', 'limit', warn);

  program
    .command('train')
    .description('train the student with V-Zero, OPD, SFT or GRPO')
    .option('--config <file>', 'JSON or YAML config (unknown keys are rejected)')
    .option('--set <key=value...>', 'override config keys, e.g. --set method=opd gate.alpha=1', [])
    .option('--data <dir>', 'world dataset folder (= --set data.dir=DIR)')
    .option('--out <dir>', 'run folder (= --set out=DIR)')
    .option('--steps <n>', 'optimizer steps (= --set steps=N)', integerOption('--steps', 1))
    .option('--seed <k>', 'seed (= --set seed=K)', integerOption('--seed', 0, 'seeds are non-negative'))
    .option('--resume', 'continue the run in config.out from its last intact checkpoint')
    .option(
      '--allow-config-change',
      "with --resume: accept a config that differs from the run's (recorded in config-changes.jsonl)",
    )
    .action(
      async (opts: {
        config?: string;
        set: string[];
        resume?: boolean;
        allowConfigChange?: boolean;
        data?: string;
        out?: string;
        steps?: number;
        seed?: number;
      }) => {
        if (opts.allowConfigChange && !opts.resume) {
          throw new InvalidInputError('--allow-config-change', true, 'only applies with --resume');
        }
        // The shorthands are --set overrides, applied after those given with --set.
        const shorthands = [
          ...(opts.data !== undefined ? [`data.dir=${JSON.stringify(opts.data)}`] : []),
          ...(opts.out !== undefined ? [`out=${JSON.stringify(opts.out)}`] : []),
          ...(opts.steps !== undefined ? [`steps=${opts.steps}`] : []),
          ...(opts.seed !== undefined ? [`seed=${opts.seed}`] : []),
        ];
        const config = await resolveTrainConfig({ ...opts, set: [...opts.set, ...shorthands] });
        // SIGINT (Ctrl-C) and SIGTERM (a scheduler's stop) finish the current step, write a
        // checkpoint and exit 130 / 143; a second signal ends the process at once.
        const controller = new AbortController();
        const stop = (signal: NodeJS.Signals) => {
          io.stderr(
            `\n${signal}: stopping after this step (a checkpoint will be written; send it again to abort)\n`,
          );
          controller.abort(signal);
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        try {
          const run = isRemoteStudent(config) ? runRemoteTrain : runTrain;
          const result = await run(config, {
            ...(opts.resume ? { resume: true } : {}),
            ...(opts.allowConfigChange ? { allowConfigChange: true } : {}),
            log: (l) => io.stderr(l + '\n'),
            signal: controller.signal,
          });
          io.stdout(`trained ${result.steps} steps (${config.method}); run folder ${result.run.root}\n`);
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      },
    );

  const evalCmd = program
    .command('eval')
    .description(
      'evaluate a checkpoint or a served model (OpenAI-compatible: vLLM, SGLang, vzero serve) on a world split, a V* Bench folder or an HR-Bench .tsv',
    )
    .option('--checkpoint <dir>', 'model checkpoint folder (a local model)')
    .option(
      '--url <url>',
      'base URL of an OpenAI-compatible server; repeat for replicas of one model (API key from --api-key-env)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option(
      '--model <name>',
      'served model name (what vzero serve --model named it; default: the first the server lists)',
    )
    .option('--api-key-env <var>', "environment variable holding the server's API key", 'VZERO_API_KEY')
    .option(
      '--prompt-format <f>',
      "auto, vzero (the toolkit's views and text) or mcq (the original image, VLMEvalKit's multiple-choice prompt)",
      'auto',
    )
    .option(
      '--max-tokens <n>',
      'longest answer (default 16 for vzero prompts, 64 for mcq)',
      integerOption('--max-tokens', 1),
    )
    .option(
      '--max-pixels <n>',
      'mcq: downscale larger images to this many pixels before sending',
      integerOption('--max-pixels', 1),
    )
    .option('--concurrency <n>', 'requests in flight per server', integerOption('--concurrency', 1), 8)
    .option(
      '--timeout <s>',
      'seconds per request attempt',
      minNumberOption('--timeout', 1, 'a request needs time'),
      300,
    )
    .option('--data <path>', 'world dataset folder, V* Bench folder or HR-Bench .tsv file (required)')
    .option('--split <name>', 'split of a world dataset', 'test')
    .option('--out <dir>', 'write report.json/.md/.svg/.png and resolved-config.yaml here')
    .option('--limit <n>', 'first n questions only (0 = all)', integerOption('--limit', 0, '0 means all'), 0)
    .option('--seed <k>', 'seed of the views', integerOption('--seed', 0, 'seeds are non-negative'), 0)
    .option(
      '--resume',
      'continue the evaluation whose answers --out keeps (answers.jsonl): ask only the rest',
    )
    .option('--force', 'start over although --out keeps answers of an earlier evaluation')
    .option(
      '--max-outage <s>',
      'seconds of outage of every server a remote evaluation rides out before it stops (answers kept)',
      minNumberOption('--max-outage', 0, 'seconds'),
      120,
    )
    .option(
      '--max-response-mb <n>',
      "largest server response in MiB (a larger one is cut off and that server's requests fail over)",
      minNumberOption('--max-response-mb', 1, 'a response needs room'),
      64,
    )
    .action(async () => {
      const opts = optionsOf(evalCmd) as unknown as Parameters<typeof runEval>[0];
      const report = await runEval(opts, (l) => io.stderr(l + '\n'));
      const o = report.overall;
      const line = (label: string, c: typeof o) =>
        `${label}${(c.accuracy * 100).toFixed(1)}% (${c.correct}/${c.questions}, unanswered ${c.unanswered}), 95% CI ${(c.ci95.lo * 100).toFixed(1)}-${(c.ci95.hi * 100).toFixed(1)}%\n`;
      io.stdout(line('accuracy ', o));
      for (const [category, c] of Object.entries(report.categories)) io.stdout(line(`  ${category}: `, c));
      if (report.cyclic) {
        const a = report.cyclic.averaged;
        const cells = [['all', a.overall] as const, ...Object.entries(a.categories)];
        io.stdout(
          `average over ${report.cyclic.cycles.length} cyclic option orders (HR-Bench): ${cells
            .map(([k, c]) => `${k} ${(c.accuracy * 100).toFixed(1)}%`)
            .join(', ')}\n`,
        );
      }
    });
  withConfigFile(evalCmd, { required: ['data'], lists: ['url'] });
  deprecatedAlias(evalCmd, '--bench <path>', 'data', warn);

  const ablate = program
    .command('ablate')
    .description(
      'regenerate docs/RESULTS.md: Base, OPD, V-Zero, SFT, GRPO, the gate ablation and G 4 vs 8 over seeds',
    )
    .option(
      '--preset <name>',
      "a shipped spec: paper-table (the default: 180 steps; last regenerated in 68.5 min for 35 runs on 2 cores with --jobs 2, finished runs reused; its runs' training alone 99.2 min), paper-table-60 (the same at 60 steps; last regenerated in 54.6 min, its runs' training 21.5 min), stem, dense, perceivable, or smoke (2 steps)",
    )
    .option(
      '--spec <file>',
      'a spec file (YAML or JSON: worlds, models, training, seeds, arms) instead of --preset',
    )
    .option('--print-spec <name>', 'print a shipped spec to stdout (to copy and edit) and exit')
    .option('--out <dir>', 'work folder (default runs/ablate/<preset>; finished runs are reused)')
    .option('--docs <dir>', 'where RESULTS.md and results/<preset>.json go (paper-table: docs)')
    .option('--seeds <n>', "seeds per arm (default: the preset's)", integerOption('--seeds', 1))
    .option('--steps <n>', "training steps per run (default: the preset's)", integerOption('--steps', 1))
    .option(
      '--world-seed <k>',
      'confirm on fresh worlds and models (comparison seed k, pre-training k + 1); report: results/<preset>-world<k>.*',
      integerOption('--world-seed', 0, 'seeds are non-negative'),
    )
    .option(
      '--concurrency <k>',
      'runs whose student is at a training service (models.student: tinker://...) that go at once; in-process runs go one at a time (default 1)',
      integerOption('--concurrency', 1),
    )
    .option(
      '--jobs <n>',
      'in-process runs at once, each in a process of its own (default 1); for machines with more cores than one run uses (on 2 cores it measured no faster: docs/PERFORMANCE.md); the numbers do not depend on it',
      integerOption('--jobs', 1),
    )
    .action(async () => {
      const { printSpec, ...opts } = optionsOf(ablate) as unknown as Parameters<
        typeof runAblateCommand
      >[0] & {
        printSpec?: string;
      };
      if (printSpec !== undefined) {
        io.stdout(shippedSpecText(printSpec));
        return;
      }
      await setupTensors((l) => io.stderr(l + '\n'));
      const result = await runAblateCommand(opts, (l) => io.stderr(l + '\n'));
      io.stdout(`${result.markdown}\n${result.json}\n`);
    });
  withConfigFile(ablate);

  const serve = program
    .command('serve')
    .description('serve a checkpoint over the OpenAI-compatible subset the remote Policy uses')
    .requiredOption('--checkpoint <dir>', 'model checkpoint folder')
    .option('--host <addr>', 'address to bind (loopback by default)', '127.0.0.1')
    .option('--port <n>', 'port (0 picks a free one)', integerOption('--port', 0), 8000)
    .option(
      '--model <name>',
      'served model name, what clients send as "model" (vzero eval --model, models.student: tinker://NAME); default: the folder name',
    )
    .option(
      '--image-timeout <ms>',
      'milliseconds one image may take to decode (longer is a 503)',
      integerOption('--image-timeout', 1),
      10_000,
    )
    .option(
      '--max-image-pixels <n>',
      'largest image, width x height (larger is a 413)',
      integerOption('--max-image-pixels', 1),
    )
    .option(
      '--allow-svg',
      'accept SVG images, rendered in a child process killed at --image-timeout (off: a tiny SVG can render for ever)',
    )
    .addOption(
      new Option(
        '--api <kind>',
        'openai: the OpenAI-compatible subset (a teacher or evaluation server); tinker: the Tinker training API (a student trained through it; docs/SCALE.md)',
      )
        .choices(['openai', 'tinker'])
        .default('openai'),
    )
    .option(
      '--state-dir <dir>',
      "--api tinker: where trained models' checkpoints are kept (a restarted server finds them)",
      'runs/tinker-service',
    )
    .action(
      async (opts: {
        checkpoint: string;
        host: string;
        port: number;
        model?: string;
        imageTimeout: number;
        maxImagePixels?: number;
        allowSvg?: boolean;
        api: 'openai' | 'tinker';
        stateDir: string;
      }) => {
        await setupTensors((l) => io.stderr(l + '\n'));
        if (opts.api === 'tinker') {
          const name = opts.model ?? basename(resolve(opts.checkpoint));
          const service = await startTinkerService({
            baseModels: { [name]: opts.checkpoint },
            root: opts.stateDir,
            host: opts.host,
            port: opts.port,
            ...(opts.maxImagePixels !== undefined ? { maxImagePixels: opts.maxImagePixels } : {}),
            ...(process.env['VZERO_API_KEY'] ? { apiKey: process.env['VZERO_API_KEY'] } : {}),
            log: (l) => io.stderr(l + '\n'),
          });
          await service.closed;
          return;
        }
        const server = await startServer({
          checkpoint: opts.checkpoint,
          host: opts.host,
          port: opts.port,
          imageTimeoutMs: opts.imageTimeout,
          ...(opts.maxImagePixels !== undefined ? { maxImagePixels: opts.maxImagePixels } : {}),
          ...(opts.allowSvg ? { allowSvg: true } : {}),
          ...(opts.model ? { modelName: opts.model } : {}),
          ...(process.env['VZERO_API_KEY'] ? { apiKey: process.env['VZERO_API_KEY'] } : {}),
          handleSignals: true,
          logger: (l) => io.stderr(l + '\n'),
        });
        await server.closed;
        server.policy.model.dispose();
        // Native work a request left behind (a decode past its time limit) must not keep the
        // process alive after shutdown: it ends a second after closing whatever is still running.
        setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
      },
    );
  // One name for the served model's name across commands: eval has always said --model.
  deprecatedAlias(serve, '--model-name <name>', 'model', warn);

  const demo = program
    .command('demo')
    .description(
      'the main job: a small world, starting models, a short V-Zero run, accuracy before and after',
    )
    .option('--out <dir>', 'work folder (reused: existing world and models are loaded)', DEMO_DEFAULTS.out)
    .option('--steps <n>', 'V-Zero training steps', integerOption('--steps', 1), DEMO_DEFAULTS.steps)
    .option('--seed <k>', 'seed', integerOption('--seed', 0, 'seeds are non-negative'), DEMO_DEFAULTS.seed)
    .option('--fresh', 'discard the work folder and rebuild everything')
    .action(async () => {
      const opts = optionsOf(demo) as unknown as Parameters<typeof runDemo>[0];
      const report = await runDemo(opts, (l) => io.stderr(l + '\n'));
      io.stdout(report + '\n');
    });
  withConfigFile(demo);

  program
    .command('compare <runs...>')
    .description(
      'compare run folders: a markdown/JSON table, overlaid curves, and accuracy bar charts per evaluation split',
    )
    .option(
      '--out <dir>',
      'where comparison.md/.json, curves.svg/.png and accuracy-<split>.* go',
      COMPARE_DEFAULTS.out,
    )
    .option(
      '--last <n>',
      "the loss and gate columns average each run's last n steps",
      integerOption('--last', 1),
      COMPARE_DEFAULTS.last,
    )
    .action(async (runs: string[], opts: { out: string; last: number }) => {
      const result = await runCompare({ runs, out: opts.out, last: opts.last }, (l) => io.stderr(l + '\n'));
      io.stdout(result.markdown);
    });

  program
    .command('inspect <run>')
    .description(
      'a static HTML report of what the gate did on every recorded step (one page): views, rollouts with per-token delta, weights, right or wrong from the labels',
    )
    .option('--step <n>', 'the recorded step the page opens at (default: the newest)', integerOption('--step', 1))
    .option('--out <dir>', 'folder of index.html (default: <run>/inspect-report)')
    .action(async (run: string, opts: { step?: number; out?: string }) => {
      const result = await runInspect(
        {
          run,
          ...(opts.step !== undefined ? { step: opts.step } : {}),
          ...(opts.out ? { out: opts.out } : {}),
        },
        (l) => io.stderr(l + '\n'),
      );
      io.stdout(`${result.html}\n`);
    });

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
