/**
 * `openfront dev` on a throw-away project (config, a function reading a store, the store's seed file, a static
 * site): every save is followed by its reload event, and the very next request shows the result — or, for a broken
 * save, the problems come back with their file positions and the edge keeps serving the last good state.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startDevServer, type DevReload, type DevServer } from '../../src/devtools/dev-server.js';
import { formatProblem } from '../../src/devtools/dev/problems.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const ROUTER_V1 = `import cf from 'cloudfront';
const greetings = cf.kvs();
async function handler(event) {
  if (event.request.uri === '/hello') {
    return { statusCode: 200, statusDescription: 'OK', body: 'v1 ' + (await greetings.get('greeting')) };
  }
  return event.request;
}
`;

const API_FUNCTION = `function handler(event) {
  return { statusCode: 200, statusDescription: 'OK', body: 'api says ' + event.request.uri };
}
`;

function configText(extraBehaviors = ''): string {
  return `stores:
  - name: greetings
    seed: data/greetings.json
functions:
  - name: router
    code: functions/router.js
    store: greetings
  - name: api
    code: functions/api.js
distributions:
  - id: EDEV00000000001
    hostnames: ["*"]
    origins:
      - id: site
        static: ./site
    defaultBehavior:
      origin: site
      functionAssociations:
        viewer-request: router
${extraBehaviors}`;
}

function seedText(greeting: unknown): string {
  return JSON.stringify({ data: [{ key: 'greeting', value: greeting }] });
}

/** Saves the way editors do: a temporary file in the same folder, renamed over the original. */
function save(file: string, text: string): void {
  const temporary = join(file, '..', `.${Date.now()}.tmp`);
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

function makeProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'openfront-dev-project-'));
  for (const sub of ['functions', 'data', 'site']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'openfront.config.yaml'), configText());
  writeFileSync(join(dir, 'functions', 'router.js'), ROUTER_V1);
  writeFileSync(join(dir, 'functions', 'api.js'), API_FUNCTION);
  writeFileSync(join(dir, 'data', 'greetings.json'), seedText('hello'));
  writeFileSync(join(dir, 'site', 'index.html'), '<h1>the static site</h1>\n');
  return dir;
}

function get(base: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The next reload of `kind`; call it before saving, so the event cannot be missed. */
function nextReload(dev: DevServer, kind: DevReload['kind']): Promise<DevReload> {
  return new Promise((resolve) => {
    const listener = (reload: DevReload) => {
      if (reload.kind !== kind) return;
      dev.reloads.off('reload', listener);
      resolve(reload);
    };
    dev.reloads.on('reload', listener);
  });
}

describe('openfront dev: hot reload', () => {
  let project: string;
  let dev: DevServer;
  let slowOrigin: Server;
  const held: Array<() => void> = [];
  let originGotRequest: () => void = () => undefined;
  const logged: string[] = [];

  before(async () => {
    project = makeProject();
    // An origin that answers only when told to: a request to it stays in flight for as long as the test wants.
    slowOrigin = createServer((_req, res) => {
      held.push(() => res.end('slow origin body'));
      originGotRequest();
    });
    slowOrigin.listen(0, '127.0.0.1');
    await once(slowOrigin, 'listening');
    dev = await startDevServer({ configPath: join(project, 'openfront.config.yaml'), edgePort: 0, apiPort: 0, cwd: project, log: (line) => logged.push(line) });
  });

  after(async () => {
    await dev.close();
    slowOrigin.close();
    rmSync(project, { recursive: true, force: true });
  });

  it('serves the project: function, store and static site; watches its files', async () => {
    assert.deepEqual(await get(dev.edgeUrl, '/hello'), { status: 200, body: 'v1 hello' });
    assert.match((await get(dev.edgeUrl, '/index.html')).body, /the static site/);
    assert.deepEqual(
      dev
        .watched()
        .map(({ file, role }) => `${file.slice(project.length + 1)} ${role.kind}`)
        .sort(),
      ['data/greetings.json store', 'functions/api.js function', 'functions/router.js function', 'openfront.config.yaml config'],
    );
    assert.ok(dev.temporaryData);
  });

  it('serves the new code of a saved function on the next request', async () => {
    const reloaded = nextReload(dev, 'function');
    save(join(project, 'functions', 'router.js'), ROUTER_V1.replace("'v1 '", "'v2 '"));
    const reload = await reloaded;
    assert.equal(reload.ok, true, JSON.stringify(reload.problems));
    assert.equal(reload.file, join(project, 'functions', 'router.js'));
    assert.deepEqual(reload.changes, ['router LIVE v2']);
    assert.ok(reload.ms < 1000, `reload took ${reload.ms} ms`);
    assert.deepEqual(await get(dev.edgeUrl, '/hello'), { status: 200, body: 'v2 hello' });
    assert.ok(
      logged.some((line) => /^reloaded function functions\/router\.js: router LIVE v2 \(\d+(\.\d)? ms\)$/.test(line)),
      logged.join('\n'),
    );
  });

  it('reports a broken save as file:line:col problems and keeps serving the last good code', async () => {
    const reloaded = nextReload(dev, 'function');
    save(join(project, 'functions', 'router.js'), 'function handler(event) {\n  var greeting = 1;\n  var x = ;\n}\n');
    const reload = await reloaded;
    assert.equal(reload.ok, false);
    const problem = reload.problems?.[0];
    assert.equal(problem?.file, join(project, 'functions', 'router.js'));
    assert.equal(problem?.line, 3);
    assert.equal(problem?.column, 11);
    assert.match(formatProblem(problem!, project), /^functions\/router\.js:3:11 \S/);
    assert.ok(logged.includes(formatProblem(problem!, project)), 'the problem is printed');
    assert.ok(
      logged.some((line) => line.includes('the edge keeps serving router LIVE v2')),
      logged.join('\n'),
    );
    assert.deepEqual(await get(dev.edgeUrl, '/hello'), { status: 200, body: 'v2 hello' });
  });

  it('replaces the store with a saved seed file; refuses a bad one naming the key', async () => {
    let reloaded = nextReload(dev, 'store');
    save(join(project, 'data', 'greetings.json'), seedText('bonjour'));
    let reload = await reloaded;
    assert.equal(reload.ok, true, JSON.stringify(reload.problems));
    assert.deepEqual(await get(dev.edgeUrl, '/hello'), { status: 200, body: 'v2 bonjour' });

    reloaded = nextReload(dev, 'store');
    save(join(project, 'data', 'greetings.json'), seedText(42));
    reload = await reloaded;
    assert.equal(reload.ok, false);
    assert.equal(reload.problems?.[0]?.key, 'greeting');
    assert.match(reload.problems?.[0]?.message ?? '', /"greeting"/);
    assert.deepEqual(await get(dev.edgeUrl, '/hello'), { status: 200, body: 'v2 bonjour' }, 'the old data stays');
  });

  it('retries a config whose function is broken once the function is fixed', async () => {
    // router.js is still broken from above: a config save cannot apply until it is fixed.
    let reloaded = nextReload(dev, 'config');
    save(join(project, 'openfront.config.yaml'), `${configText()}    behaviors: []\n`);
    let reload = await reloaded;
    assert.equal(reload.ok, false);
    assert.equal(reload.problems?.[0]?.line, 3);
    reloaded = nextReload(dev, 'config');
    save(join(project, 'functions', 'router.js'), ROUTER_V1.replace("'v1 '", "'v3 '"));
    reload = await reloaded;
    assert.equal(reload.ok, true, JSON.stringify(reload.problems));
    assert.deepEqual(await get(dev.edgeUrl, '/hello'), { status: 200, body: 'v3 bonjour' });
  });

  it('restarts the edge on the same port with a saved config: a new behavior works', async () => {
    const edgeUrl = dev.edgeUrl;
    assert.equal((await get(edgeUrl, '/api/users')).status, 404, 'the static site has no /api');
    const reloaded = nextReload(dev, 'config');
    save(
      join(project, 'openfront.config.yaml'),
      configText(`    behaviors:
      - pathPattern: /api/*
        origin: site
        functionAssociations:
          viewer-request: api
`),
    );
    const reload = await reloaded;
    assert.equal(reload.ok, true, JSON.stringify(reload.problems));
    assert.ok(reload.ms < 1000, `reload took ${reload.ms} ms`);
    assert.equal(dev.node.edge.url, edgeUrl);
    assert.deepEqual(await get(edgeUrl, '/api/users'), { status: 200, body: 'api says /api/users' });
    assert.deepEqual(await get(edgeUrl, '/hello'), { status: 200, body: 'v3 bonjour' });
  });

  it('lists every problem of an invalid config and keeps the old one serving', async () => {
    const reloaded = nextReload(dev, 'config');
    save(
      join(project, 'openfront.config.yaml'),
      configText(`    behaviors:
      - pathPattern: /api/*
        origin: nowhere
        cachePolicy: NoSuchPolicy
        functionAssociations:
          viewer-request: api
`),
    );
    const reload = await reloaded;
    assert.equal(reload.ok, false);
    assert.deepEqual(reload.problems?.map((p) => p.path).sort(), ['distributions[0].behaviors[0].cachePolicy', 'distributions[0].behaviors[0].origin']);
    assert.ok(logged.includes('openfront.config.yaml: distributions[0].behaviors[0].origin: unknown origin or origin group "nowhere"'), logged.join('\n'));
    assert.deepEqual(await get(dev.edgeUrl, '/api/users'), { status: 200, body: 'api says /api/users' });
  });

  it('lets a request in flight finish on the old edge while the config restarts it', async () => {
    const slowUrl = `http://127.0.0.1:${(slowOrigin.address() as AddressInfo).port}`;
    const withSlow = configText(`    behaviors:
      - pathPattern: /slow/*
        origin: slow
        cachePolicy: CachingDisabled
`).replace('    defaultBehavior:', `      - id: slow\n        url: ${slowUrl}\n    defaultBehavior:`);
    let reloaded = nextReload(dev, 'config');
    save(join(project, 'openfront.config.yaml'), withSlow);
    assert.equal((await reloaded).ok, true);

    const arrived = new Promise<void>((resolve) => (originGotRequest = resolve));
    const inFlight = get(dev.edgeUrl, '/slow/page');
    await arrived;
    reloaded = nextReload(dev, 'config');
    save(join(project, 'openfront.config.yaml'), withSlow);
    // Answer once the save's reload is under way (well within its drain time).
    setTimeout(() => held.shift()?.(), 150);
    assert.deepEqual(await inFlight, { status: 200, body: 'slow origin body' });
    assert.equal((await reloaded).ok, true);
  });
});

describe('openfront dev: the command', () => {
  it('prints the URLs and watched files, serves the project and prints checker problems as file:line:col', async () => {
    const project = makeProject();
    const child = spawn(process.execPath, [CLI, 'dev', '--config', project, '--edge-port', '0', '--api-port', '0'], {
      cwd: project,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const waitFor = (stream: NodeJS.ReadableStream, pattern: RegExp, text: () => string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(text())) {
            stream.off('data', check);
            resolve();
          }
        };
        stream.on('data', check);
        child.once('exit', (code) => reject(new Error(`openfront dev exited (${code}) before printing ${pattern}:\n${out}\n${err}`)));
        check();
      });
    try {
      await waitFor(child.stdout, /Save a file to reload it/, () => out);
      assert.match(out, /unauthenticated/);
      assert.match(out, /fresh for this session/);
      for (const file of ['openfront.config.yaml', 'functions/router.js', 'functions/api.js', 'data/greetings.json'])
        assert.ok(out.includes(`  ${file}  (`), out);
      const edgeUrl = /edge {2}(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] as string;
      assert.match(/api {3}(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.deepEqual(await get(edgeUrl, '/hello'), { status: 200, body: 'v1 hello' });

      const printed = waitFor(child.stderr, /^functions\/router\.js:2:11 .+$/m, () => err);
      save(join(project, 'functions', 'router.js'), 'function handler(event) {\n  var x = ;\n}\n');
      await printed;
      assert.match(err, /reload of function functions\/router\.js FAILED \(1 problem; the edge keeps serving router LIVE v1\)/);
      assert.deepEqual(await get(edgeUrl, '/hello'), { status: 200, body: 'v1 hello' });
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
      rmSync(project, { recursive: true, force: true });
    }
  });
});
