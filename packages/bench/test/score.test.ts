import { describe, expect, it } from 'vitest';
import { InvalidInputError, ShapeMismatchError } from '@vzero/core';
import { scorePredictions, wilsonInterval } from '../src/index.js';
import { question, rotated } from './samples.js';

const COLOURS = ['red', 'green', 'blue', 'yellow'];

describe('scorePredictions with one response per question', () => {
  it('counts correct, wrong and unanswered per category and overall', () => {
    const samples = [
      question('a', COLOURS, 0, { category: 'attribute' }),
      question('b', COLOURS, 1, { category: 'attribute' }),
      question('c', COLOURS, 2, { category: 'spatial' }),
      question('d', COLOURS, 3, { category: 'spatial' }),
      question('e', COLOURS, 0, { category: 'spatial' }),
    ];
    const s = scorePredictions(samples, ['A', 'the answer is (c)', 'blue', 'no idea', 'green']);
    expect(s.predictions.map((p) => p.predicted)).toEqual(['A', 'C', 'C', null, 'B']);
    expect(s.predictions.map((p) => p.score)).toEqual([1, 0, 1, 0, 0]);
    expect(s.overall).toEqual({
      questions: 5,
      correct: 2,
      wrong: 2,
      unanswered: 1,
      accuracy: 0.4,
      ci95: wilsonInterval(2, 5),
    });
    expect(Object.keys(s.categories)).toEqual(['attribute', 'spatial']);
    expect(s.categories.attribute).toMatchObject({
      questions: 2,
      correct: 1,
      wrong: 1,
      unanswered: 0,
      accuracy: 0.5,
    });
    expect(s.categories.spatial).toMatchObject({ questions: 3, correct: 1, wrong: 1, unanswered: 1 });
    expect(s.categories.spatial!.accuracy).toBeCloseTo(1 / 3, 12);
    expect(s.cyclic).toBeUndefined();
    expect(s.strict).toBeUndefined();
    expect(s.predictions[1]!.extracted).toEqual([{ letter: 'C', rule: 'answer-phrase' }]);
  });

  it('rejects inputs that do not line up, naming the field', () => {
    const a = question('a', COLOURS, 0);
    expect(() => scorePredictions([a], [])).toThrow(ShapeMismatchError);
    expect(() => scorePredictions([a, a], ['A', 'A'])).toThrow(/samples\[1\]\.id/);
    expect(() => scorePredictions([{ ...a, answer: 'B' }], ['A'])).toThrow(/samples\[0\]\.answer = "B"/);
    expect(() => scorePredictions([{ ...a, answerIndex: 4 }], ['A'])).toThrow(InvalidInputError);
    expect(() => scorePredictions([a], [[]])).toThrow(/responses\[0\]/);
    expect(() => scorePredictions([a, question('b', COLOURS, 1)], [['A'], ['A', 'B']])).toThrow(
      /responses\[1\]/,
    );
    expect(() => scorePredictions([a], ['A'], { aggregate: 'best' as 'mean' })).toThrow(/options\.aggregate/);
  });
});

describe('scorePredictions with sampled responses', () => {
  const samples = [question('s1', COLOURS, 0), question('s2', COLOURS, 1), question('s3', COLOURS, 0)];
  const responses = [
    ['A', 'B', 'A'],
    ['C', 'nothing here', 'C'],
    ['x', 'y', 'z'],
  ];

  it('scores the majority vote; a question with no answered response is unanswered', () => {
    const s = scorePredictions(samples, responses, { aggregate: 'majority' });
    expect(s.samplesPerQuestion).toBe(3);
    expect(s.predictions.map((p) => p.predicted)).toEqual(['A', 'C', null]);
    expect(s.overall).toMatchObject({ questions: 3, correct: 1, wrong: 1, unanswered: 1 });
    // Ties go to the option that reached the count first.
    expect(scorePredictions([samples[0]!], [['B', 'A', 'A', 'B']]).predictions[0]!.predicted).toBe('A');
    expect(scorePredictions([samples[0]!], [['B', 'A']]).predictions[0]!.predicted).toBe('B');
  });

  it('scores the mean accuracy over responses, with fractional counts that still add up', () => {
    const s = scorePredictions(samples, responses, { aggregate: 'mean' });
    expect(s.predictions.map((p) => p.score)).toEqual([2 / 3, 0, 0]);
    expect(s.predictions.map((p) => p.unanswered)).toEqual([0, 1 / 3, 1]);
    expect(s.overall.correct).toBeCloseTo(2 / 3, 12);
    expect(s.overall.unanswered).toBeCloseTo(4 / 3, 12);
    expect(s.overall.wrong).toBeCloseTo(1, 12);
    expect(s.overall.accuracy).toBeCloseTo(2 / 9, 12);
  });
});

describe('scorePredictions with cyclic option orders (HR-Bench)', () => {
  // Three questions, each asked in two option orders (cycle0 = original, cycle1 = rotated by 1).
  const q = [
    { id: 'q1', answer: 0, category: 'single' }, // red
    { id: 'q2', answer: 1, category: 'single' }, // green
    { id: 'q3', answer: 2, category: 'cross' }, // blue
  ];
  const samples = [0, 1].flatMap((shift) =>
    q.map((x) => rotated(x.id, COLOURS, x.answer, shift, x.category)),
  );
  // cycle0: q1 "A" right, q2 "B" right, q3 "(c)" right.
  // cycle1 (options green, blue, yellow, red): q1 "the answer is red" right (D), q2 no answer,
  // q3 "yellow" wrong (C; blue is B).
  const responses = ['A', 'B', '(c)', 'the answer is red', 'I cannot tell', 'yellow'];

  it('moves the answer letter with the rotation', () => {
    expect(samples.map((s) => `${s.id}:${s.answer}`)).toEqual([
      'q1-c0:A',
      'q2-c0:B',
      'q3-c0:C',
      'q1-c1:D',
      'q2-c1:A',
      'q3-c1:B',
    ]);
  });

  it('reports accuracy per cycle and their mean over cycles (HR-Bench convention)', () => {
    const s = scorePredictions(samples, responses);
    expect(s.overall).toMatchObject({ questions: 6, correct: 4, wrong: 1, unanswered: 1 });
    const cy = s.cyclic!;
    expect(cy.cycles).toEqual(['cycle0', 'cycle1']);
    expect(cy.perCycle.cycle0!.overall.accuracy).toBe(1);
    expect(cy.perCycle.cycle1!.overall.accuracy).toBeCloseTo(1 / 3, 12);
    expect(cy.perCycle.cycle1!.categories.single).toMatchObject({
      questions: 2,
      correct: 1,
      unanswered: 1,
      wrong: 0,
    });
    expect(cy.averaged.overall.accuracy).toBeCloseTo((1 + 1 / 3) / 2, 12);
    expect(cy.averaged.overall.questions).toBe(3);
    expect(cy.averaged.overall.cycles).toBe(2);
    expect(cy.averaged.overall.ci95.lo).toBeCloseTo(wilsonInterval(2, 3).lo, 12);
    expect(cy.averaged.categories.single!.accuracy).toBeCloseTo(0.75, 12);
    expect(cy.averaged.categories.cross!.accuracy).toBeCloseTo(0.5, 12);
  });

  it('counts a question as correct in the strict circular rule only when every order is right', () => {
    const s = scorePredictions(samples, responses);
    expect(s.strict!.overall).toMatchObject({ questions: 3, correct: 1, wrong: 2, unanswered: 0 });
    expect(s.strict!.categories.single).toMatchObject({ questions: 2, correct: 1, wrong: 1 });
    expect(s.strict!.categories.cross).toMatchObject({ questions: 1, correct: 0, wrong: 1 });
    // All orders unanswered: unanswered, not wrong.
    const none = scorePredictions(
      samples,
      responses.map(() => '?'),
    );
    expect(none.strict!.overall).toMatchObject({ questions: 3, correct: 0, wrong: 0, unanswered: 3 });
  });

  it('rejects a group whose rows disagree on the category', () => {
    const bad = [...samples.slice(0, 5), { ...samples[5]!, category: 'single' }];
    expect(() => scorePredictions(bad, responses)).toThrow(/category/);
  });
});

describe('category names from the data', () => {
  it('"__proto__", "constructor" and "toString" are categories like any other', () => {
    const s = [
      question('p1', ['a', 'b'], 0, { category: '__proto__' }),
      question('p2', ['a', 'b'], 1, { category: 'constructor' }),
      question('p3', ['a', 'b'], 0, { category: 'toString' }),
    ];
    const summary = scorePredictions(s, ['A', 'A', 'A']);
    expect(Object.keys(summary.categories).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect(summary.categories['__proto__']?.correct).toBe(1);
    expect(summary.categories['constructor']?.correct).toBe(0);
    expect(Object.getPrototypeOf(summary.categories)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['questions']).toBeUndefined();
  });
});
