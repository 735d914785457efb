import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isOpenFrontError } from '../../src/errors.js';
import type { CFEvent } from '../../src/runtime/event.js';
import { DEFAULT_TEST_VIEWER_IP, functionOutputJson, normalizeTestEvent } from '../../src/runtime/test-event.js';

/** Written in the style of the aws-samples test objects: a blank first line, `multivalue`, only eventType in context. */
const SAMPLE_STYLE_RESPONSE_EVENT = `
{
    "version": "1.0",
    "context": { "eventType": "viewer-response" },
    "viewer": { "ip": "0.0.0.0" },
    "request": {
        "method": "GET",
        "uri": "/index.html",
        "querystring": {
            "arg": { "value": "one", "multivalue": [ { "value": "one" }, { "value": "two" } ] }
        },
        "headers": {
            "accept": { "value": "text/html", "multivalue": [ { "value": "text/html" }, { "value": "application/xhtml+xml" } ] }
        }
    },
    "response": {
        "statusCode": 200,
        "statusDescription": "OK",
        "headers": { "server": { "value": "Origin" } },
        "cookies": {
            "id": { "value": "aa", "multivalue": [ { "value": "aa" }, { "value": "bb" } ], "attributes": "Expires=Wed, 05 Jan 2024 07:28:00 GMT" }
        }
    }
}`;

function rejects(input: unknown, path: string): void {
  assert.throws(
    () => normalizeTestEvent(input),
    (err: unknown) => {
      assert.ok(isOpenFrontError(err));
      assert.equal(err.code, 'EVENT_INVALID');
      assert.equal(err.details.path, path, err.message);
      assert.ok(err.message.includes(path), err.message);
      return true;
    },
  );
}

describe('normalizeTestEvent', () => {
  it('reads an aws-samples style event: blank first line, multivalue alias, missing cookies', () => {
    const event = normalizeTestEvent(SAMPLE_STYLE_RESPONSE_EVENT);
    assert.deepEqual(event, {
      version: '1.0',
      context: { eventType: 'viewer-response' },
      viewer: { ip: '0.0.0.0' },
      request: {
        method: 'GET',
        uri: '/index.html',
        querystring: { arg: { value: 'one', multiValue: [{ value: 'one' }, { value: 'two' }] } },
        headers: { accept: { value: 'text/html', multiValue: [{ value: 'text/html' }, { value: 'application/xhtml+xml' }] } },
        cookies: {},
      },
      response: {
        statusCode: 200,
        statusDescription: 'OK',
        headers: { server: { value: 'Origin' } },
        cookies: {
          id: { value: 'aa', attributes: 'Expires=Wed, 05 Jan 2024 07:28:00 GMT', multiValue: [{ value: 'aa' }, { value: 'bb' }] },
        },
      },
    } satisfies CFEvent);
  });

  it('fills a minimal event (the docs omit querystring and cookies)', () => {
    const event = normalizeTestEvent({ request: { method: 'GET', uri: '/', headers: { host: { value: 'h' } } } });
    assert.deepEqual(event, {
      version: '1.0',
      context: { eventType: 'viewer-request' },
      viewer: { ip: DEFAULT_TEST_VIEWER_IP },
      request: { method: 'GET', uri: '/', querystring: {}, headers: { host: { value: 'h' } }, cookies: {} },
    });
  });

  it('defaults eventType to viewer-response when a response is present', () => {
    const event = normalizeTestEvent({ request: { method: 'GET', uri: '/' }, response: { statusCode: 404 } });
    assert.equal(event.context.eventType, 'viewer-response');
    assert.deepEqual(event.response, { statusCode: 404, headers: {}, cookies: {} });
  });

  it('keeps the context fields it is given', () => {
    const context = { distributionDomainName: 'd1.cloudfront.net', distributionId: 'E1', eventType: 'viewer-request', requestId: 'r-1' };
    assert.deepEqual(normalizeTestEvent({ context, request: { method: 'GET', uri: '/' } }).context, context);
  });

  it('accepts a complete example event unchanged', () => {
    const example: CFEvent = {
      version: '1.0',
      context: {
        distributionDomainName: 'd111111abcdef8.cloudfront.net',
        distributionId: 'EDFDVBD6EXAMPLE',
        eventType: 'viewer-request',
        requestId: '4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==',
      },
      viewer: { ip: '203.0.113.10' },
      request: {
        method: 'GET',
        uri: '/docs/index.html',
        querystring: { lang: { value: 'en' }, flag: { value: '' } },
        headers: { host: { value: 'www.example.com' }, 'accept-encoding': { value: 'gzip, br' } },
        cookies: { session: { value: 'abc123' } },
      },
    };
    assert.deepEqual(normalizeTestEvent(JSON.stringify(example)), example);
  });

  it('accepts bytes and a byte-order mark', () => {
    const text = '\uFEFF\n\n{"request":{"method":"GET","uri":"/"}}\n';
    assert.equal(normalizeTestEvent(Buffer.from(text, 'utf8')).request.uri, '/');
    assert.equal(normalizeTestEvent(text).request.method, 'GET');
  });

  it('prefers multiValue over multivalue when both are present', () => {
    const event = normalizeTestEvent({
      request: { method: 'GET', uri: '/', headers: { a: { value: '1', multiValue: [{ value: '1' }], multivalue: [{ value: 'x' }] } } },
    });
    assert.deepEqual(event.request.headers.a, { value: '1', multiValue: [{ value: '1' }] });
  });

  it('parses a string querystring and drops what a function never sees', () => {
    const event = normalizeTestEvent({
      context: { eventType: 'viewer-request' },
      request: { method: 'GET', uri: '/', querystring: '?a=1&a=2' },
      response: { statusCode: 200 },
    });
    assert.deepEqual(event.request.querystring, { a: { value: '1', multiValue: [{ value: '1' }, { value: '2' }] } });
    assert.equal(event.response, undefined);
    const withBody = normalizeTestEvent({ request: { method: 'GET', uri: '/' }, response: { statusCode: 200, body: 'secret' } });
    assert.equal(withBody.response?.body, undefined);
  });

  it('names the JSON path of what is wrong', () => {
    rejects('{ not json', 'event');
    rejects('', 'event');
    rejects([], 'event');
    rejects({ version: '2.0', request: { method: 'GET', uri: '/' } }, 'version');
    rejects({ context: { eventType: 'origin-request' }, request: { method: 'GET', uri: '/' } }, 'context.eventType');
    rejects({ viewer: { ip: 1 }, request: { method: 'GET', uri: '/' } }, 'viewer.ip');
    rejects({}, 'request');
    rejects({ request: { uri: '/' } }, 'request.method');
    rejects({ request: { method: 'GET', uri: 'index.html' } }, 'request.uri');
    rejects({ request: { method: 'GET', uri: '/', headers: { Accept: { value: 'x' } } } }, 'request.headers.Accept');
    rejects({ request: { method: 'GET', uri: '/', headers: { accept: 'x' } } }, 'request.headers.accept');
    rejects({ request: { method: 'GET', uri: '/', cookies: { a: { value: 1 } } } }, 'request.cookies.a.value');
    rejects({ request: { method: 'GET', uri: '/', querystring: { a: { value: '1', multivalue: {} } } } }, 'request.querystring.a.multivalue');
    rejects({ request: { method: 'GET', uri: '/', querystring: { a: { value: '1', multivalue: [{}] } } } }, 'request.querystring.a.multivalue[0].value');
    rejects({ context: { eventType: 'viewer-response' }, request: { method: 'GET', uri: '/' } }, 'response');
    rejects({ request: { method: 'GET', uri: '/' }, response: { statusCode: '200' } }, 'response.statusCode');
    rejects(
      { request: { method: 'GET', uri: '/' }, response: { statusCode: 200, cookies: { a: { value: 'x', attributes: 1 } } } },
      'response.cookies.a.attributes',
    );
  });
});

describe('functionOutputJson', () => {
  it('prints a generated response the way TestFunction does, adding cookies: {}', () => {
    const json = functionOutputJson('response', { statusCode: 302, statusDescription: 'Found', headers: { location: { value: 'https://x/' } } });
    assert.equal(json, '{"response":{"headers":{"location":{"value":"https://x/"}},"statusDescription":"Found","cookies":{},"statusCode":302}}');
  });

  it('fills headers and omits an absent statusDescription', () => {
    assert.deepEqual(JSON.parse(functionOutputJson('response', { statusCode: 401 })), { response: { headers: {}, cookies: {}, statusCode: 401 } });
  });

  it('prints a request, turning a string querystring into parameters', () => {
    const json = functionOutputJson('request', { method: 'GET', uri: '/a', querystring: 'b=1&a=2&b=3', headers: {}, cookies: {} });
    assert.deepEqual(JSON.parse(json), {
      request: {
        method: 'GET',
        uri: '/a',
        querystring: { b: { value: '1', multiValue: [{ value: '1' }, { value: '3' }] }, a: { value: '2' } },
        headers: {},
        cookies: {},
      },
    });
  });
});
