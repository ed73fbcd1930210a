export { extractAnswer, type ExtractedAnswer, type ExtractionRule } from './extract.js';
export { wilsonInterval, Z95, type Interval } from './wilson.js';
export {
  scorePredictions,
  accuracyCell,
  type BenchSample,
  type Aggregate,
  type Prediction,
  type AccuracyCell,
  type Breakdown,
  type AveragedCell,
  type CyclicSummary,
  type ScoreSummary,
  type ScoreOptions,
} from './score.js';
export {
  reportMarkdown,
  reportSvg,
  comparisonMarkdown,
  comparisonSvg,
  svgToPng,
  writeReport,
  writeComparison,
  type Report,
  type EvalSettings,
  type WrittenFiles,
} from './report.js';
export { evaluate, type EvaluateOptions, type EvaluateProgress } from './evaluate.js';
export { pairedBootstrap, seedDifference, t975, type PairedDifference } from './paired.js';
