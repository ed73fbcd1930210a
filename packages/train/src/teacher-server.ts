// The remote teacher of models.teacherUrl: an OpenAI-compatible server (or replicas of one)
// through @vzero/remote, with errors that name the train config's keys.
import { InvalidInputError, type Policy } from '@vzero/core';
import { RemoteError, RemotePolicy } from '@vzero/remote';
import type { TrainConfig } from './config.js';

/**
 * The remote teacher through @vzero/remote: one server or several replicas of it (requests
 * spread by least outstanding requests, a failing replica's requests retried on the others),
 * the API key from $VZERO_API_KEY, retries with backoff. Errors name the config keys.
 */
export async function connectTeacher(config: TrainConfig, log: (line: string) => void): Promise<Policy> {
  const setting = config.models.teacherUrl as string | readonly string[];
  const urls = typeof setting === 'string' ? [setting] : setting;
  const model = config.models.teacherModel;
  try {
    return await RemotePolicy.connect({
      baseUrl: urls.length === 1 ? (urls[0] as string) : urls,
      ...(model !== undefined ? { model } : {}),
      name: 'teacher',
      logger: (line) => log(`teacher: ${line}`),
    });
  } catch (error) {
    if (error instanceof RemoteError) {
      throw new InvalidInputError('models.teacherUrl', setting, `cannot reach the server (${error.message})`);
    }
    if (error instanceof InvalidInputError && error.field.startsWith('options.')) {
      // The options' names mean nothing to someone who wrote a train config: name its keys.
      const key = error.field
        .replace(/^options\.baseUrl/, 'models.teacherUrl')
        .replace(/^options\.model$/, 'models.teacherModel');
      const prefix = new InvalidInputError(error.field, error.value, '').message;
      const reason = error.message.slice(prefix.length);
      throw new InvalidInputError(key, error.value, reason);
    }
    throw error;
  }
}
