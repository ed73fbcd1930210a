// Service routes: health, client config, capabilities, sessions and heartbeats, telemetry
// (SDK resources/service.py, types/client_config_*.py, create_session_*.py, session_heartbeat_*.py;
// SkyRL api.py).
import {
  ClientConfigRequestSchema,
  CreateSessionRequestSchema,
  SessionHeartbeatRequestSchema,
} from '../../types.js';
import { parseJson, sendJson, validate } from '../http.js';
import { API, type Router } from '../router.js';
import { randomId, type ServerState } from '../state.js';

export function serviceRoutes(router: Router, server: ServerState): void {
  const route = router.route.bind(router);
  route('GET', `${API}/healthz`, ({ res }) => sendJson(res, 200, { status: 'ok' }));

  route('POST', `${API}/client/config`, ({ res, body }) => {
    validate(ClientConfigRequestSchema, parseJson(body));
    sendJson(res, 200, {
      pjwt_auth_enabled: false,
      credential_default_source: 'api_key',
      parallel_fwdbwd_chunks: false,
      proto_write_fwdbwd: server.protobuf,
      fwd_via_fwdbwd: server.protobuf,
      proto_compress_fwdbwd: false,
      fwdbwd_max_chunk_len: server.options.fwdbwdMaxChunkLen ?? 1024,
      sample_no_retries: false,
      create_model_via_load_weights: false,
    });
  });

  // client_dynamic_config_response.py: the flags a live SDK client refreshes; none apply here.
  route('POST', `${API}/client/dynamic_config`, ({ res }) =>
    sendJson(res, 200, { refresh_interval_sec: 300 }),
  );

  route('GET', `${API}/get_server_capabilities`, ({ res }) =>
    sendJson(res, 200, { supported_models: server.backend.supportedModels() }),
  );

  route('POST', `${API}/create_session`, ({ res, body }) => {
    const request = validate(CreateSessionRequestSchema, parseJson(body));
    const id = randomId('session', server.sessions);
    server.sessions.set(id, { lastSeen: Date.now(), sdkVersion: request.sdk_version });
    sendJson(res, 200, { type: 'create_session', session_id: id });
  });

  route('POST', `${API}/session_heartbeat`, ({ res, body }) => {
    const request = validate(SessionHeartbeatRequestSchema, parseJson(body));
    server.liveSession(request.session_id).lastSeen = Date.now();
    sendJson(res, 200, { type: 'session_heartbeat' });
  });

  route('POST', `${API}/telemetry`, ({ res }) => sendJson(res, 200, { status: 'accepted' }));
}
