/** The edge's request recording for dry runs (src/observe/recording.ts): redaction and every bound. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.js';
import { restoreRecordings, saveRecordings } from '../../src/node/dry-run-service.js';
import { DEFAULT_RECORDING, RecordingSet, RequestRecorder, type RecordingSettings } from '../../src/observe/recording.js';

function settings(overrides: Partial<RecordingSettings> = {}): RecordingSettings {
  return { ...DEFAULT_RECORDING, ...overrides };
}

/** A clock the test moves by hand. */
function clock(start = Date.parse('2026-01-01T00:00:00Z')): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const HEADERS = ['Host', 'example.com', 'User-Agent', 'test'];

describe('request recording', () => {
  it('copies what the event needs: method, path, query string, headers, cookies, viewer ip', () => {
    const recorder = new RequestRecorder(settings(), clock());
    recorder.offer('POST', '/a/b?x=1&y=%20', [...HEADERS, 'Cookie', 'lang=de; theme=dark', 'X-Thing', 'v'], '::ffff:10.0.0.7');
    const [r] = recorder.list();
    assert.deepEqual(r, {
      time: '2026-01-01T00:00:00.000Z',
      method: 'POST',
      uri: '/a/b',
      querystring: 'x=1&y=%20',
      headers: [
        ['Host', 'example.com'],
        ['User-Agent', 'test'],
        ['X-Thing', 'v'],
      ],
      cookies: [
        ['lang', '[redacted]'],
        ['theme', '[redacted]'],
      ],
      clientIp: '10.0.0.7',
    });
  });

  it('redacts Authorization, Proxy-Authorization, cookie values and named headers; keeps what the config keeps', () => {
    const raw = [
      ...HEADERS,
      'Authorization',
      'Bearer abc',
      'Proxy-Authorization',
      'Basic x',
      'X-Api-Key',
      'k1',
      'Cookie',
      'a=1; b=2',
      'x-openfront-debug',
      'sig',
    ];
    const strict = new RequestRecorder(settings({ redactHeaders: ['x-api-key'] }), clock());
    strict.offer('GET', '/', raw, '127.0.0.1');
    const [s] = strict.list();
    assert.deepEqual(Object.fromEntries(s!.headers), {
      Host: 'example.com',
      'User-Agent': 'test',
      Authorization: '[redacted]',
      'Proxy-Authorization': '[redacted]',
      'X-Api-Key': '[redacted]',
    });
    assert.deepEqual(s!.cookies, [
      ['a', '[redacted]'],
      ['b', '[redacted]'],
    ]);
    assert.ok(!JSON.stringify(s).includes('sig'), 'the explain header is never recorded');

    const kept = new RequestRecorder(settings({ keepHeaders: ['authorization'], keepCookies: ['b'] }), clock());
    kept.offer('GET', '/', raw, '127.0.0.1');
    const [k] = kept.list();
    assert.equal(Object.fromEntries(k!.headers).Authorization, 'Bearer abc');
    assert.equal(Object.fromEntries(k!.headers)['Proxy-Authorization'], '[redacted]');
    assert.deepEqual(k!.cookies, [
      ['a', '[redacted]'],
      ['b', '2'],
    ]);
    const all = new RequestRecorder(settings({ keepCookies: ['*'] }), clock());
    all.offer('GET', '/', raw, '127.0.0.1');
    assert.deepEqual(all.list()[0]!.cookies, [
      ['a', '1'],
      ['b', '2'],
    ]);
  });

  it('keeps at most maxRequests, the newest', () => {
    const recorder = new RequestRecorder(settings({ maxRequests: 3, maxPerSecond: 100_000 }), clock());
    for (let i = 0; i < 10; i++) recorder.offer('GET', `/${i}`, HEADERS, '1.2.3.4');
    assert.deepEqual(
      recorder.list().map((r) => r.uri),
      ['/7', '/8', '/9'],
    );
    assert.equal(recorder.counters.evicted, 7);
    assert.deepEqual(
      recorder.list(2).map((r) => r.uri),
      ['/8', '/9'],
    );
  });

  it('keeps at most maxTotalBytes, dropping the oldest', () => {
    const recorder = new RequestRecorder(settings({ maxTotalBytes: 1024, maxPerSecond: 100_000 }), clock());
    const big = [...HEADERS, 'X-Pad', 'p'.repeat(300)];
    for (let i = 0; i < 20; i++) recorder.offer('GET', `/${i}`, big, '1.2.3.4');
    assert.ok(recorder.bytes <= 1024, `${recorder.bytes} bytes kept`);
    // Each takes 3 + 3 + 7 + 4 + 11 + 10 + 4 + 5 + 300 = 347 bytes (method, target, ip, header names and values).
    assert.equal(recorder.size, Math.floor(1024 / 347));
    assert.equal(recorder.list().at(-1)!.uri, '/19');
  });

  it('skips a request larger than maxRequestBytes instead of cutting it (a flood of huge headers keeps nothing)', () => {
    const recorder = new RequestRecorder(settings({ maxRequestBytes: 1024, maxPerSecond: 100_000 }), clock());
    const huge = [...HEADERS, 'X-Huge', 'h'.repeat(2000)];
    for (let i = 0; i < 1000; i++) recorder.offer('GET', '/', huge, '1.2.3.4');
    recorder.offer('GET', '/small', HEADERS, '1.2.3.4');
    assert.equal(recorder.size, 1);
    assert.equal(recorder.counters.skippedSize, 1000);
    assert.equal(recorder.bytes < 1024, true);
  });

  it('records at most maxPerSecond per second', () => {
    const time = clock();
    const recorder = new RequestRecorder(settings({ maxPerSecond: 5 }), time);
    for (let i = 0; i < 50; i++) recorder.offer('GET', `/${i}`, HEADERS, '1.2.3.4');
    assert.equal(recorder.size, 5);
    assert.equal(recorder.counters.skippedRate, 45);
    time.advance(1000);
    recorder.offer('GET', '/next-second', HEADERS, '1.2.3.4');
    assert.equal(recorder.size, 6);
  });

  it('samples at sampleRate, throwing the coin before any copy', () => {
    let i = 0;
    const coins = [0.05, 0.5, 0.09, 0.99];
    const recorder = new RequestRecorder(settings({ sampleRate: 0.1 }), { ...clock(), random: () => coins[i++ % coins.length]! });
    for (let n = 0; n < 8; n++) recorder.offer('GET', `/${n}`, HEADERS, '1.2.3.4');
    assert.deepEqual(
      recorder.list().map((r) => r.uri),
      ['/0', '/2', '/4', '/6'],
    );
  });

  it('restores a saved sample within the same bounds', () => {
    const source = new RequestRecorder(settings({ maxPerSecond: 100_000 }), clock());
    for (let i = 0; i < 10; i++) source.offer('GET', `/${i}`, HEADERS, '1.2.3.4');
    const target = new RequestRecorder(settings({ maxRequests: 4 }), clock());
    target.restore(source.list());
    assert.deepEqual(
      target.list().map((r) => r.uri),
      ['/6', '/7', '/8', '/9'],
    );
  });

  it('has a recorder only for distributions that ask for one, and keeps a sample across an unchanged reload', () => {
    const set = new RecordingSet(clock());
    set.configure([{ id: 'A', recording: settings() }, { id: 'B' }]);
    assert.equal(set.empty, false);
    assert.equal(set.get('B'), undefined);
    set.get('A')!.offer('GET', '/', HEADERS, '1.2.3.4');
    set.configure([{ id: 'A', recording: settings() }]);
    assert.equal(set.get('A')!.size, 1);
    set.configure([{ id: 'A', recording: settings({ maxRequests: 5 }) }]);
    assert.equal(set.get('A')!.size, 0, 'new settings start a new sample');
    set.configure([{ id: 'A' }]);
    assert.equal(set.empty, true);
  });
});

describe('recording in the config', () => {
  const base = {
    functions: [],
    distributions: [{ id: 'D1', hostnames: ['*'], origins: [{ id: 'o', url: 'http://127.0.0.1:1' }], defaultBehavior: { origin: 'o' } }],
  };
  const withRecording = (recording: unknown) => ({ ...base, distributions: [{ ...base.distributions[0], recording }] });

  it('is off unless a distribution has a recording section; defaults fill the rest', () => {
    assert.equal(parseConfig(base, '/tmp').distributions[0]!.recording, undefined);
    const config = parseConfig(withRecording({ sampleRate: 0.1, redact: { headers: ['X-Api-Key'], keepCookies: ['lang'] } }), '/tmp');
    assert.deepEqual(config.distributions[0]!.recording, {
      sampleRate: 0.1,
      maxRequests: 1000,
      maxRequestBytes: 16 * 1024,
      maxTotalBytes: 4 * 1024 * 1024,
      maxPerSecond: 100,
      redactHeaders: ['x-api-key'],
      keepHeaders: [],
      keepCookies: ['lang'],
      persist: false,
    });
  });

  it('refuses bounds out of range and bodies', () => {
    for (const bad of [
      { sampleRate: 0 },
      { sampleRate: 1.5 },
      { maxRequests: 1_000_000 },
      { maxTotalBytes: 1024 * 1024 * 1024 },
      { maxRequestBytes: 10 },
      { maxPerSecond: 0 },
      { maxBodyBytes: 1024 },
      { unknown: true },
    ]) {
      assert.throws(() => parseConfig(withRecording(bad), '/tmp'), { code: 'CONFIG_INVALID' }, JSON.stringify(bad));
    }
  });
});

describe('a persisted recording', () => {
  it('survives a restart, within its bounds; a file too large is ignored', () => {
    const dir = mkdtempSync(join(tmpdir(), 'openfront-recording-'));
    try {
      const persisted = settings({ persist: true, maxTotalBytes: 4096, maxPerSecond: 100_000 });
      const first = new RecordingSet(clock());
      first.configure([
        { id: 'A', recording: persisted },
        { id: 'B', recording: settings() },
      ]);
      for (let i = 0; i < 5; i++) first.get('A')!.offer('GET', `/${i}`, [...HEADERS, 'Authorization', 'secret-token'], '1.2.3.4');
      first.get('B')!.offer('GET', '/b', HEADERS, '1.2.3.4');
      saveRecordings(first, dir);
      assert.equal(existsSync(join(dir, 'recordings', 'B.json')), false, 'only distributions that persist are saved');

      const second = new RecordingSet(clock());
      second.configure([{ id: 'A', recording: persisted }]);
      restoreRecordings(second, dir);
      assert.deepEqual(
        second
          .get('A')!
          .list()
          .map((r) => r.uri),
        ['/0', '/1', '/2', '/3', '/4'],
      );
      assert.equal(Object.fromEntries(second.get('A')!.list()[0]!.headers).Authorization, '[redacted]', 'saved redacted');

      second.get('A')!.clear();
      saveRecordings(second, dir);
      assert.equal(existsSync(join(dir, 'recordings', 'A.json')), false, 'a cleared sample leaves no file');

      // Valid records, but far more than the sample could ever have saved: not read at all.
      const valid = {
        time: '2026-01-01T00:00:00.000Z',
        method: 'GET',
        uri: '/big',
        querystring: '',
        headers: [['X-Pad', 'p'.repeat(1000)]],
        cookies: [],
        clientIp: '1.2.3.4',
      };
      writeFileSync(join(dir, 'recordings', 'A.json'), JSON.stringify(Array.from({ length: 200 }, () => valid)));
      const third = new RecordingSet(clock());
      third.configure([{ id: 'A', recording: persisted }]);
      restoreRecordings(third, dir);
      assert.equal(third.get('A')!.size, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
