export { buildProgram, runCli, type CliIo } from './cli.js';
export { doctorReport, formatDoctor, type DoctorReport } from './commands/doctor.js';
export { runGateCommand, type GateCommandOptions } from './commands/gate.js';
export { parseGateLine, readGateJsonl, type GateOutputLine } from './gate-jsonl.js';
