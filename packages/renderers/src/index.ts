export {
  ModelInputBuilder,
  chunkLength,
  flattenTokens,
  imageChunk,
  imageChunkBytes,
  modelInputLength,
  textChunk,
  type EncodedTextChunk,
  type ImageChunk,
  type ModelInput,
  type ModelInputChunk,
} from './model-input.js';
export {
  alignToTargets,
  checkTokenIds,
  checkTrainingInput,
  trainingInput,
  type ParsedResponse,
  type RenderOptions,
  type RenderedPrompt,
  type Renderer,
  type TrainingInput,
} from './renderer.js';
export { encodedImageInfo, type EncodedImageInfo } from './image-size.js';
export {
  MAX_ASPECT_RATIO,
  QWEN3_VL_VISION,
  qwenImageTokens,
  roundHalfEven,
  smartResize,
  validateVisionConfig,
  type ImageTokenInfo,
  type QwenVisionConfig,
  type ResizedSize,
} from './smart-resize.js';
export { HfTokenizer } from './hf-tokenizer.js';
export { Qwen3VLRenderer, type Qwen3VLRendererOptions, type QwenSpecialTokens } from './qwen3-vl.js';
export {
  ToolkitRenderer,
  readToolkitModelInput,
  toolkitSlots,
  type ToolkitImageSlot,
  type ToolkitPromptParts,
  type ToolkitTokenizer,
} from './toolkit.js';
