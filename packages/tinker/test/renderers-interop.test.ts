// A ModelInput built by @vzero/renderers (which shares these wire names without importing this
// package) is accepted as it is: by the type, by the schema, by both encodings and by the server.
// The image is a real PNG, encoded here (signature, IHDR, deflated IDAT, IEND with their CRCs).
import { ModelInputBuilder, imageChunk } from '@vzero/renderers';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  ModelInputSchema,
  ReferenceBackend,
  ServiceClient,
  createTinkerServer,
  decodeForwardBackwardRequest,
  encodeForwardBackwardRequest,
  modelInputLength,
  parseWire,
  tensorData,
  type Datum,
  type ModelInput,
  type TinkerServer,
} from '../src/index.js';

/** An RGB PNG of one colour. */
function png(width: number, height: number, rgb: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, no interlace
  const row = Buffer.from([0, ...Array.from({ length: width }, () => rgb).flat()]);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(pixels)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

let server: TinkerServer;
beforeAll(async () => {
  server = await createTinkerServer({ backend: new ReferenceBackend() });
});
afterAll(async () => server.close());

it('renderers ModelInput through the schema, protobuf, JSON and the server', async () => {
  const image = png(8, 8, [200, 10, 10]);
  const rendered = new ModelInputBuilder()
    .text([1, 2])
    .image(imageChunk(image, 'png', 4))
    .text([3])
    .build();
  const input: ModelInput = rendered; // assignable as a type
  expect(parseWire(ModelInputSchema, rendered, 'model_input')).toEqual(rendered);
  const n = modelInputLength(input);
  expect(n).toBe(7);
  const datum: Datum = {
    model_input: input,
    loss_fn_inputs: {
      target_tokens: tensorData([2, 9, 9, 9, 9, 3, 4], 'int64'),
      weights: tensorData([1, 0, 0, 0, 0, 1, 1], 'float32'),
    },
  };
  const request = {
    model_id: 'm',
    seq_id: 1,
    forward_backward_input: { data: [datum], loss_fn: 'cross_entropy' as const, loss_fn_config: null },
  };
  const back = decodeForwardBackwardRequest(encodeForwardBackwardRequest(request)).request;
  expect(
    Buffer.from(
      (back.forward_backward_input.data[0]!.model_input.chunks[1] as { data: string }).data,
      'base64',
    ),
  ).toEqual(image);

  const results = [];
  for (const encoding of ['json', 'protobuf'] as const) {
    const client = await ServiceClient.create({ baseUrl: server.url, env: {}, encoding });
    const training = await client.createLoraTrainingClient('vzero/bigram-64', { rank: 2 });
    results.push(await (await training.forward([datum], 'cross_entropy')).result());
    client.close();
  }
  expect(results[1]).toEqual(results[0]);
  expect(results[0]!.loss_fn_outputs[0]!.logprobs!.data).toHaveLength(7);
});
