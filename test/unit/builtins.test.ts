import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import querystring from 'node:querystring';
import { after, before, describe, test } from 'node:test';
import ivm from '../../src/runtime/sandbox/isolated-vm.js';
import type { RuntimeVersion } from '../../src/runtime/event.js';
import { hostDigest } from '../../src/runtime/builtins/host-digest.js';
import { preludeSource } from '../../src/runtime/builtins/prelude.js';

/** A fresh isolate with the prelude loaded the way the sandbox loads it, plus a test-only `require`. */
interface Loaded {
  isolate: ivm.Isolate;
  /** Runs a function body inside the isolate and returns its JSON-copied result. */
  run(body: string): unknown;
  /** Global property names the prelude added. */
  addedGlobals: string[];
  digestCalls(): number;
}

function load(runtime: RuntimeVersion): Loaded {
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  const context = isolate.createContextSync();
  let calls = 0;
  const countingDigest = (algorithm: string, key: string | null, data: string): string => {
    calls++;
    return hostDigest(algorithm, key, data);
  };
  const before = context.evalSync('JSON.stringify(Object.getOwnPropertyNames(globalThis))') as string;
  // Compiled as a script (not evalClosure): V8 then compiles the big function lazily and can cache it.
  const prelude = isolate.compileScriptSync(preludeSource(runtime)).runSync(context, { reference: true });
  context.evalClosureSync(
    `var modules = $0({ digest: $1 }).modules;
     globalThis.__added = Object.getOwnPropertyNames(globalThis);
     globalThis.require = function (name) { return modules[name]; };`,
    [prelude.derefInto(), new ivm.Callback(countingDigest)],
  );
  const beforeNames = new Set(JSON.parse(before) as string[]);
  const after = JSON.parse(context.evalSync('JSON.stringify(__added)') as string) as string[];
  context.evalSync('delete globalThis.__added');
  return {
    isolate,
    run: (body) => JSON.parse(context.evalSync(`JSON.stringify((function () { 'use strict'; ${body} })())`) as string),
    addedGlobals: after.filter((name) => !beforeNames.has(name)).sort(),
    digestCalls: () => calls,
  };
}

const TEXT = 'héllo wörld 😀 €';
const KEY = 'sëcret-key';
const ALGORITHMS = ['md5', 'sha1', 'sha256'] as const;
const ENCODINGS = ['hex', 'base64', 'base64url'] as const;

function errorOf(body: string): string {
  return `try { ${body}; return 'no error'; } catch (e) { return { name: e.name, message: e.message, isError: e instanceof Error }; }`;
}

for (const runtime of ['cloudfront-js-1.0', 'cloudfront-js-2.0'] as const) {
  describe(`crypto (${runtime})`, () => {
    let rt: Loaded;
    before(() => {
      rt = load(runtime);
    });
    after(() => rt.isolate.dispose());

    test('hashes and HMACs match node:crypto in every encoding', () => {
      for (const alg of ALGORITHMS) {
        for (const enc of ENCODINGS) {
          const hash = rt.run(`return require('crypto').createHash('${alg}').update(${JSON.stringify(TEXT)}).digest('${enc}');`);
          assert.equal(hash, createHash(alg).update(TEXT).digest(enc), `${alg} ${enc}`);
          const hmac = rt.run(`return require('crypto').createHmac('${alg}', ${JSON.stringify(KEY)}).update(${JSON.stringify(TEXT)}).digest('${enc}');`);
          assert.equal(hmac, createHmac(alg, KEY).update(TEXT).digest(enc), `hmac ${alg} ${enc}`);
        }
      }
    });

    test('chained updates and input encodings', () => {
      const got = rt.run(`var c = require('crypto');
        return [c.createHash('sha256').update('ab').update('').update('c').digest('hex'),
                c.createHash('sha1').update('68c3a9', 'hex').update('aGk=', 'base64').digest('hex')];`);
      assert.deepEqual(got, [
        createHash('sha256').update('abc').digest('hex'),
        createHash('sha1').update('68c3a9', 'hex').update('aGk=', 'base64').digest('hex'),
      ]);
    });

    test('crosses to the host once per digest', () => {
      const before = rt.digestCalls();
      rt.run(`var h = require('crypto').createHmac('md5', 'k'); for (var i = 0; i < 20; i++) h.update('x'); return h.digest('hex');`);
      assert.equal(rt.digestCalls() - before, 1);
    });

    test('unsupported algorithms and reuse after digest throw', () => {
      const bad = rt.run(errorOf(`require('crypto').createHash('sha512')`)) as { message: string; isError: boolean };
      assert.equal(bad.isError, true);
      assert.match(bad.message, /sha512/);
      const hmacBad = rt.run(errorOf(`require('crypto').createHmac('sha384', 'k')`)) as { message: string };
      assert.match(hmacBad.message, /sha384/);
      const twice = rt.run(errorOf(`var h = require('crypto').createHash('md5'); h.digest('hex'); h.digest('hex')`)) as { message: string };
      assert.match(twice.message, /Digest already called/);
      const badEncoding = rt.run(errorOf(`require('crypto').createHash('md5').digest('latin2')`)) as { name: string };
      assert.equal(badEncoding.name, 'TypeError');
    });
  });
}

describe('crypto specifics per runtime', () => {
  let rt1: Loaded;
  let rt2: Loaded;
  before(() => {
    rt1 = load('cloudfront-js-1.0');
    rt2 = load('cloudfront-js-2.0');
  });
  after(() => {
    rt1.isolate.dispose();
    rt2.isolate.dispose();
  });

  test('2.0: digest() without encoding is a Buffer; Buffers and Uint8Arrays are accepted', () => {
    const got = rt2.run(`var c = require('crypto');
      var d = c.createHash('sha256').update(Buffer.from([1, 2, 3])).update(new Uint8Array([4, 5])).digest();
      return [Buffer.isBuffer(d), d.toString('hex'), c.createHmac('sha1', Buffer.from('6b6579', 'hex')).update('x').digest('base64')];`);
    assert.deepEqual(got, [
      true,
      createHash('sha256')
        .update(Buffer.from([1, 2, 3, 4, 5]))
        .digest('hex'),
      createHmac('sha1', 'key').update('x').digest('base64'),
    ]);
  });

  test('2.0: the kvs-jwt-verify sample verifies an HS256 token', () => {
    const secret = 'jwt-secret';
    const seg = (v: object): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${seg({ alg: 'HS256', typ: 'JWT' })}.${seg({ sub: 'ünïcode-user', exp: 4102444800 })}`;
    const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    const got = rt2.run(`
      var crypto = require('crypto');
      function _sign(input, key, method) { return crypto.createHmac(method, key).update(input).digest('base64url'); }
      function _base64urlDecode(str) { return Buffer.from(str, 'base64url'); }
      var segments = ${JSON.stringify(token)}.split('.');
      var signingInput = [segments[0], segments[1]].join('.');
      return { valid: _sign(signingInput, ${JSON.stringify(secret)}, 'sha256') === segments[2],
               payload: JSON.parse(_base64urlDecode(segments[1])) };`);
    assert.deepEqual(got, { valid: true, payload: { sub: 'ünïcode-user', exp: 4102444800 } });
  });

  test('1.0: digest() without encoding is a byte string that chains as HMAC key bytes', () => {
    const got = rt1.run(`var c = require('crypto');
      var raw = c.createHash('sha1').update('abc').digest();
      var kDate = c.createHmac('sha256', 'AWS4secret').update('20240101').digest();
      var kRegion = c.createHmac('sha256', kDate).update('us-east-1').digest();
      return [typeof raw, raw, c.createHmac('sha256', kRegion).update('s3').digest('hex')];`);
    const kDate = createHmac('sha256', 'AWS4secret').update('20240101').digest();
    const kRegion = createHmac('sha256', kDate).update('us-east-1').digest();
    assert.deepEqual(got, ['string', createHash('sha1').update('abc').digest().toString('latin1'), createHmac('sha256', kRegion).update('s3').digest('hex')]);
  });

  test('the host side refuses other algorithms', () => {
    assert.throws(() => hostDigest('sha512', null, 'x'), /sha512/);
    assert.equal(hostDigest('md5', null, 'abc'), createHash('md5').update('abc').digest().toString('latin1'));
  });
});

describe('querystring matches Node', () => {
  let rt: Loaded;
  before(() => {
    rt = load('cloudfront-js-1.0');
  });
  after(() => rt.isolate.dispose());

  const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
  const parseCases: Array<[string, ...unknown[]]> = [
    ['name=value&abc=xyz&abc=123'],
    ['a=1&&b&=x&c=%E9%41&d=%zz%41+x&e=%F0%9F%98%80&a=2&f=a=b&g=%2B+&'],
    ['a:1;b:2;a:3;;c', ';', ':'],
    ['a=1&b=2&c=3&d=4', null, null, { maxKeys: 2 }],
    ['x=%ZZ&y=%C3%A9', null, null, { decodeURIComponent: (s: string) => s.toUpperCase() }],
  ];

  test('parse edge cases', () => {
    for (const [qs, sep, eq, options] of parseCases) {
      const opts = options as { decodeURIComponent?: (s: string) => string; maxKeys?: number } | undefined;
      const optionsSource =
        opts === undefined
          ? 'undefined'
          : `{ maxKeys: ${opts.maxKeys}, decodeURIComponent: ${opts.decodeURIComponent ? String(opts.decodeURIComponent) : 'undefined'} }`;
      const got = rt.run(
        `return require('querystring').parse(${JSON.stringify(qs)}, ${JSON.stringify(sep ?? null)}, ${JSON.stringify(eq ?? null)}, ${optionsSource});`,
      );
      assert.deepEqual(got, plain(querystring.parse(qs, (sep ?? undefined) as string, (eq ?? undefined) as string, opts)), qs);
    }
  });

  test('maxKeys defaults to 1000 and 0 means unlimited', () => {
    const got = rt.run(`var qs = require('querystring'); var parts = [];
      for (var i = 0; i < 1500; i++) parts.push('k' + i + '=' + i);
      var s = parts.join('&');
      return [Object.keys(qs.parse(s)).length, Object.keys(qs.parse(s, '&', '=', { maxKeys: 0 })).length, Object.keys(qs.decode(s, null, null, { maxKeys: 10 })).length];`);
    assert.deepEqual(got, [1000, 1500, 10]);
  });

  test('odd keys are stored as own properties without prototype pollution', () => {
    const got = rt.run(`var o = require('querystring').parse('__proto__=1&toString=2&toString=3&constructor=4');
      return [Object.keys(o), o.toString, Object.getPrototypeOf(o) === Object.prototype, ({}).polluted === undefined];`);
    assert.deepEqual(got, [['__proto__', 'toString', 'constructor'], ['2', '3'], true, true]);
  });

  test('stringify, escape and unescape', () => {
    const obj = { a: [1, 2], b: 'x y', c: '', d: true, e: null, f: Number.NaN, g: 'é/&=+', h: [], i: 1e21 };
    const got = rt.run(`var qs = require('querystring'); var obj = { a: [1, 2], b: 'x y', c: '', d: true, e: null, f: NaN, g: 'é/&=+', h: [], i: 1e21 };
      return [qs.stringify(obj), qs.encode(obj, ';', ':'), qs.stringify({ k: 'a b', l: [1] }, null, null, { encodeURIComponent: function (s) { return '<' + s + '>'; } }),
              qs.escape("A-z0-9-_.!~*'() é/?&=+"), qs.unescape('%E9%41%2B+'), qs.unescape('%C3%A9%'), qs.stringify('nope')];`);
    assert.deepEqual(got, [
      querystring.stringify(obj),
      querystring.encode(obj, ';', ':'),
      querystring.stringify({ k: 'a b', l: [1] }, undefined, undefined, { encodeURIComponent: (s: string) => `<${s}>` }),
      querystring.escape("A-z0-9-_.!~*'() é/?&=+"),
      querystring.unescape('%E9%41%2B+'),
      querystring.unescape('%C3%A9%'),
      '',
    ]);
  });
});

describe('Buffer (2.0)', () => {
  let rt: Loaded;
  before(() => {
    rt = load('cloudfront-js-2.0');
  });
  after(() => rt.isolate.dispose());

  /** The same snippet runs against Node's Buffer and the isolate's; results must agree. */
  function sameAsNode(snippet: string): void {
    const expected: unknown = JSON.parse(JSON.stringify(new Function('Buffer', `'use strict'; ${snippet}`)(Buffer)));
    assert.deepEqual(rt.run(snippet), expected, snippet);
  }

  test('encodings round-trip like Node, including base64url', () => {
    sameAsNode(`var s = ${JSON.stringify(TEXT)};
      return ['utf8', 'hex', 'base64', 'base64url'].map(function (e) {
        var encoded = Buffer.from(s).toString(e);
        return [encoded, Buffer.from(encoded, e).toString(), Buffer.byteLength(encoded, e), Buffer.isEncoding(e)];
      });`);
    sameAsNode(`return [Buffer.from('_-8', 'base64url').toString('hex'), Buffer.from('/+8=', 'base64').toString('base64url'),
      Buffer.from('zz12', 'hex').length, Buffer.alloc(5, 'aGk', 'base64url').toString(), Buffer.from('ab').toString('base64url', 1)];`);
  });

  test('read and write methods', () => {
    sameAsNode(`var b = Buffer.alloc(16);
      var offsets = [b.writeUInt16BE(0xbeef, 0), b.writeInt32LE(-123456, 2), b.writeUIntLE(0x123456789a, 6, 5), b.writeFloatBE(1.5, 11), b.writeInt8(-2, 15)];
      return [offsets, b.toString('hex'), b.readUInt16LE(0), b.readInt32LE(2), b.readUInt32BE(2), b.readUIntLE(6, 5), b.readIntBE(6, 3),
              b.readFloatBE(11), b.readInt8(15), b.readUInt8(15), b.readInt16BE(0)];`);
    sameAsNode(`var b = Buffer.allocUnsafe(8); b.writeDoubleLE(Math.PI, 0); var c = Buffer.alloc(8); c.writeDoubleBE(-0.1, 0);
      return [b.readDoubleLE(0), c.readDoubleBE(0), b.swap64().toString('hex'), Buffer.from('0102030405060708', 'hex').swap16().toString('hex'),
              Buffer.from('0102030405060708', 'hex').swap32().toString('hex'), c.writeIntBE(-5, 0, 6), c.readIntLE(0, 6), c.writeUInt32LE(4294967295, 4)];`);
  });

  test('comparison, search, slicing and construction', () => {
    sameAsNode(`var a = Buffer.from('hello world'), b = Buffer.from('hello');
      var copyTarget = Buffer.alloc(4);
      return [Buffer.compare(a, b), a.compare(b), a.equals(Buffer.from('hello world')), a.indexOf('o'), a.lastIndexOf('o'), a.includes('wor'),
              a.indexOf(Buffer.from('ld')), a.subarray(6, 9).toString(), Buffer.concat([b, Buffer.from('!')]).toString(), Buffer.concat([a, b], 3).toString(),
              a.copy(copyTarget, 1, 0, 3), copyTarget.toJSON(), Buffer.isBuffer(a), Buffer.isBuffer(new Uint8Array(1)), a instanceof Uint8Array,
              a.toString('utf8', 0, 5), Buffer.from([256, -1, 65]).toString('hex'), Buffer.from(new Uint8Array([1, 2]).buffer).length,
              Buffer.alloc(3).fill('ab').toString(), a[0], a.length, JSON.stringify(Buffer.from('hi'))];`);
  });

  test('Buffer is a global and the buffer module', () => {
    assert.equal(rt.run(`return require('buffer').Buffer === Buffer && typeof Buffer.from === 'function';`), true);
  });
});

describe('TextEncoder, TextDecoder, atob, btoa (2.0)', () => {
  let rt: Loaded;
  before(() => {
    rt = load('cloudfront-js-2.0');
  });
  after(() => rt.isolate.dispose());

  test('TextEncoder encodes multi-byte text like Node', () => {
    const got = rt.run(`var e = new TextEncoder(); var dest = new Uint8Array(7);
      var r = e.encodeInto(${JSON.stringify(TEXT)}, dest);
      return [e.encoding, Array.from(e.encode(${JSON.stringify(TEXT)})), e.encode('\\ud800x').join(','), r, Array.from(dest), e.encode() instanceof Uint8Array];`);
    const dest = new Uint8Array(7);
    const r = new TextEncoder().encodeInto(TEXT, dest);
    assert.deepEqual(got, ['utf-8', Array.from(Buffer.from(TEXT)), '239,191,189,120', { read: r.read, written: r.written }, Array.from(dest), true]);
  });

  test('TextDecoder handles invalid bytes, fatal, BOM and streaming like Node', () => {
    const bad = [0xf0, 0x9f, 0x41, 0xed, 0xa0, 0x80, 0xc0, 0xe2, 0x82];
    const got = rt.run(`var bad = new Uint8Array(${JSON.stringify(bad)});
      var fatal; try { new TextDecoder('utf-8', { fatal: true }).decode(bad); } catch (e) { fatal = e.name; }
      var bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69]);
      var s = new TextDecoder('utf8'), emoji = new TextEncoder().encode('a😀b');
      var streamed = s.decode(emoji.subarray(0, 3), { stream: true }) + '|' + s.decode(emoji.subarray(3, 5), { stream: true }) + '|' + s.decode(emoji.subarray(5));
      var label; try { new TextDecoder('latin1'); } catch (e) { label = e.name; }
      return [new TextDecoder().decode(bad), fatal, new TextDecoder().decode(bom), new TextDecoder('utf-8', { ignoreBOM: true }).decode(bom.buffer),
              streamed, label, new TextDecoder().decode(), new TextDecoder(undefined, { fatal: true }).fatal];`);
    const stream = new TextDecoder('utf8');
    const emoji = new TextEncoder().encode('a😀b');
    const streamed = [
      stream.decode(emoji.subarray(0, 3), { stream: true }),
      stream.decode(emoji.subarray(3, 5), { stream: true }),
      stream.decode(emoji.subarray(5)),
    ].join('|');
    assert.equal(streamed, 'a|😀|b');
    assert.deepEqual(got, [new TextDecoder().decode(new Uint8Array(bad)), 'TypeError', 'hi', '\ufeffhi', streamed, 'RangeError', '', true]);
  });

  test('atob and btoa follow the browser rules', () => {
    const inputs = ['aGVsbG8=', ' aGVs\nbG8 ', 'aGVsbG8', 'YQ==', 'YQ=', 'abc==', 'a', 'ab-_', '####'];
    const got = rt.run(`return ${JSON.stringify(inputs)}.map(function (s) {
        try { return atob(s); } catch (e) { return e.name; } }).concat([btoa('hi\\xff'), (function () { try { btoa('€'); } catch (e) { return e.name + ':' + (e instanceof Error); } })()]);`);
    const expected = inputs.map((s) => {
      try {
        return atob(s);
      } catch {
        return 'InvalidCharacterError';
      }
    });
    assert.deepEqual(got, [...expected, btoa('hi\xff'), 'InvalidCharacterError:true']);
  });
});

describe('1.0 byte-string methods', () => {
  let rt: Loaded;
  before(() => {
    rt = load('cloudfront-js-1.0');
  });
  after(() => rt.isolate.dispose());

  test('bytesFrom decodes arrays, hex, base64 and base64url', () => {
    const got = rt.run(`return [String.bytesFrom([0x68, 0x69, 0xe9, 0x1ff]), String.bytesFrom('6869e9', 'hex'), String.bytesFrom('aGk/', 'base64'),
      String.bytesFrom('aGk_', 'base64url'), ''.bytesFrom('6869', 'hex'), (function () { try { String.bytesFrom('x', 'utf16'); } catch (e) { return e.name; } })()];`);
    assert.deepEqual(got, ['hi\xe9\xff', 'hi\xe9', 'hi?', 'hi?', 'hi', 'TypeError']);
  });

  test('toUTF8, fromUTF8, toBytes and fromBytes', () => {
    const got = rt.run(`var u = 'héllo €'.toUTF8();
      return [u, u.fromUTF8(), String.bytesFrom([0xff, 0x41]).fromUTF8(), 'abc€'.toBytes(), 'abcé'.toBytes(1, 3),
              String.bytesFrom([0xc3, 0xa9, 0x41]).fromBytes(), String.bytesFrom([0xc3, 0xa9, 0x41]).fromUTF8(0, 2), 'abc'.toUTF8(1)];`);
    assert.deepEqual(got, [Buffer.from('héllo €').toString('latin1'), 'héllo €', null, null, 'bc', 'Ã©A', 'é', 'bc']);
  });

  test('the methods are non-enumerable and absent from 2.0', () => {
    assert.deepEqual(rt.run(`var keys = []; for (var k in 'ab') keys.push(k); return keys;`), ['0', '1']);
    const rt2 = load('cloudfront-js-2.0');
    try {
      assert.deepEqual(rt2.run(`return [typeof String.bytesFrom, typeof ''.toUTF8, typeof ''.fromBytes];`), ['undefined', 'undefined', 'undefined']);
    } finally {
      rt2.isolate.dispose();
    }
  });
});

describe('isolation and load time', () => {
  test('the prelude adds only the documented globals and never exposes host', () => {
    const rt1 = load('cloudfront-js-1.0');
    const rt2 = load('cloudfront-js-2.0');
    try {
      assert.deepEqual(rt1.addedGlobals, []);
      assert.deepEqual(rt2.addedGlobals, ['Buffer', 'TextDecoder', 'TextEncoder', 'atob', 'btoa']);
      for (const rt of [rt1, rt2]) {
        const got = rt.run(`var c = require('crypto');
          var caller; try { caller = typeof c.createHash.caller; } catch (e) { caller = e.name; }
          return [typeof host, typeof digestOnHost, Object.keys(c).sort(), Object.keys(c.createHash('md5')).sort(), caller];`);
        assert.deepEqual(got, ['undefined', 'undefined', ['createHash', 'createHmac'], ['digest', 'update'], 'TypeError']);
      }
    } finally {
      rt1.isolate.dispose();
      rt2.isolate.dispose();
    }
  });
});
