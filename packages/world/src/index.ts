// @vzero/world: a synthetic fine-grained visual-question world (V*-style scenes with small
// targets, configurable priors and a counter-prior split), dataset files with answers kept
// apart, loaders for real benchmark layouts, and export to the reference trainer's parquet.
export {
  SHAPES,
  COLOURS,
  RELATIONS,
  OPTION_LETTERS,
  WORLD_VOCABULARY,
  tokenizeWords,
  outOfVocabulary,
  isShape,
  isColour,
  type Shape,
  type Colour,
  type Relation,
} from './vocabulary.js';
export {
  SPLITS,
  isSplit,
  DEFAULT_WORLD_CONFIG,
  resolveWorldConfig,
  type Split,
  type WorldConfig,
} from './config.js';
export {
  sampleScene,
  type Scene,
  type SceneObject,
  type WorldFacts,
  type Background,
  type BackgroundBlob,
} from './scene.js';
export { COLOUR_RGB, sceneSvg, renderScenePng, boxArea } from './render.js';
export { formatPrompt, referenceResponse } from './questions.js';
export { worldCorpus, type WorldCorpusOptions } from './corpus.js';
export {
  MANIFEST_FILE,
  IMAGES_DIR,
  WORLD_INFO_FILE,
  loadLabelFree,
  readManifest,
  type ManifestRow,
  type WorldLabelFreeSample,
  type LoadOptions,
} from './manifest.js';
export { LABELS_FILE, loadLabelled, readLabels, type LabelRow, type WorldLabelledSample } from './labels.js';
export {
  generateWorld,
  sampleId,
  sceneFor,
  type GenerateWorldOptions,
  type GenerateWorldHooks,
  type GenerateWorldResult,
} from './generate.js';
export { loadVStarBench, type VStarOptions, type BenchmarkSample } from './vstar.js';
export { loadHRBench, parseTsv, type HRBenchSample } from './hrbench.js';
export {
  exportParquet,
  exportSamplesParquet,
  PARQUET_COLUMNS,
  NEGATIVE_VIEW_MODES,
  NEGATIVE_MODES,
  type NegativeViewMode,
  type NegativeMode,
  type ExportParquetOptions,
} from './parquet.js';
