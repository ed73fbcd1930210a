// End to end: the client drives the server and the reference backend over loopback, in both
// encodings, through create_model, forward_backward with each loss, optim_step, save and load,
// and sampling; and the cookbook's on-policy distillation loop
// (github.com/thinking-machines-lab/tinker-cookbook tinker_cookbook/distillation/train_on_policy.py
// at 9dfcc3a2cf44432d621a01005073dc6d76a1e87a: sample from the student, the teacher's log-probs
// of the same tokens via compute_logprobs, advantages = -(student - teacher), importance_sampling).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ReferenceBackend,
  ServiceClient,
  TinkerRequestFailedError,
  createTinkerServer,
  modelInputFromTokens,
  tensorData,
  type Datum,
  type ForwardBackwardOutput,
  type TinkerServer,
  type TrainingClient,
  type WireEncoding,
} from '../src/index.js';

const MODEL = 'vzero/bigram-64';
let server: TinkerServer;
const clients: ServiceClient[] = [];

beforeAll(async () => {
  server = await createTinkerServer({ backend: new ReferenceBackend(), retrieveWaitMs: 1_000 });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await server.close();
});

async function connect(encoding: WireEncoding | 'auto' = 'auto'): Promise<ServiceClient> {
  const client = await ServiceClient.create({ baseUrl: server.url, env: {}, encoding });
  clients.push(client);
  return client;
}

function ceDatum(tokens: number[], weights?: number[]): Datum {
  return {
    model_input: modelInputFromTokens(tokens.slice(0, -1)),
    loss_fn_inputs: {
      target_tokens: tensorData(tokens.slice(1), 'int64'),
      weights: tensorData(weights ?? tokens.slice(1).map(() => 1), 'float32'),
    },
  };
}

const loss = (out: ForwardBackwardOutput) => out.metrics['loss:sum']!;

/** One training step, pipelined: both submitted before either result is read. */
async function step(
  training: TrainingClient,
  data: Datum[],
  lossFn: 'cross_entropy' | 'importance_sampling' | 'ppo',
  lr = 0.05,
) {
  const fb = await training.forwardBackward(data, lossFn);
  const opt = await training.optimStep({ learning_rate: lr });
  const out = await fb.result();
  await opt.result();
  return out;
}

describe('training through the server', () => {
  it('auto encoding follows the server: protobuf', async () => {
    expect((await connect()).encoding).toBe('protobuf');
  });

  for (const encoding of ['json', 'protobuf'] as const) {
    it(`cross_entropy loss goes down (${encoding})`, async () => {
      const client = await connect(encoding);
      const training = await client.createLoraTrainingClient(MODEL, { rank: 4, seed: 1 });
      const data = [ceDatum([1, 2, 3, 4, 5], [0, 1, 1, 1]), ceDatum([1, 2, 3, 4, 6], [0, 1, 1, 1])];
      const losses: number[] = [];
      for (let i = 0; i < 8; i++) losses.push(loss(await step(training, data, 'cross_entropy', 0.2)));
      expect(losses[7]!).toBeLessThan(losses[0]! * 0.8);
      for (let i = 1; i < losses.length; i++) expect(losses[i]!).toBeLessThan(losses[i - 1]!);
      // Masked positions (weight 0) add nothing.
      const out = await (await training.forward([data[0]!], 'cross_entropy')).result();
      const lp = out.loss_fn_outputs[0]!.logprobs!.data;
      expect(loss(out)).toBeCloseTo(-(lp[1]! + lp[2]! + lp[3]!), 5);
    });
  }

  it('importance_sampling and ppo raise the log-probs of tokens with positive advantage', async () => {
    const client = await connect();
    for (const lossFn of ['importance_sampling', 'ppo'] as const) {
      const training = await client.createLoraTrainingClient(MODEL, { rank: 4 });
      const sampler = await training.saveWeightsAndGetSamplingClient(`before_${lossFn}`);
      const prompt = [7, 8];
      const sample = await sampler.sample({
        prompt: modelInputFromTokens(prompt),
        numSamples: 4,
        samplingParams: { max_tokens: 4, seed: 3 },
      });
      const data = sample.sequences.map((s, i): Datum => {
        const all = [...prompt, ...s.tokens];
        const n = all.length - 1;
        const advantage = i % 2 === 0 ? 1 : -1;
        return {
          model_input: modelInputFromTokens(all.slice(0, -1)),
          loss_fn_inputs: {
            target_tokens: tensorData(all.slice(1), 'int64'),
            // prompt positions: sampler log-prob 0 and advantage 0 (the cookbook's masking)
            logprobs: tensorData([...Array(prompt.length - 1).fill(0), ...s.logprobs!], 'float32'),
            advantages: tensorData(
              Array.from({ length: n }, (_, t) => (t < prompt.length - 1 ? 0 : advantage)),
              'float32',
            ),
          },
        };
      });
      const first = await step(training, data, lossFn, 0.02);
      // On-policy, the first step's ratio is 1: the IS loss is -sum(A) over sampled tokens.
      expect(loss(first)).toBeCloseTo(
        -data.reduce((a, d) => a + d.loss_fn_inputs.advantages!.data.reduce((x, y) => x + y, 0), 0),
        4,
      );
      const after = await (await training.forward(data, lossFn)).result();
      const gain = (i: number) =>
        after.loss_fn_outputs[i]!.logprobs!.data.reduce((a, v) => a + v, 0) -
        first.loss_fn_outputs[i]!.logprobs!.data.reduce((a, v) => a + v, 0);
      expect(gain(0)).toBeGreaterThan(0);
      expect(gain(1)).toBeLessThan(0);
      expect(loss(after)).toBeLessThan(loss(first));
    }
  });

  it('the same datums give identical results in JSON and in protobuf', async () => {
    const runs: unknown[] = [];
    for (const encoding of ['json', 'protobuf'] as const) {
      const client = await connect(encoding);
      const training = await client.createLoraTrainingClient(MODEL, { rank: 4 });
      const data = [ceDatum([3, 9, 27, 17]), ceDatum([5, 25, 61, 49], [0.3, 0.7, 0.1])];
      const trace: unknown[] = [];
      for (let i = 0; i < 3; i++) trace.push(await step(training, data, 'cross_entropy', 0.1));
      trace.push(await (await training.forward(data, 'cross_entropy')).result());
      const sampler = await training.saveWeightsAndGetSamplingClient('same');
      trace.push(
        await sampler.sample({
          prompt: modelInputFromTokens([3, 9]),
          numSamples: 3,
          samplingParams: { max_tokens: 5, seed: 11 },
          includePromptLogprobs: true,
        }),
      );
      runs.push(trace);
    }
    expect(runs[1]).toEqual(runs[0]);
  });

  it('save_weights, then a new model from that state continues exactly where the first one was', async () => {
    const client = await connect();
    const training = await client.createLoraTrainingClient(MODEL, { rank: 8 });
    const data = [ceDatum([10, 11, 12, 13])];
    await step(training, data, 'cross_entropy');
    const saved = await (await training.saveState('resume_here')).result();
    expect(saved.path).toBe(`tinker://${training.modelId}/weights/resume_here`);
    const resumed = await client.createTrainingClientFromState(saved.path);
    expect(resumed.modelId).not.toBe(training.modelId);
    expect((await resumed.getInfo()).lora_rank).toBe(8);
    const a = await step(training, data, 'cross_entropy');
    const b = await step(resumed, data, 'cross_entropy');
    expect(b).toEqual(a);
    expect(await (await resumed.forward(data, 'cross_entropy')).result()).toEqual(
      await (await training.forward(data, 'cross_entropy')).result(),
    );
  });

  it('sampling: seeded, per-token log-probs, prompt log-probs equal to the forward pass', async () => {
    const client = await connect();
    const training = await client.createLoraTrainingClient(MODEL);
    const sampler = await training.saveWeightsAndGetSamplingClient('s');
    const prompt = modelInputFromTokens([4, 5, 6]);
    const a = await sampler.sample({ prompt, numSamples: 3, samplingParams: { max_tokens: 6, seed: 42 } });
    const b = await sampler.sample({ prompt, numSamples: 3, samplingParams: { max_tokens: 6, seed: 42 } });
    expect(a.sequences).toEqual(b.sequences);
    for (const s of a.sequences) {
      expect(s.tokens).toHaveLength(6);
      expect(s.logprobs).toHaveLength(6);
      expect(s.stop_reason).toBe('length');
    }
    const full = [4, 5, 6, ...a.sequences[0]!.tokens];
    const lp = await sampler.computeLogprobs(modelInputFromTokens(full));
    const fwd = await (await training.forward([ceDatum(full)], 'cross_entropy')).result();
    expect(lp).toEqual([null, ...fwd.loss_fn_outputs[0]!.logprobs!.data]);
    // At temperature 1 the sampled tokens' log-probs are the model's.
    expect(lp.slice(3)).toEqual(a.sequences[0]!.logprobs);
  });

  it('a bad datum comes back as a user failure naming the field', async () => {
    const client = await connect();
    const training = await client.createLoraTrainingClient(MODEL);
    const error = await (
      await training.forwardBackward([ceDatum([1, 2, 300])], 'cross_entropy')
    )
      .result()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TinkerRequestFailedError);
    expect((error as TinkerRequestFailedError).category).toBe('user');
    expect((error as Error).message).toMatch(
      /model_input\.chunks\[0\]\.tokens\[1\] = 2|target_tokens\[1\] = 300/,
    );
  });
});

describe('sessions', () => {
  it('heartbeats keep a session alive past the server session TTL; without them it expires', async () => {
    const short = await createTinkerServer({ backend: new ReferenceBackend(), sessionTtlMs: 600 });
    try {
      const alive = await ServiceClient.create({ baseUrl: short.url, env: {}, heartbeatIntervalMs: 40 });
      const silent = await ServiceClient.create({
        baseUrl: short.url,
        env: {},
        heartbeatIntervalMs: 60_000,
        retry: { maxRetries: 0 },
      });
      await new Promise((r) => setTimeout(r, 1500));
      expect((await alive.createLoraTrainingClient(MODEL)).modelId).toMatch(/^model_/);
      await expect(silent.createLoraTrainingClient(MODEL)).rejects.toMatchObject({
        status: 404,
        detail: 'Session not found',
      });
      alive.close();
      silent.close();
    } finally {
      await short.close();
    }
  });
});

describe('on-policy distillation, as the cookbook drives the API', () => {
  it('the student moves toward the teacher: the reverse KL on its own samples goes down', async () => {
    // A vocabulary of 8, so that a few samples see most of it.
    const small = await createTinkerServer({
      backend: new ReferenceBackend({ models: [{ name: 'tiny', vocabSize: 8 }] }),
    });
    const client = await ServiceClient.create({ baseUrl: small.url, env: {} });
    try {
      // The teacher: a model trained to prefer 1 -> 2 -> 3 -> 4; its sampler gives log-probs.
      const teacherTraining = await client.createLoraTrainingClient('tiny');
      for (let i = 0; i < 15; i++)
        await step(teacherTraining, [ceDatum([1, 2, 3, 4, 1, 2])], 'cross_entropy', 0.2);
      const teacher = await teacherTraining.saveWeightsAndGetSamplingClient('teacher');
      const student = await client.createLoraTrainingClient('tiny');
      const prompt = [1];
      const kls: number[] = [];
      // The student's log-prob of the teacher's continuation, exactly (a forward pass).
      const path = [ceDatum([1, 2, 3, 4])];
      const pathLogprob = async () => -loss(await (await student.forward(path, 'cross_entropy')).result());
      const pathBefore = await pathLogprob();
      for (let it = 0; it < 10; it++) {
        const sampler = await student.saveWeightsAndGetSamplingClient(`student_${it}`);
        const sample = await sampler.sample({
          prompt: modelInputFromTokens(prompt),
          numSamples: 16,
          samplingParams: { max_tokens: 4, seed: 100 + it },
        });
        const data: Datum[] = [];
        let kl = 0;
        let count = 0;
        for (const s of sample.sequences) {
          const all = [...prompt, ...s.tokens];
          const teacherLp = await teacher.computeLogprobs(modelInputFromTokens(all));
          const studentLp = s.logprobs!;
          // reverse KL per token: log p_student - log p_teacher; advantage = -KL (train_on_policy.py)
          const reverse = studentLp.map((lp, t) => lp - teacherLp[t + 1]!);
          kl += reverse.reduce((a, b) => a + b, 0);
          count += reverse.length;
          data.push({
            model_input: modelInputFromTokens(all.slice(0, -1)),
            loss_fn_inputs: {
              target_tokens: tensorData(all.slice(1), 'int64'),
              logprobs: tensorData(studentLp, 'float32'),
              advantages: tensorData(
                reverse.map((r) => -r),
                'float32',
              ),
            },
          });
        }
        kls.push(kl / count);
        await step(student, data, 'importance_sampling', 0.2);
      }
      expect(await pathLogprob()).toBeGreaterThan(pathBefore + 2);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(mean(kls.slice(-3))).toBeLessThan(mean(kls.slice(0, 3)) * 0.7);
    } finally {
      client.close();
      await small.close();
    }
  });
});
