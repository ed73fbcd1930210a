// Scene sampling: which objects, where, in which colour, and the question about them. Pure and
// seeded: the same Rng state gives the same scene on every machine.
import type { Box, Rng } from '@vzero/core';
import type { Split, WorldConfig } from './config.js';
import { attributeQuestion, spatialQuestion } from './questions.js';
import { COLOURS, SHAPES, type Colour, type Relation, type Shape } from './vocabulary.js';

/** One drawn object. Its box is the square the shape is inscribed in (integer pixels, x1/y1 exclusive). */
export interface SceneObject {
  readonly shape: Shape;
  readonly colour: Colour;
  readonly box: Box;
  readonly role: 'target' | 'distractor';
}

/** The evidence a reference response states before its answer (labels file only). */
export type WorldFacts =
  | {
      readonly kind: 'attribute';
      readonly shape: Shape;
      readonly colour: Colour;
      /** The shape's usual colour under the world's prior, and whether the target has it. */
      readonly usualColour: Colour;
      readonly followsPrior: boolean;
    }
  | {
      readonly kind: 'spatial';
      /** The object asked about and the reference object: "is the <subject> on the left or right of the <reference> ?" */
      readonly subject: Shape;
      readonly reference: Shape;
      readonly relation: Relation;
      readonly followsPrior: boolean;
      /** With world.spatialColours: the two objects' colours, named in the question. */
      readonly colours?: { readonly subject: Colour; readonly reference: Colour };
    };

/** Soft background shapes; muted so that no background pixel reads as an object colour. */
export interface BackgroundBlob {
  readonly cx: number;
  readonly cy: number;
  readonly rx: number;
  readonly ry: number;
  readonly rgb: readonly [number, number, number];
  readonly opacity: number;
}

export interface Background {
  readonly rgb: readonly [number, number, number];
  readonly blobs: readonly BackgroundBlob[];
  /** Faint diagonal stripes: spacing and tone. */
  readonly stripeSpacing: number;
  readonly stripeRgb: readonly [number, number, number];
}

export interface Scene {
  readonly width: number;
  readonly height: number;
  readonly background: Background;
  readonly objects: readonly SceneObject[];
  readonly category: 'attribute' | 'spatial';
  readonly question: string;
  readonly options: readonly string[];
  readonly answerIndex: number;
  /** Target boxes in question order (attribute: the target; spatial: subject, then reference). */
  readonly boxes: readonly Box[];
  readonly facts: WorldFacts;
}

/** Samples one scene. `split` decides whether the priors hold or are violated. */
export function sampleScene(rng: Rng, config: WorldConfig, split: Split): Scene {
  const counter = split === 'test-counter-prior';
  const background = sampleBackground(rng, config);
  const placed: Box[] = [];
  const objects: SceneObject[] = [];
  const colourFor = (shape: Shape): Colour => priorColour(rng, config, shape);

  let category: Scene['category'];
  let facts: WorldFacts;
  let boxes: Box[];
  if (rng.float() < config.spatialFraction) {
    category = 'spatial';
    const [subject, reference] = rng.shuffle(SHAPES).slice(0, 2) as [Shape, Shape];
    const relation: Relation = counter ? 'right' : rng.float() < config.leftPriorStrength ? 'left' : 'right';
    const [leftBox, rightBox] = placePair(rng, config);
    const subjectBox = relation === 'left' ? leftBox : rightBox;
    const referenceBox = relation === 'left' ? rightBox : leftBox;
    const subjectColour = colourFor(subject);
    let referenceColour = colourFor(reference);
    // Named colours must tell the two apart (only drawn when they are named: old worlds unchanged).
    if (config.spatialColours && referenceColour === subjectColour) {
      referenceColour = rng.pick(COLOURS.filter((c) => c !== subjectColour));
    }
    objects.push({ shape: subject, colour: subjectColour, box: subjectBox, role: 'target' });
    objects.push({ shape: reference, colour: referenceColour, box: referenceBox, role: 'target' });
    placed.push(subjectBox, referenceBox);
    boxes = [subjectBox, referenceBox];
    facts = {
      kind: 'spatial',
      subject,
      reference,
      relation,
      followsPrior: relation === 'left',
      ...(config.spatialColours ? { colours: { subject: subjectColour, reference: referenceColour } } : {}),
    };
  } else {
    category = 'attribute';
    const shape = rng.pick(SHAPES);
    const usual = config.usualColour[shape];
    const others = COLOURS.filter((c) => c !== usual);
    const colour: Colour = counter
      ? rng.pick(others)
      : rng.float() < config.priorStrength
        ? usual
        : rng.pick(others);
    const size = rng.int(config.targetSizeMin, config.targetSizeMax + 1);
    const box = placeBox(rng, config, size, placed, 1000);
    if (!box) throw new Error('unreachable: an empty canvas always fits the target');
    objects.push({ shape, colour, box, role: 'target' });
    placed.push(box);
    boxes = [box];
    facts = { kind: 'attribute', shape, colour, usualColour: usual, followsPrior: colour === usual };
  }

  // Distractors never share a target's shape, so the target's description stays unique; where a
  // spatial question names colours, no distractor has one of them either, so the colour alone
  // also picks out each named object.
  const targetShapes = new Set(objects.map((o) => o.shape));
  const namedColours = new Set(
    facts.kind === 'spatial' && facts.colours ? [facts.colours.subject, facts.colours.reference] : [],
  );
  const distractorColour = (shape: Shape): Colour => {
    const colour = colourFor(shape);
    return namedColours.has(colour) ? rng.pick(COLOURS.filter((c) => !namedColours.has(c))) : colour;
  };
  const distractorShapes = SHAPES.filter((s) => !targetShapes.has(s));
  const count = rng.int(config.distractorsMin, config.distractorsMax + 1);
  for (let i = 0; i < count; i++) {
    const shape = rng.pick(distractorShapes);
    const size = rng.int(config.distractorSizeMin, config.distractorSizeMax + 1);
    const box = placeBox(rng, config, size, placed, 30);
    if (!box) continue; // crowded canvas: fewer distractors rather than overlaps
    objects.push({ shape, colour: distractorColour(shape), box, role: 'distractor' });
    placed.push(box);
  }

  const q = facts.kind === 'attribute' ? attributeQuestion(rng, facts) : spatialQuestion(rng, facts);
  return {
    width: config.width,
    height: config.height,
    background,
    objects,
    category,
    question: q.question,
    options: q.options,
    answerIndex: q.answerIndex,
    boxes,
    facts,
  };
}

function priorColour(rng: Rng, config: WorldConfig, shape: Shape): Colour {
  const usual = config.usualColour[shape];
  if (rng.float() < config.priorStrength) return usual;
  return rng.pick(COLOURS.filter((c) => c !== usual));
}

function sampleBackground(rng: Rng, config: WorldConfig): Background {
  const grey = rng.int(105, 156);
  const tint = (): number => rng.int(-10, 11);
  const rgb: [number, number, number] = [grey + tint(), grey + tint(), grey + tint()];
  const blobs: BackgroundBlob[] = [];
  const span = Math.max(config.width, config.height);
  const blobCount = 24 + rng.int(0, 16);
  for (let i = 0; i < blobCount; i++) {
    const tone = grey + rng.int(-45, 46);
    blobs.push({
      cx: rng.int(0, config.width),
      cy: rng.int(0, config.height),
      rx: Math.max(4, Math.round(span * (0.03 + 0.15 * rng.float()))),
      ry: Math.max(4, Math.round(span * (0.03 + 0.15 * rng.float()))),
      rgb: [tone + tint(), tone + tint(), tone + tint()],
      opacity: Math.round((0.2 + 0.3 * rng.float()) * 100) / 100,
    });
  }
  const stripeTone = grey + rng.int(-25, 26);
  return {
    rgb,
    blobs,
    stripeSpacing: rng.int(6, 14),
    stripeRgb: [stripeTone, stripeTone, stripeTone],
  };
}

function overlaps(a: Box, b: Box, gap: number): boolean {
  return a.x0 < b.x1 + gap && b.x0 < a.x1 + gap && a.y0 < b.y1 + gap && b.y0 < a.y1 + gap;
}

/** A free square box of side `size` inside the canvas margin, or undefined after `tries` misses. */
function placeBox(
  rng: Rng,
  config: WorldConfig,
  size: number,
  placed: readonly Box[],
  tries: number,
): Box | undefined {
  const m = config.gap;
  for (let t = 0; t < tries; t++) {
    const x0 = rng.int(m, config.width - m - size + 1);
    const y0 = rng.int(m, config.height - m - size + 1);
    const box = { x0, y0, x1: x0 + size, y1: y0 + size };
    if (!placed.some((p) => overlaps(p, box, config.gap))) return box;
  }
  return undefined;
}

/**
 * Two target boxes, the first clearly left of the second: at least one target size of free space
 * between them, so "left" and "right" are never ambiguous.
 */
function placePair(rng: Rng, config: WorldConfig): [Box, Box] {
  const m = config.gap;
  const a = rng.int(config.targetSizeMin, config.targetSizeMax + 1);
  const b = rng.int(config.targetSizeMin, config.targetSizeMax + 1);
  const sep = config.pairGapMin > 0 ? config.pairGapMin : Math.max(config.targetSizeMax, config.gap);
  const leftX = rng.int(m, config.width - m - a - sep - b + 1);
  const farthest = config.width - m - b;
  // pairGapMax bounds the free space between the two (0: anywhere right of the left object).
  const rightMax = config.pairGapMax > 0 ? Math.min(farthest, leftX + a + config.pairGapMax) : farthest;
  const rightX = rng.int(leftX + a + sep, rightMax + 1);
  const ya = rng.int(m, config.height - m - a + 1);
  // pairRiseMax bounds the vertical offset of the two (0: each anywhere in the canvas's height).
  const yb =
    config.pairRiseMax > 0
      ? rng.int(
          Math.max(m, ya - config.pairRiseMax),
          Math.min(config.height - m - b, ya + config.pairRiseMax) + 1,
        )
      : rng.int(m, config.height - m - b + 1);
  return [
    { x0: leftX, y0: ya, x1: leftX + a, y1: ya + a },
    { x0: rightX, y0: yb, x1: rightX + b, y1: yb + b },
  ];
}
