/** Events the unit tests hand to functions directly. */
import type { CFEvent } from '../../src/index.js';

/** A minimal viewer-request event for `uri` on host example.com (a viewer-response one also has a 200 response). */
export function testEvent(uri = '/', eventType: 'viewer-request' | 'viewer-response' = 'viewer-request'): CFEvent {
  const event: CFEvent = {
    version: '1.0',
    context: { eventType },
    viewer: { ip: '203.0.113.1' },
    request: { method: 'GET', uri, querystring: {}, headers: { host: { value: 'example.com' } }, cookies: {} },
  };
  if (eventType === 'viewer-response') event.response = { statusCode: 200, statusDescription: 'OK', headers: {}, cookies: {} };
  return event;
}
