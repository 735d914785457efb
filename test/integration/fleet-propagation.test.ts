/**
 * Propagation across a fleet, every part a real process (docs/fleet.md): a nats-server, `openfront control` and two
 * `openfront edge`s. A write with `?wait=all` returns only once both edges serve it (each asked over HTTP right
 * after), `openfront status` shows both with their versions, and an edge that stops turns not live and is then not
 * waited for.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readKeyConfig, READ_KEY_FUNCTION, runCli, startRoleProcess, type RoleProcess } from '../helpers/fleet-processes.js';
import { freePort, natsSkipReason, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { rawRequest, type Credentials, type RawResponse } from './fixtures/kvs-api-harness.js';

interface EdgesAnswer {
  edges: Array<{ name: string; live: boolean; stores: Array<{ name: string; version: number; current: number | null }> }>;
}

describe('propagation across a fleet: control + two edges on a real nats-server', { skip: natsSkipReason() }, () => {
  let nats: NatsServer;
  let dir: string;
  let key: Credentials;
  let control: RoleProcess;
  const edges: RoleProcess[] = [];
  let arn: string;
  let etag: string;

  const native = (method: string, path: string): Promise<RawResponse> => rawRequest(control.port, { method, path, credentials: key, service: 'openfront' });
  const putKey = async (k: string, value: string, query = ''): Promise<RawResponse> => {
    const res = await rawRequest(control.port, {
      method: 'PUT',
      path: `/key-value-stores/${encodeURIComponent(arn)}/keys/${encodeURIComponent(k)}${query}`,
      credentials: key,
      service: 'cloudfront-keyvaluestore',
      headers: { 'content-type': 'application/json', 'if-match': etag },
      body: JSON.stringify({ Value: value }),
    });
    if (res.status === 200) etag = res.headers.etag as string;
    return res;
  };
  /**
   * The value the edge's function answers for key `k`. A 503 is the function stopped by its CPU budget on a busy
   * machine, which says nothing about the data: asked again then, at most three times.
   */
  const askEdge = async (edge: RoleProcess, k: string): Promise<string> => {
    let res = await fetch(`http://127.0.0.1:${edge.port}/${k}`, { headers: { host: 'fleet.test' } });
    for (let attempt = 1; res.status === 503 && attempt < 3; attempt++) {
      await res.arrayBuffer();
      res = await fetch(`http://127.0.0.1:${edge.port}/${k}`, { headers: { host: 'fleet.test' } });
    }
    return res.text();
  };

  before(async () => {
    nats = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'openfront-fleet-propagation-'));
    mkdirSync(join(dir, 'site'));
    writeFileSync(join(dir, 'read-key.js'), READ_KEY_FUNCTION);
    const config = join(dir, 'openfront.config.yaml');
    writeFileSync(config, JSON.stringify(readKeyConfig('fleet-store')));
    const secretKeyFile = join(dir, 'secret.key');
    writeFileSync(secretKeyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
    const created = await runCli(['keys', 'create', '--nats', nats.url, '--secret-key-file', secretKeyFile, '--json']);
    assert.equal(created.code, 0, created.stderr);
    key = JSON.parse(created.stdout) as Credentials;
    const apiPort = await freePort();
    control = await startRoleProcess(
      'control',
      ['control', '--nats', nats.url, '--config', config, '--api-port', String(apiPort), '--secret-key-file', secretKeyFile],
      apiPort,
    );
    for (const name of ['edge-1', 'edge-2']) {
      const port = await freePort();
      edges.push(
        await startRoleProcess(
          name,
          ['edge', '--nats', nats.url, '--config', config, '--edge-port', String(port), '--name', name, '--state-dir', join(dir, name)],
          port,
        ),
      );
    }
    const listed = await rawRequest(control.port, { method: 'GET', path: '/2020-05-31/key-value-store/fleet-store', credentials: key, service: 'cloudfront' });
    assert.equal(listed.status, 200, listed.body);
    arn = /<ARN>([^<]+)<\/ARN>/.exec(listed.body)![1]!;
    const described = await rawRequest(control.port, {
      method: 'GET',
      path: `/key-value-stores/${encodeURIComponent(arn)}`,
      credentials: key,
      service: 'cloudfront-keyvaluestore',
    });
    etag = described.headers.etag as string;
    // Both edges have reported the store before the test writes.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const answer = JSON.parse((await native('GET', '/openfront/v1/edges')).body) as EdgesAnswer;
      if (answer.edges.filter((e) => e.live && e.stores.some((s) => s.name === 'fleet-store')).length === 2) break;
      assert.ok(Date.now() < deadline, `the edges never reported fleet-store: ${JSON.stringify(answer)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(async () => {
    for (const role of [...edges, control]) await role?.stop();
    await nats?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('returns a ?wait=all write only when both edges serve it', async () => {
    for (let i = 0; i < 5; i++) {
      const value = `value-${i}-${Date.now()}`;
      const res = await putKey('k', value, '?wait=all&timeout=10s');
      assert.equal(res.status, 200, res.body);
      assert.match(String(res.headers['x-openfront-version']), /^\d+$/);
      // Asked once, right after the answer: no polling.
      assert.deepEqual(await Promise.all(edges.map((e) => askEdge(e, 'k'))), [value, value], `write ${i}`);
    }
  });

  it('shows both edges and their versions in the propagation answer and in openfront status', async () => {
    const res = await putKey('k', 'status-check', '?wait=all');
    const version = Number(res.headers['x-openfront-version']);
    const propagation = JSON.parse((await native('GET', '/openfront/v1/key-value-stores/fleet-store/propagation')).body) as {
      version: number;
      converged: boolean;
      edges: Array<{ name: string; version: number; live: boolean; lagMs: number }>;
    };
    assert.equal(propagation.version, version);
    assert.equal(propagation.converged, true);
    assert.deepEqual(
      propagation.edges.map((e) => [e.name, e.version, e.live, e.lagMs]),
      [
        ['edge-1', version, true, 0],
        ['edge-2', version, true, 0],
      ],
    );
    const env = { PATH: process.env.PATH, OPENFRONT_ACCESS_KEY_ID: key.accessKeyId, OPENFRONT_SECRET_ACCESS_KEY: key.secretAccessKey };
    const status = await runCli(['status', '--endpoint', `http://127.0.0.1:${control.port}`], env);
    assert.equal(status.code, 0, status.stderr);
    for (const name of ['edge-1', 'edge-2'])
      assert.match(status.stdout, new RegExp(`^${name}\\s+live\\s+.*store fleet-store\\s+${version}\\s+${version}\\s+in sync$`, 'm'));
    assert.match(status.stdout, /2 edges, 2 live/);
  });

  it('turns a stopped edge not live, and then does not wait for it', async () => {
    await edges[1]!.stop();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const answer = JSON.parse((await native('GET', '/openfront/v1/edges')).body) as EdgesAnswer;
      if (answer.edges.find((e) => e.name === 'edge-2')?.live === false) break;
      assert.ok(Date.now() < deadline, 'edge-2 still live 15 s after it stopped');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const started = Date.now();
    const res = await putKey('k', 'after-edge-2', '?wait=all&timeout=5s');
    assert.equal(res.status, 200, res.body);
    assert.ok(Date.now() - started < 4000, `the write waited ${Date.now() - started} ms`);
    assert.equal(await askEdge(edges[0]!, 'k'), 'after-edge-2');
    const status = JSON.parse(
      (
        await runCli(['status', '--json', '--endpoint', `http://127.0.0.1:${control.port}`], {
          PATH: process.env.PATH,
          OPENFRONT_ACCESS_KEY_ID: key.accessKeyId,
          OPENFRONT_SECRET_ACCESS_KEY: key.secretAccessKey,
        })
      ).stdout,
    ) as EdgesAnswer;
    assert.deepEqual(
      status.edges.map((e) => [e.name, e.live]),
      [
        ['edge-1', true],
        ['edge-2', false],
      ],
    );
  });
});
