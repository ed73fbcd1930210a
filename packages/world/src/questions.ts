// Question, option and response text. All text is written from WORLD_VOCABULARY words with
// punctuation as separate tokens, so the word-level tokenizer of the small models can read it.
import { InvalidInputError, optionLetter, type Rng } from '@vzero/core';
import type { WorldFacts } from './scene.js';
import { COLOURS, RELATIONS, type Colour } from './vocabulary.js';

interface Question {
  readonly question: string;
  readonly options: readonly string[];
  readonly answerIndex: number;
}

/**
 * "what is the colour of the <shape> ?" with 4 colour options. The shape's usual colour is always
 * an option, so a student that answers by prior picks it, and is wrong on counter-prior samples.
 */
export function attributeQuestion(rng: Rng, facts: Extract<WorldFacts, { kind: 'attribute' }>): Question {
  const chosen: Colour[] = [facts.colour];
  if (facts.usualColour !== facts.colour) chosen.push(facts.usualColour);
  const rest = rng.shuffle(COLOURS.filter((c) => !chosen.includes(c)));
  while (chosen.length < 4) chosen.push(rest.shift() as Colour);
  const options = rng.shuffle(chosen);
  return {
    question: `what is the colour of the ${facts.shape} ?`,
    options,
    answerIndex: options.indexOf(facts.colour),
  };
}

/** "is the <subject> on the left or right of the <reference> ?" with options left/right in seeded order. */
export function spatialQuestion(rng: Rng, facts: Extract<WorldFacts, { kind: 'spatial' }>): Question {
  const options = rng.shuffle(RELATIONS);
  return {
    question: `is the ${spatialNames(facts).subject} on the left or right of the ${spatialNames(facts).reference} ?`,
    options,
    answerIndex: options.indexOf(facts.relation),
  };
}

/** How a spatial question names its two objects: "triangle", or "red triangle" when colours are named. */
function spatialNames(facts: Extract<WorldFacts, { kind: 'spatial' }>): {
  subject: string;
  reference: string;
} {
  const c = facts.colours;
  return c
    ? { subject: `${c.subject} ${facts.subject}`, reference: `${c.reference} ${facts.reference}` }
    : { subject: facts.subject, reference: facts.reference };
}

/**
 * The prompt text a model reads after its image(s): the question, then the lettered options,
 * e.g. "what is the colour of the star ? options : A red , B blue , C white , D yellow ."
 */
export function formatPrompt(sample: {
  readonly question: string;
  readonly options: readonly string[];
}): string {
  const listed = sample.options.map((o, i) => `${optionLetter(i)} ${o}`).join(' , ');
  return `${sample.question} options : ${listed} .`;
}

/**
 * A short reasoning trajectory that states the evidence, then the answer:
 * "the triangle is red . answer red" or "the star is on the left of the square . answer left".
 * Uses labels: for pre-training the starting models and for defining the answer format.
 */
export function referenceResponse(sample: {
  readonly options: readonly string[];
  readonly answerIndex: number;
  readonly facts: WorldFacts;
}): string {
  const { facts } = sample;
  if (
    !Number.isInteger(sample.answerIndex) ||
    sample.answerIndex < 0 ||
    sample.answerIndex >= sample.options.length
  ) {
    throw new InvalidInputError(
      'answerIndex',
      sample.answerIndex,
      `expected an index into ${sample.options.length} options`,
    );
  }
  const evidence =
    facts.kind === 'attribute'
      ? `the ${facts.shape} is ${facts.colour} .`
      : `the ${spatialNames(facts).subject} is on the ${facts.relation} of the ${spatialNames(facts).reference} .`;
  // The answer names the option's text, not its letter: a small model then needs no skill that
  // V-Zero does not train (mapping a colour to a shuffled letter), and answer extraction
  // (@vzero/bench) accepts option texts as well as letters.
  return `${evidence} answer ${sample.options[sample.answerIndex]}`;
}
