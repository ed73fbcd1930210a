// retrieve_future: held up to retrieveWaitMs, then try_again; failures as {error, category};
// protobuf results when Accept asks (SDK lib/api_future_impl.py; SkyRL api.py retrieve_future).
import { PROTO_CONTENT_TYPE, encodeForwardBackwardOutput, encodeSampleResponse } from '../../protobuf.js';
import { FutureRetrieveRequestSchema, type ForwardBackwardOutput, type SampleResponse } from '../../types.js';
import type { FutureKind } from '../futures-table.js';
import { HttpError, parseJson, sendBytes, sendJson, validate } from '../http.js';
import { API, type Router } from '../router.js';
import { type ServerState } from '../state.js';

const PROTO_RESULT_KINDS = new Set<FutureKind>(['forward', 'forward_backward', 'sample']);

export function retrieveRoutes(router: Router, server: ServerState): void {
  const route = router.route.bind(router);

  route('POST', `${API}/retrieve_future`, async ({ req, res, body }) => {
    const request = validate(FutureRetrieveRequestSchema, parseJson(body));
    const entry = server.futures.get(request.request_id);
    if (entry === undefined) throw new HttpError(404, 'Future not found');
    if (entry === 'expired') throw new HttpError(410, 'Future expired');
    await server.futures.wait(entry, server.closing ? 0 : server.retrieveWaitMs);
    const state = entry.state;
    if (state.status === 'pending') {
      sendJson(res, 200, { type: 'try_again', request_id: entry.id, queue_state: 'active' });
      return;
    }
    if (state.status === 'failed') {
      sendJson(res, 200, { error: state.error, category: state.category });
      return;
    }
    const accept = String(req.headers.accept ?? '').toLowerCase();
    if (PROTO_RESULT_KINDS.has(entry.kind) && accept.includes(PROTO_CONTENT_TYPE)) {
      const bytes =
        entry.kind === 'sample'
          ? encodeSampleResponse(state.value as SampleResponse)
          : encodeForwardBackwardOutput(state.value as ForwardBackwardOutput);
      sendBytes(res, 200, bytes, PROTO_CONTENT_TYPE);
      return;
    }
    sendJson(res, 200, state.value);
  });
}
