import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isOpenFrontError } from '../../src/errors.js';
import type { CFEvent, CFRequest, CFResponse } from '../../src/runtime/event.js';
import { MAX_FUNCTION_BODY_BYTES, validateResult, type ValidationReason } from '../../src/runtime/validate.js';

function requestEvent(): CFEvent {
  return {
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '203.0.113.10' },
    request: {
      method: 'GET',
      uri: '/index.html',
      querystring: { lang: { value: 'en' }, q: { value: 'has space' } },
      headers: {
        host: { value: 'www.example.com' },
        accept: { value: 'text/html', multiValue: [{ value: 'text/html' }, { value: 'application/xml' }] },
        'x-forwarded-proto': { value: 'https' },
      },
      cookies: { session: { value: 'abc' } },
    },
  };
}

function responseEvent(): CFEvent {
  return {
    ...requestEvent(),
    context: { eventType: 'viewer-response' },
    response: {
      statusCode: 200,
      statusDescription: 'OK',
      headers: { 'content-type': { value: 'text/html' }, via: { value: '1.1 origin' } },
      cookies: { id: { value: 'v1', attributes: 'Path=/' } },
    },
  };
}

/** The handler's view: a mutable copy of the event's request/response. */
function editedRequest(event: CFEvent, edit: (r: CFRequest & Record<string, unknown>) => void): unknown {
  const copy = structuredClone(event.request) as CFRequest & Record<string, unknown>;
  edit(copy);
  return copy;
}

function editedResponse(event: CFEvent, edit: (r: CFResponse & Record<string, unknown>) => void): unknown {
  const copy = structuredClone(event.response) as CFResponse & Record<string, unknown>;
  edit(copy);
  return copy;
}

/** Lets a test write what a buggy function could write, whatever the declared type. */
function loose(value: object): Record<string, unknown> {
  return value as Record<string, unknown>;
}

function rejects(returned: unknown, event: CFEvent, reason: ValidationReason, mentions?: string): void {
  assert.throws(
    () => validateResult(returned, event),
    (err: unknown) => {
      assert.ok(isOpenFrontError(err), 'an OpenFrontError');
      assert.equal(err.code, 'FUNCTION_VALIDATION_ERROR');
      assert.equal(err.status, 502);
      assert.equal(err.details.reason, reason, err.message);
      if (mentions !== undefined) assert.ok(err.message.includes(mentions), `"${err.message}" mentions ${mentions}`);
      return true;
    },
  );
}

describe('validateResult: what kind of result', () => {
  it('rejects anything that is not an object', () => {
    for (const value of [undefined, null, 'string', 42, [], true]) rejects(value, requestEvent(), 'not-object');
  });

  it('classifies a viewer-request result by the presence of statusCode', () => {
    const event = requestEvent();
    assert.equal(validateResult(event.request, event).kind, 'request');
    const generated = { statusCode: 302, statusDescription: 'Found', headers: { location: { value: 'https://www.example.com/de/' } } };
    assert.deepEqual(validateResult(generated, event), { kind: 'response', response: generated });
  });

  it('requires a viewer-response function to return a response', () => {
    const event = responseEvent();
    rejects(event.request, event, 'wrong-kind', 'statusCode');
    assert.equal(validateResult(event.response, event).kind, 'response');
  });

  it('returns only the known fields', () => {
    const event = requestEvent();
    const result = validateResult(
      editedRequest(event, (r) => (r.extra = 1)),
      event,
    );
    assert.deepEqual(Object.keys(result.kind === 'request' ? result.request : {}), ['method', 'uri', 'querystring', 'headers', 'cookies']);
  });
});

describe('validateResult: request rules', () => {
  it('treats method as read-only', () => {
    const event = requestEvent();
    rejects(
      editedRequest(event, (r) => (r.method = 'POST')),
      event,
      'method-changed',
      'request.method',
    );
    rejects(
      editedRequest(event, (r) => delete (r as Record<string, unknown>).method),
      event,
      'method-changed',
    );
  });

  it('requires uri to be a string starting with "/"', () => {
    const event = requestEvent();
    rejects(
      editedRequest(event, (r) => (r.uri = 'index.html')),
      event,
      'uri',
      'request.uri',
    );
    rejects(
      editedRequest(event, (r) => ((r as Record<string, unknown>).uri = 5)),
      event,
      'uri',
    );
    assert.equal(
      validateResult(
        editedRequest(event, (r) => (r.uri = '/other')),
        event,
      ).kind,
      'request',
    );
  });

  it('limits uri plus query string to fewer than 8192 characters', () => {
    const event = requestEvent();
    // "?lang=en&q=has space" adds 20 characters.
    const fits = '/' + 'a'.repeat(8191 - 20 - 1);
    assert.equal(
      validateResult(
        editedRequest(event, (r) => (r.uri = fits)),
        event,
      ).kind,
      'request',
    );
    rejects(
      editedRequest(event, (r) => (r.uri = fits + 'a')),
      event,
      'url-too-long',
      '8192',
    );
  });

  it('refuses spaces, control characters and "#" in a querystring string', () => {
    const event = requestEvent();
    rejects(
      editedRequest(event, (r) => (r.querystring = 'a=1 2')),
      event,
      'querystring',
      'a space',
    );
    rejects(
      editedRequest(event, (r) => (r.querystring = 'a=1#x')),
      event,
      'querystring',
      '"#"',
    );
    rejects(
      editedRequest(event, (r) => (r.querystring = 'a=\u0001')),
      event,
      'querystring',
      'U+0001',
    );
  });

  it('accepts a plain string querystring (aws-samples normalize-query-string-parameters)', () => {
    const event = requestEvent();
    const result = validateResult(
      editedRequest(event, (r) => (r.querystring = 'a=1&b=2')),
      event,
    );
    assert.equal(result.kind === 'request' && result.request.querystring, 'a=1&b=2');
  });

  it('checks added or changed parameters but forwards unchanged ones as they are', () => {
    const event = requestEvent();
    // q ("has space") came in with the event and is untouched.
    assert.equal(
      validateResult(
        editedRequest(event, (r) => ((r.querystring as Record<string, { value: string }>).lang.value = 'de')),
        event,
      ).kind,
      'request',
    );
    rejects(
      editedRequest(event, (r) => ((r.querystring as Record<string, { value: string }>).lang.value = 'd e')),
      event,
      'querystring',
      'request.querystring.lang',
    );
    rejects(
      editedRequest(event, (r) => ((r.querystring as Record<string, { value: string }>)['bad#name'] = { value: '1' })),
      event,
      'querystring',
    );
    const multi = requestEvent();
    multi.request.querystring = { a: { value: '1', multiValue: [{ value: '1' }, { value: '2' }] } };
    rejects(
      editedRequest(multi, (r) => ((r.querystring as Record<string, { value: string }>).a.value = 'x y')),
      multi,
      'querystring',
    );
  });

  it('checks the shape of querystring entries', () => {
    const event = requestEvent();
    rejects(
      editedRequest(event, (r) => ((r.querystring as Record<string, unknown>).lang = 'en')),
      event,
      'shape',
      'request.querystring.lang',
    );
    rejects(
      editedRequest(event, (r) => ((r as Record<string, unknown>).querystring = 7)),
      event,
      'shape',
    );
  });
});

describe('validateResult: headers', () => {
  it('requires lowercase, valid names and string values', () => {
    const event = requestEvent();
    rejects(
      editedRequest(event, (r) => (r.headers['X-Custom'] = { value: '1' })),
      event,
      'header-name',
      'lowercase',
    );
    rejects(
      editedRequest(event, (r) => (r.headers['bad header'] = { value: '1' })),
      event,
      'header-name',
    );
    rejects(
      editedRequest(event, (r) => ((r.headers as Record<string, unknown>)['x-n'] = { value: 1 })),
      event,
      'shape',
      'request.headers["x-n"].value',
    );
    rejects(
      editedRequest(event, (r) => (r.headers['x-crlf'] = { value: 'a\r\nInjected: 1' })),
      event,
      'header-value',
    );
    rejects(
      editedRequest(event, (r) => (r.headers.accept.value = 'a\nb')),
      event,
      'header-value',
      'request.headers.accept',
    );
    assert.equal(
      validateResult(
        editedRequest(event, (r) => (r.headers['x-custom'] = { value: '1' })),
        event,
      ).kind,
      'request',
    );
  });

  it('requires multiValue to be an array of {value: string}', () => {
    const event = requestEvent();
    rejects(
      editedRequest(event, (r) => (loose(r.headers.accept).multiValue = 'text/html')),
      event,
      'shape',
      'multiValue',
    );
    rejects(
      editedRequest(event, (r) => (loose(r.headers.accept).multiValue = [{ value: 'a' }, 'b'])),
      event,
      'shape',
      'multiValue[1]',
    );
    const ok = editedRequest(event, (r) => (r.headers.accept.multiValue = [{ value: 'a' }]));
    assert.equal(validateResult(ok, event).kind, 'request');
  });

  it('refuses added disallowed headers, including the x-amz-cf-* and x-edge-* families', () => {
    const event = requestEvent();
    for (const name of ['connection', 'x-real-ip', 'x-amz-cf-id', 'x-amz-cf-pop', 'x-edge-location', 'x-cache']) {
      rejects(
        editedRequest(event, (r) => (r.headers[name] = { value: '1' })),
        event,
        'header-disallowed',
        name,
      );
    }
  });

  it('accepts a disallowed header the event already had, unless it is modified', () => {
    const event = requestEvent();
    assert.equal(validateResult(event.request, event).kind, 'request');
    rejects(
      editedRequest(event, (r) => (r.headers['x-forwarded-proto'].value = 'http')),
      event,
      'header-disallowed',
      'modified',
    );
  });

  it('treats host, content-length, transfer-encoding, via and cdn-loop as read-only in viewer-request', () => {
    const event = requestEvent();
    rejects(
      editedRequest(event, (r) => (r.headers.host.value = 'evil.example')),
      event,
      'header-read-only',
      'host',
    );
    for (const name of ['content-length', 'transfer-encoding', 'via', 'cdn-loop']) {
      rejects(
        editedRequest(event, (r) => (r.headers[name] = { value: '1' })),
        event,
        'header-read-only',
        name,
      );
    }
    // Deleting one is allowed (unconfirmed in CloudFront's docs; see validate.ts).
    assert.equal(
      validateResult(
        editedRequest(event, (r) => delete r.headers.host),
        event,
      ).kind,
      'request',
    );
  });

  it('treats via and warning as read-only in viewer-response, compared with the origin response', () => {
    const event = responseEvent();
    rejects(
      editedResponse(event, (r) => (r.headers!.via.value = '2.0 me')),
      event,
      'header-read-only',
      'via',
    );
    rejects(
      editedResponse(event, (r) => (r.headers!.warning = { value: '110 - stale' })),
      event,
      'header-read-only',
      'warning',
    );
    assert.equal(
      validateResult(
        editedResponse(event, (r) => (r.headers!['cache-control'] = { value: 'no-store' })),
        event,
      ).kind,
      'response',
    );
  });

  it('does not apply read-only rules to a response generated in viewer-request, but still refuses disallowed headers', () => {
    const event = requestEvent();
    assert.equal(validateResult({ statusCode: 200, headers: { via: { value: 'x' } } }, event).kind, 'response');
    rejects({ statusCode: 200, headers: { 'x-edge-foo': { value: 'x' } } }, event, 'header-disallowed');
  });

  it('keeps Cookie and Set-Cookie out of the header maps', () => {
    rejects(
      editedRequest(requestEvent(), (r) => (r.headers.cookie = { value: 'a=1' })),
      requestEvent(),
      'header-name',
      'request.cookies',
    );
    rejects({ statusCode: 200, headers: { 'set-cookie': { value: 'a=1' } } }, requestEvent(), 'header-name', 'response.cookies');
  });
});

describe('validateResult: cookies', () => {
  it('checks request cookie shapes and syntax', () => {
    const event = requestEvent();
    rejects(
      editedRequest(event, (r) => ((r.cookies as Record<string, unknown>).session = 'abc')),
      event,
      'shape',
      'request.cookies.session',
    );
    rejects(
      editedRequest(event, (r) => (r.cookies['bad name'] = { value: '1' })),
      event,
      'cookie',
    );
    rejects(
      editedRequest(event, (r) => (r.cookies.session.value = 'a;b')),
      event,
      'cookie',
    );
    rejects(
      editedRequest(event, (r) => ((r as Record<string, unknown>).cookies = undefined)),
      event,
      'shape',
      'request.cookies',
    );
    assert.equal(
      validateResult(
        editedRequest(event, (r) => (r.cookies.theme = { value: 'dark' })),
        event,
      ).kind,
      'request',
    );
  });

  it('checks response cookies: value, attributes and multiValue entries', () => {
    const event = responseEvent();
    const good = editedResponse(event, (r) => {
      r.cookies!.id = { value: 'v2', attributes: 'Path=/; Secure', multiValue: [{ value: 'v2', attributes: 'Path=/; Secure' }, { value: 'v3' }] };
    });
    assert.equal(validateResult(good, event).kind, 'response');
    rejects(
      editedResponse(event, (r) => (loose(r.cookies!.id).attributes = 5)),
      event,
      'cookie',
      'attributes',
    );
    rejects(
      editedResponse(event, (r) => (loose(r.cookies!.id).multiValue = [{ value: 'a', attributes: true }])),
      event,
      'cookie',
    );
    rejects(
      editedResponse(event, (r) => (r.cookies!.id = { value: 'v', attributes: 'Path=/\r\nX: y' })),
      event,
      'cookie',
    );
    rejects(
      editedResponse(event, (r) => ((r as Record<string, unknown>).cookies = [])),
      event,
      'shape',
      'response.cookies',
    );
  });
});

describe('validateResult: status and body', () => {
  it('requires an integer statusCode from 200 to 599', () => {
    const event = requestEvent();
    for (const statusCode of ['200', 200.5, 99, 100, 199, 600, Number.NaN, null]) rejects({ statusCode }, event, 'status-code', 'statusCode');
    for (const statusCode of [200, 204, 302, 418, 599]) assert.equal(validateResult({ statusCode }, event).kind, 'response');
  });

  it('requires statusDescription to be a string without control characters', () => {
    const event = requestEvent();
    rejects({ statusCode: 200, statusDescription: 200 }, event, 'status-description');
    rejects({ statusCode: 200, statusDescription: 'OK\r\nX: y' }, event, 'status-description');
    assert.equal(validateResult({ statusCode: 200, statusDescription: 'Fine' }, event).kind, 'response');
  });

  it('accepts string, text and valid base64 bodies', () => {
    const event = requestEvent();
    for (const body of ['', 'hello', { data: 'hi', encoding: 'text' }, { data: 'aGk=', encoding: 'base64' }, { data: 'aGk', encoding: 'base64' }]) {
      assert.deepEqual(validateResult({ statusCode: 200, body }, event), { kind: 'response', response: { statusCode: 200, body } });
    }
  });

  it('refuses invalid base64, unknown encodings and other body shapes', () => {
    const event = requestEvent();
    rejects({ statusCode: 200, body: { data: 'not base64!', encoding: 'base64' } }, event, 'body', 'base64');
    rejects({ statusCode: 200, body: { data: 'aGk=a', encoding: 'base64' } }, event, 'body');
    rejects({ statusCode: 200, body: { data: 'x', encoding: 'gzip' } }, event, 'body', 'encoding');
    rejects({ statusCode: 200, body: { data: 5, encoding: 'text' } }, event, 'body', 'data');
    rejects({ statusCode: 200, body: 42 }, event, 'body');
  });

  it('limits a generated or replaced body to 40 KB (decoded)', () => {
    const event = responseEvent();
    assert.equal(validateResult({ statusCode: 200, body: 'x'.repeat(MAX_FUNCTION_BODY_BYTES) }, event).kind, 'response');
    rejects({ statusCode: 200, body: 'x'.repeat(MAX_FUNCTION_BODY_BYTES + 1) }, event, 'body-too-large', `${MAX_FUNCTION_BODY_BYTES}`);
    const base64 = Buffer.alloc(MAX_FUNCTION_BODY_BYTES + 1).toString('base64');
    rejects({ statusCode: 200, body: { data: base64, encoding: 'base64' } }, event, 'body-too-large');
    // Multi-byte characters count as bytes.
    rejects({ statusCode: 200, body: 'é'.repeat(MAX_FUNCTION_BODY_BYTES / 2 + 1) }, event, 'body-too-large');
  });
});
