// Where every token sits in a batch, and which keys each query may attend to.
//
// Sequence layout of one row: [image slot 0 | image slot 1 | ... | text columns]. Text columns
// are [left padding | prompt | response | right padding], so every row's response starts in the
// same column and training reads it with one slice. Positions are explicit (the prompt's first
// real token is text position 0), so padding never shifts a token's position embedding.
//
// Attention is block-causal by image: image tokens of slot s see slots 0..s in full; text sees
// every image token and the earlier real text tokens. So the full image's keys and values do not
// depend on the crop, and the full-image prefix can be shared by a teacher's two views.
import * as tf from '@tensorflow/tfjs-core';

/** Additive mask value for a forbidden key: exp() of it is exactly 0 in float32. */
export const MASKED = -1e9;

/** Per-row key descriptors: `group` is the image slot (or the number of slots for text). */
export interface KeyInfo {
  readonly group: number[];
  readonly valid: boolean[];
}

/** Token ids, positions and validity of the text columns of a batch (row-major, B x T). */
export interface TextLayout {
  readonly rows: number;
  readonly columns: number;
  /** Width of the (left-padded) prompt block: the last prompt token is column promptWidth-1. */
  readonly promptWidth: number;
  /** Width of the (right-padded) response block. */
  readonly responseWidth: number;
  readonly ids: Int32Array;
  readonly positions: Int32Array;
  readonly valid: Uint8Array;
}

/** Text layout of prompts followed by responses (responses may be empty). */
export function textLayout(
  prompts: readonly (readonly number[])[],
  responses: readonly (readonly number[])[],
  padId: number,
): TextLayout {
  const rows = prompts.length;
  const promptWidth = Math.max(1, ...prompts.map((p) => p.length));
  const responseWidth = Math.max(0, ...responses.map((r) => r.length));
  const columns = promptWidth + responseWidth;
  const ids = new Int32Array(rows * columns).fill(padId);
  const positions = new Int32Array(rows * columns);
  const valid = new Uint8Array(rows * columns);
  for (let b = 0; b < rows; b++) {
    const p = prompts[b] ?? [];
    const r = responses[b] ?? [];
    const off = promptWidth - p.length;
    p.forEach((id, j) => {
      ids[b * columns + off + j] = id;
      positions[b * columns + off + j] = j;
      valid[b * columns + off + j] = 1;
    });
    r.forEach((id, k) => {
      ids[b * columns + promptWidth + k] = id;
      positions[b * columns + promptWidth + k] = p.length + k;
      valid[b * columns + promptWidth + k] = 1;
    });
  }
  return { rows, columns, promptWidth, responseWidth, ids, positions, valid };
}

/**
 * Additive attention mask [B, 1, Tq, L] for the last `queries` keys of each row as queries.
 * Query q may see key k when k is valid and (k's group is earlier, or the same image slot, or
 * the same text group and not later).
 */
export function blockCausalMask(keys: readonly KeyInfo[], queries: number, textGroup: number): tf.Tensor4D {
  const rows = keys.length;
  const length = keys[0]?.group.length ?? 0;
  const data = new Float32Array(rows * queries * length).fill(MASKED);
  for (let b = 0; b < rows; b++) {
    const info = keys[b] as KeyInfo;
    for (let t = 0; t < queries; t++) {
      const qi = length - queries + t;
      const qg = info.group[qi] ?? 0;
      const base = (b * queries + t) * length;
      // A query in the same group as the one before sees what that one saw, plus (in a text
      // group) its own key: copy the previous row instead of rescanning every key.
      if (t > 0 && (info.group[qi - 1] ?? 0) === qg) {
        data.copyWithin(base, base - length, base);
        if (qg >= textGroup && info.valid[qi]) data[base + qi] = 0;
        continue;
      }
      for (let k = 0; k < length; k++) {
        if (!info.valid[k]) continue;
        const kg = info.group[k] ?? 0;
        if (kg < qg || (kg === qg && (qg < textGroup || k <= qi))) data[base + k] = 0;
      }
    }
  }
  return tf.tensor4d(data, [rows, 1, queries, length]);
}
