import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  capitalizeHeaderName,
  parseQueryString,
  rawQueryString,
  requestFromEvent,
  requestToEvent,
  responseFromEvent,
  responseToEvent,
  type HttpRequestParts,
  type HttpResponseParts,
} from '../../src/runtime/codec.js';
import type { CFContext, CFEvent, CFRequest, CFResponse } from '../../src/runtime/event.js';

const context: CFContext = {
  distributionDomainName: 'd111111abcdef8.cloudfront.net',
  distributionId: 'EDFDVBD6EXAMPLE',
  eventType: 'viewer-request',
  requestId: '4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==',
};

function req(target: string, headers: Array<[string, string]> = [], clientIp = '203.0.113.10'): HttpRequestParts {
  return { method: 'GET', target, headers, clientIp };
}

/** What the engine does around a handler: the handler mutates a copy, `before` stays as the event had it. */
function runRequest(original: HttpRequestParts, mutate: (request: CFRequest) => void) {
  const event = requestToEvent(original, context);
  const before = structuredClone(event.request);
  const after = structuredClone(event.request);
  mutate(after);
  return requestFromEvent(original, before, after);
}

function runResponse(original: HttpRequestParts, res: HttpResponseParts, mutate: (response: CFResponse) => void) {
  const event = responseToEvent(original, res, context);
  const before = structuredClone(event.response as CFResponse);
  const after = structuredClone(event.response as CFResponse);
  mutate(after);
  return responseFromEvent(after, { res, before });
}

describe('requestToEvent', () => {
  it('builds a complete viewer-request example', () => {
    const event = requestToEvent(
      req('/docs/index.html?lang=en&flag', [
        ['Host', 'www.example.com'],
        ['Accept-Encoding', 'gzip, br'],
        ['Cookie', 'session=abc123'],
      ]),
      context,
    );
    const expected: CFEvent = {
      version: '1.0',
      context,
      viewer: { ip: '203.0.113.10' },
      request: {
        method: 'GET',
        uri: '/docs/index.html',
        querystring: { lang: { value: 'en' }, flag: { value: '' } },
        headers: { host: { value: 'www.example.com' }, 'accept-encoding': { value: 'gzip, br' } },
        cookies: { session: { value: 'abc123' } },
      },
    };
    assert.deepEqual(event, expected);
  });

  it('turns three Accept lines into value + multiValue', () => {
    const event = requestToEvent(
      req('/', [
        ['Accept', 'application/json'],
        ['accept', 'application/xml'],
        ['ACCEPT', 'text/html'],
      ]),
      context,
    );
    assert.deepEqual(event.request.headers.accept, {
      value: 'application/json',
      multiValue: [{ value: 'application/json' }, { value: 'application/xml' }, { value: 'text/html' }],
    });
  });

  it('keeps a single comma-separated header as one plain value', () => {
    const event = requestToEvent(req('/', [['Accept', 'a, b, c']]), context);
    assert.deepEqual(event.request.headers.accept, { value: 'a, b, c' });
  });

  it('explodes Cookie lines into cookies, repeats into multiValue, and never shows Cookie as a header', () => {
    const event = requestToEvent(
      req('/', [
        ['Cookie', 'id=1; theme=dark'],
        ['X-Other', 'x'],
        ['cookie', 'id=2;lang=en=US; flag'],
      ]),
      context,
    );
    assert.equal(event.request.headers.cookie, undefined);
    assert.deepEqual(event.request.cookies, {
      id: { value: '1', multiValue: [{ value: '1' }, { value: '2' }] },
      theme: { value: 'dark' },
      lang: { value: 'en=US' },
      flag: { value: '' },
    });
  });

  it('parses the query string: repeats, bare names, "=" inside values, empty segments', () => {
    const event = requestToEvent(req('/p?a=1&b&a=2&&c=&d=x=y&a=3'), context);
    assert.deepEqual(event.request.querystring, {
      a: { value: '1', multiValue: [{ value: '1' }, { value: '2' }, { value: '3' }] },
      b: { value: '' },
      c: { value: '' },
      d: { value: 'x=y' },
    });
  });

  it('hands query values and the uri over as received, without percent-decoding', () => {
    const event = requestToEvent(req('/a%20b/%E5%AE%B6?q=%E5%AE%B6&s=a+b&e=%2F'), context);
    assert.equal(event.request.uri, '/a%20b/%E5%AE%B6');
    assert.deepEqual(event.request.querystring, { q: { value: '%E5%AE%B6' }, s: { value: 'a+b' }, e: { value: '%2F' } });
  });

  it('reads raw non-ASCII bytes as UTF-8 when valid, as ISO-8859-1 otherwise', () => {
    const utf8Wire = Buffer.from('café', 'utf8').toString('latin1');
    const latin1Wire = Buffer.from([0x63, 0x61, 0x66, 0xe9]).toString('latin1');
    const event = requestToEvent(req(`/${utf8Wire}?x=${latin1Wire}`, [['X-Name', utf8Wire]]), context);
    assert.equal(event.request.uri, '/café');
    assert.deepEqual(event.request.querystring, { x: { value: 'café' } });
    assert.equal(event.request.headers['x-name'].value, 'café');
  });

  it('hides disallowed headers, including the X-Amz-Cf-* and X-Edge-* families', () => {
    const event = requestToEvent(
      req('/', [
        ['Host', 'h'],
        ['Connection', 'keep-alive'],
        ['X-Amz-Cf-Id', 'abc'],
        ['X-Edge-Origin', 'o'],
        ['X-Forwarded-Proto', 'https'],
        ['X-Real-IP', '1.1.1.1'],
        ['Upgrade', 'h2c'],
      ]),
      context,
    );
    assert.deepEqual(Object.keys(event.request.headers), ['host']);
  });

  it('forces the event type, strips absolute-form targets and IPv4-mapped addresses', () => {
    const event = requestToEvent(req('http://www.example.com/x?y=1', [], '::ffff:192.0.2.7'), { ...context, eventType: 'viewer-response' });
    assert.equal(event.context.eventType, 'viewer-request');
    assert.equal(event.request.uri, '/x');
    assert.deepEqual(event.request.querystring, { y: { value: '1' } });
    assert.equal(event.viewer.ip, '192.0.2.7');
    assert.equal(requestToEvent(req('/', [], '2001:db8::1'), context).viewer.ip, '2001:db8::1');
  });

  it('parses a literal __proto__ parameter as data', () => {
    const map = parseQueryString('__proto__=x&a=1');
    assert.deepEqual(Object.keys(map), ['__proto__', 'a']);
    assert.equal(Object.getPrototypeOf(map), Object.prototype);
  });
});

describe('rawQueryString', () => {
  it('distinguishes no "?", a bare "?" and a query', () => {
    assert.equal(rawQueryString('/page'), undefined);
    assert.equal(rawQueryString('/page?'), '');
    assert.equal(rawQueryString('/page?name=John&age=25'), 'name=John&age=25');
    assert.equal(rawQueryString('/page?a=?b'), 'a=?b');
  });
});

describe('responseToEvent', () => {
  const response: HttpResponseParts = {
    status: 200,
    statusText: 'OK',
    headers: [
      ['Content-Type', 'text/html'],
      ['Set-Cookie', 'id=v1; Path=/; Secure'],
      ['Set-Cookie', 'loggedIn=true;   Secure; Path=/; Domain=example.com; Expires=Wed, 05 Apr 2021 07:28:00 GMT'],
      ['set-cookie', 'id=v2; Path=/app'],
      ['Set-Cookie', 'plain=1'],
      ['X-Cache', 'Miss from cloudfront'],
    ],
  };

  it('explodes Set-Cookie with attributes verbatim and repeats into multiValue', () => {
    const event = responseToEvent(req('/', [['Host', 'h']]), response, context);
    assert.equal(event.context.eventType, 'viewer-response');
    assert.deepEqual(event.response, {
      statusCode: 200,
      statusDescription: 'OK',
      headers: { 'content-type': { value: 'text/html' } },
      cookies: {
        id: {
          value: 'v1',
          attributes: 'Path=/; Secure',
          multiValue: [
            { value: 'v1', attributes: 'Path=/; Secure' },
            { value: 'v2', attributes: 'Path=/app' },
          ],
        },
        loggedIn: { value: 'true', attributes: 'Secure; Path=/; Domain=example.com; Expires=Wed, 05 Apr 2021 07:28:00 GMT' },
        plain: { value: '1', attributes: '' },
      },
    });
    assert.deepEqual(event.request.headers, { host: { value: 'h' } });
  });

  it('builds a complete viewer-response example', () => {
    const event = responseToEvent(
      req('/'),
      {
        status: 200,
        statusText: 'OK',
        headers: [
          ['Content-Type', 'text/html'],
          ['Set-Cookie', 'id=v1; Path=/; Secure'],
        ],
      },
      context,
    );
    assert.deepEqual(event.response, {
      statusCode: 200,
      statusDescription: 'OK',
      headers: { 'content-type': { value: 'text/html' } },
      cookies: { id: { value: 'v1', attributes: 'Path=/; Secure' } },
    });
  });
});

describe('requestFromEvent', () => {
  const messy = req('/Some/Path.html?b=%20x&a=1&&flag&a=2&c=caf%C3%A9', [
    ['host', 'www.example.com'],
    ['User-Agent', 'curl/8.0'],
    ['ACCEPT', 'text/html'],
    ['Cookie', 'z=1;  y=2'],
    ['Accept', 'application/xml'],
    ['x-multi', 'a,  b'],
    ['Cookie', 'x="quoted"'],
  ]);

  it('round-trips an untouched request byte for byte', () => {
    const out = runRequest(messy, () => {});
    assert.equal(out.target, messy.target);
    assert.deepEqual(out.headers, messy.headers);
  });

  it('keeps a bare "?" and an absent query string as they were', () => {
    assert.equal(runRequest(req('/x?'), () => {}).target, '/x?');
    assert.equal(runRequest(req('/x'), () => {}).target, '/x');
  });

  it('does not forward headers the function never saw', () => {
    const out = runRequest(
      req('/', [
        ['Host', 'h'],
        ['Connection', 'close'],
        ['X-Amz-Cf-Id', 'id'],
      ]),
      () => {},
    );
    assert.deepEqual(out.headers, [['Host', 'h']]);
  });

  it('replaces only the first occurrence when just value changed', () => {
    const out = runRequest(messy, (r) => {
      r.headers.accept.value = 'application/json';
    });
    assert.deepEqual(
      out.headers.filter(([name]) => name.toLowerCase() === 'accept'),
      [
        ['ACCEPT', 'application/json'],
        ['Accept', 'application/xml'],
      ],
    );
  });

  it('lets a changed multiValue win over value, written where the first occurrence was', () => {
    const out = runRequest(messy, (r) => {
      r.headers.accept.value = 'ignored';
      r.headers.accept.multiValue = [{ value: 'a/1' }, { value: 'a/2' }, { value: 'a/3' }];
    });
    assert.deepEqual(out.headers.slice(0, 5), [
      ['host', 'www.example.com'],
      ['User-Agent', 'curl/8.0'],
      ['ACCEPT', 'a/1'],
      ['ACCEPT', 'a/2'],
      ['ACCEPT', 'a/3'],
    ]);
    assert.equal(out.headers.filter(([name]) => name === 'Accept').length, 0);
  });

  it('appends added headers capitalised, drops deleted ones, writes changed values as UTF-8', () => {
    const out = runRequest(messy, (r) => {
      delete r.headers['user-agent'];
      r.headers['x-custom-thing'] = { value: 'v' };
      r.headers['x-two'] = { value: 'a', multiValue: [{ value: 'a' }, { value: 'b' }] };
      r.headers['x-multi'] = { value: 'é' };
    });
    assert.deepEqual(out.headers, [
      ['host', 'www.example.com'],
      ['ACCEPT', 'text/html'],
      ['Cookie', 'z=1;  y=2'],
      ['Accept', 'application/xml'],
      ['x-multi', Buffer.from('é', 'utf8').toString('latin1')],
      ['Cookie', 'x="quoted"'],
      ['X-Custom-Thing', 'v'],
      ['X-Two', 'a'],
      ['X-Two', 'b'],
    ]);
  });

  it('rewrites one query parameter in place and leaves the others byte-identical', () => {
    const out = runRequest(messy, (r) => {
      (r.querystring as Record<string, { value: string }>).a.value = '9';
    });
    assert.equal(out.target, '/Some/Path.html?b=%20x&a=9&flag&a=2&c=caf%C3%A9');
  });

  it('lets a changed query multiValue win, and deletes parameters (kvs-jwt-verify style)', () => {
    const out = runRequest(messy, (r) => {
      const qs = r.querystring as Record<string, { value: string; multiValue?: Array<{ value: string }> }>;
      qs.a.multiValue = [{ value: 'x' }];
      delete qs.flag;
    });
    assert.equal(out.target, '/Some/Path.html?b=%20x&a=x&c=caf%C3%A9');
  });

  it('drops the "?" when every parameter is deleted, and percent-encodes non-ASCII in new ones', () => {
    assert.equal(runRequest(req('/p?jwt=abc'), (r) => delete (r.querystring as Record<string, unknown>).jwt).target, '/p');
    const out = runRequest(req('/p?x=1'), (r) => {
      (r.querystring as Record<string, { value: string }>).lang = { value: 'café' };
    });
    assert.equal(out.target, '/p?x=1&lang=caf%C3%A9');
  });

  it('serialises a string querystring as the raw query (aws-samples normalize-query-string-parameters)', () => {
    const original = req('/img?size=10&color=red&b=2&b=1');
    const out = runRequest(original, (request) => {
      // The sample's logic: collect "key=value" for every occurrence, sort, join, assign the string.
      const qs: string[] = [];
      const params = request.querystring as Record<string, { value: string; multiValue?: Array<{ value: string }> }>;
      for (const key in params) {
        if (params[key].multiValue) params[key].multiValue!.forEach((mv) => qs.push(`${key}=${mv.value}`));
        else qs.push(`${key}=${params[key].value}`);
      }
      request.querystring = qs.sort().join('&');
    });
    assert.equal(out.target, '/img?b=1&b=2&color=red&size=10');
    assert.equal(runRequest(original, (r) => (r.querystring = '')).target, '/img');
  });

  it('writes a changed uri (encoding what a target cannot hold) and keeps the raw query', () => {
    const out = runRequest(req('/old?q=%41'), (r) => (r.uri = '/new dir/ü#x'));
    assert.equal(out.target, '/new%20dir/%C3%BC%23x?q=%41');
  });

  it('rebuilds cookies into one Cookie line at the first Cookie position when they change', () => {
    const out = runRequest(messy, (r) => {
      r.cookies.y.value = '20';
      r.cookies.n = { value: 'new' };
    });
    assert.deepEqual(
      out.headers.filter(([name]) => name.toLowerCase() === 'cookie'),
      [['Cookie', 'z=1; y=20; x="quoted"; n=new']],
    );
    assert.equal(out.headers[3][0], 'Cookie');
  });

  it('writes cookie multiValue as repeated pairs and removes Cookie when all cookies are gone', () => {
    const out = runRequest(req('/', [['Cookie', 'a=1']]), (r) => {
      r.cookies.a.multiValue = [{ value: '1' }, { value: '2' }];
    });
    assert.deepEqual(out.headers, [['Cookie', 'a=1; a=2']]);
    assert.deepEqual(
      runRequest(
        req('/', [
          ['Cookie', 'a=1'],
          ['Host', 'h'],
        ]),
        (r) => (r.cookies = {}),
      ).headers,
      [['Host', 'h']],
    );
    assert.deepEqual(runRequest(req('/', [['Host', 'h']]), (r) => (r.cookies.s = { value: '1' })).headers, [
      ['Host', 'h'],
      ['Cookie', 's=1'],
    ]);
  });
});

describe('responseFromEvent', () => {
  it('writes a generated redirect', () => {
    const out = responseFromEvent({ statusCode: 302, statusDescription: 'Found', headers: { location: { value: 'https://www.example.com/de/' } } });
    assert.deepEqual(out, { status: 302, statusText: 'Found', headers: [['Location', 'https://www.example.com/de/']], body: Buffer.alloc(0) });
  });

  it('writes generated multiValue headers, cookies with attributes and repeated Set-Cookie', () => {
    const out = responseFromEvent({
      statusCode: 200,
      headers: { 'x-a': { value: '1', multiValue: [{ value: '1' }, { value: '2' }] }, 'content-length': { value: '999' } },
      cookies: {
        id: {
          value: 'v1',
          attributes: 'Path=/',
          multiValue: [
            { value: 'v1', attributes: 'Path=/' },
            { value: 'v2', attributes: 'Path=/b' },
          ],
        },
        bare: { value: 'x' },
      },
      body: 'hello',
    });
    assert.equal(out.statusText, undefined);
    assert.deepEqual(out.headers, [
      ['X-A', '1'],
      ['X-A', '2'],
      ['Set-Cookie', 'id=v1; Path=/'],
      ['Set-Cookie', 'id=v2; Path=/b'],
      ['Set-Cookie', 'bare=x'],
    ]);
    assert.equal(out.body?.toString(), 'hello');
  });

  it('decodes text and base64 bodies', () => {
    assert.equal(responseFromEvent({ statusCode: 200, body: { data: 'aGk=', encoding: 'base64' } }).body?.toString(), 'hi');
    assert.equal(responseFromEvent({ statusCode: 200, body: { data: 'ü', encoding: 'text' } }).body?.toString('utf8'), 'ü');
  });

  const origin: HttpResponseParts = {
    status: 200,
    statusText: 'Fine',
    headers: [
      ['content-type', 'text/html'],
      ['Content-Length', '5'],
      ['Set-Cookie', 'a=1;Path=/'],
      ['X-Cache', 'Hit'],
      ['Set-Cookie', 'b=2; Secure'],
      ['set-cookie', 'a=3; Path=/x'],
    ],
  };

  it('round-trips an untouched response byte for byte and keeps the origin body', () => {
    const out = runResponse(req('/'), origin, () => {});
    assert.deepEqual(out, { status: 200, statusText: 'Fine', headers: origin.headers.filter(([name]) => name !== 'X-Cache') });
  });

  it('replaces a changed Set-Cookie line in place and appends new cookies and headers', () => {
    const out = runResponse(req('/'), origin, (r) => {
      r.cookies!.a.value = 'changed';
      r.cookies!.c = { value: 'new', attributes: 'HttpOnly' };
      r.headers!['cache-control'] = { value: 'max-age=60' };
    });
    assert.deepEqual(out.headers, [
      ['content-type', 'text/html'],
      ['Content-Length', '5'],
      ['Set-Cookie', 'a=changed; Path=/'],
      ['Set-Cookie', 'b=2; Secure'],
      ['set-cookie', 'a=3; Path=/x'],
      ['Cache-Control', 'max-age=60'],
      ['Set-Cookie', 'c=new; HttpOnly'],
    ]);
  });

  it('uses the default reason phrase when only the status code changed', () => {
    assert.equal(runResponse(req('/'), origin, (r) => (r.statusCode = 404)).statusText, undefined);
    const described = runResponse(req('/'), origin, (r) => {
      r.statusCode = 404;
      r.statusDescription = 'Gone Fishing';
    });
    assert.equal(described.statusText, 'Gone Fishing');
    assert.equal(described.status, 404);
  });

  it('drops stale framing headers when the body is replaced', () => {
    const out = runResponse(req('/'), origin, (r) => (r.body = 'replaced'));
    assert.equal(out.body?.toString(), 'replaced');
    assert.equal(
      out.headers.some(([name]) => name.toLowerCase() === 'content-length'),
      false,
    );
  });
});

describe('capitalizeHeaderName', () => {
  it('capitalises each hyphen-separated word', () => {
    assert.equal(capitalizeHeaderName('x-custom-thing'), 'X-Custom-Thing');
    assert.equal(capitalizeHeaderName('etag'), 'Etag');
    assert.equal(capitalizeHeaderName('www-authenticate'), 'Www-Authenticate');
  });
});
