// A teacher made of the student's own weights (the set-up of Vision-OPD; the reference code
// carries it as a disabled teacher-EMA option): a frozen copy of the starting student, or an
// exponential moving average of the student's weights as it trains. It reads the evidence the
// student does not get: the positive crop (and, for the gate, the negative view).
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError } from '@vzero/core';
import type { VisionLanguageModel } from '@vzero/model';
import { loadPolicy, type LoadedPolicy } from './models.js';

export type SelfTeacherMode = 'frozen' | 'ema';

export class SelfTeacher {
  private constructor(
    readonly loaded: LoadedPolicy,
    readonly mode: SelfTeacherMode,
    /** EMA rate r: teacher <- r * teacher + (1 - r) * student after every update. */
    readonly rate: number,
  ) {}

  /** A second copy of the student's starting checkpoint, used as the teacher. */
  static async load(studentDir: string, mode: SelfTeacherMode, rate: number): Promise<SelfTeacher> {
    if (!(rate > 0 && rate < 1)) {
      throw new InvalidInputError('models.selfTeacherEma', rate, 'expected a rate in (0, 1)');
    }
    return new SelfTeacher(await loadPolicy(studentDir, 'models.student', 'self-teacher'), mode, rate);
  }

  get policy() {
    return this.loaded.policy;
  }

  get model(): VisionLanguageModel {
    return this.loaded.model;
  }

  /** After an optimizer step: the EMA moves towards the student; a frozen copy stays. */
  update(student: VisionLanguageModel): void {
    if (this.mode === 'frozen') return;
    const own = new Map(student.getWeights().map((w) => [w.name, w.tensor]));
    const r = this.rate;
    for (const { name, tensor } of this.model.getWeights()) {
      const s = own.get(name);
      if (!s) throw new InvalidInputError('student', name, 'the student lacks a weight of the self-teacher');
      tf.tidy(() => (tensor as tf.Variable).assign(tf.add(tf.mul(tensor, r), tf.mul(s, 1 - r))));
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}
