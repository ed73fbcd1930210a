#!/usr/bin/env node
import { reportError, runCli } from './cli.js';

// An error thrown outside the command's promise (a stray callback) still ends as one line and
// exit code 1. Registered before the tensor backends load: the wasm runtime's own handler
// rethrows, which Node reports with a dump of its minified code and exit code 7.
const fatal = (error: unknown) => process.exit(reportError(error));
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

process.exitCode = await runCli(process.argv.slice(2));
