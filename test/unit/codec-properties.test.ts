/**
 * Property-based tests (fast-check) of the event codec: HTTP ⇄ event round trips and the write-back rules, over
 * generated requests and responses rather than hand-picked ones (issue 12).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  parseQueryString,
  requestFromEvent,
  requestToEvent,
  responseFromEvent,
  responseToEvent,
  serializeQueryString,
  textToWire,
  wireToText,
  type HttpRequestParts,
  type HttpResponseParts,
} from '../../src/runtime/codec.js';
import type { CFContext, CFRequest, CFResponse } from '../../src/runtime/event.js';
import { isDisallowedHeader } from '../../src/runtime/headers.js';

const context: CFContext = { distributionDomainName: 'd.example', distributionId: 'EDIST', eventType: 'viewer-request', requestId: 'req' };

const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split('');
const token = fc.array(fc.constantFrom(...TOKEN_CHARS), { minLength: 1, maxLength: 12 }).map((cs) => cs.join(''));
/** A header value as node:http hands it over: one char per byte, no CR/LF/NUL, no leading/trailing blanks. */
const wireValue = fc
  .array(
    fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f),
    { maxLength: 24 },
  )
  .map((codes) => String.fromCharCode(...codes).trim());
const pathChars = fc.constantFrom(..."abcxyz0123456789-._~!$&'()*+,;=:@/%".split(''));
const path = fc.array(pathChars, { maxLength: 20 }).map((cs) => `/${cs.join('')}`);
const queryPart = fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/), fc.stringMatching(/^[A-Za-z0-9%._~-]{0,8}$/));
/** Distinct names, each `name=value`: the form whose serialisation is exactly the input. */
const query = fc.uniqueArray(queryPart, { selector: ([name]) => name, maxLength: 5 }).map((parts) => parts.map(([n, v]) => `${n}=${v}`).join('&'));
const headerLine = fc.tuple(token, wireValue).filter(([name]) => name.toLowerCase() !== 'cookie');

const viewerRequest: fc.Arbitrary<HttpRequestParts> = fc.record({
  method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
  target: fc.tuple(path, fc.option(query, { nil: undefined })).map(([p, q]) => (q === undefined ? p : `${p}?${q}`)),
  headers: fc.array(headerLine, { maxLength: 8 }).map((lines) => [['Host', 'example.com'] as [string, string], ...lines]),
  clientIp: fc.constantFrom('203.0.113.9', '2001:db8::1'),
});

const originResponse: fc.Arbitrary<HttpResponseParts> = fc.record({
  status: fc.integer({ min: 200, max: 599 }),
  statusText: fc.constantFrom('OK', 'Not Found', 'Whatever'),
  headers: fc.array(
    headerLine.filter(([name]) => name.toLowerCase() !== 'set-cookie'),
    { maxLength: 8 },
  ),
});

function forwardable(headers: Array<[string, string]>): Array<[string, string]> {
  return headers.filter(([name]) => !isDisallowedHeader(name.toLowerCase()));
}

describe('event codec properties', () => {
  it('a request the function returns unchanged is forwarded byte-identical (target and every allowed header line)', () => {
    fc.assert(
      fc.property(viewerRequest, (req) => {
        const event = requestToEvent(req, context);
        const out = requestFromEvent(req, event.request, structuredClone(event.request));
        assert.equal(out.target, req.target);
        assert.deepEqual(out.headers, forwardable(req.headers));
      }),
    );
  });

  it('an added header is appended once, and every original line is kept as it was', () => {
    fc.assert(
      fc.property(viewerRequest, token, wireValue, (req, rawName, value) => {
        const name = `x-added-${rawName.toLowerCase()}`;
        const event = requestToEvent(req, context);
        const after: CFRequest = structuredClone(event.request);
        after.headers[name] = { value: wireToText(value) };
        const out = requestFromEvent(req, event.request, after);
        assert.deepEqual(out.headers.slice(0, -1), forwardable(req.headers));
        const last = out.headers.at(-1) as [string, string];
        assert.equal(last[0].toLowerCase(), name);
        assert.equal(last[1], textToWire(wireToText(value)));
      }),
    );
  });

  it('a viewer-response function that changes nothing leaves status and headers as the origin sent them', () => {
    fc.assert(
      fc.property(viewerRequest, originResponse, (req, res) => {
        const event = responseToEvent(req, res, { ...context, eventType: 'viewer-response' });
        const before = event.response as CFResponse;
        const out = responseFromEvent(structuredClone(before), { res, before });
        assert.equal(out.status, res.status);
        assert.deepEqual(forwardable(out.headers), forwardable(res.headers));
        assert.equal(out.body, undefined, 'the origin body is kept');
      }),
    );
  });

  it('every header of the event has a lowercase name and the text of its wire value', () => {
    fc.assert(
      fc.property(viewerRequest, (req) => {
        const headers = requestToEvent(req, context).request.headers;
        for (const [name, entry] of Object.entries(headers)) {
          assert.equal(name, name.toLowerCase());
          const wire = req.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => wireToText(v));
          assert.deepEqual([entry.value, ...(entry.multiValue ?? []).slice(1).map((m) => m.value)], wire);
        }
      }),
    );
  });

  it('query strings of distinct name=value pairs survive parse → serialize', () => {
    fc.assert(fc.property(query, (q) => assert.equal(serializeQueryString(parseQueryString(q)), q)));
  });

  it('text → wire → text is the identity for any well-formed string', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (text) => assert.equal(wireToText(textToWire(text)), text)));
  });

  it('never throws on arbitrary bytes in the target, header names and values', () => {
    const bytes = fc.array(fc.integer({ min: 0, max: 0xff }), { maxLength: 30 }).map((cs) => String.fromCharCode(...cs));
    fc.assert(
      fc.property(bytes, fc.array(fc.tuple(bytes, bytes), { maxLength: 6 }), (target, headers) => {
        const req = { method: 'GET', target: `/${target}`, headers, clientIp: '203.0.113.9' };
        const event = requestToEvent(req, context);
        requestFromEvent(req, event.request, structuredClone(event.request));
      }),
    );
  });
});
