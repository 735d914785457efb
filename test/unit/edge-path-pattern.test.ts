import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_CACHE_POLICIES } from '../../src/config/load.js';
import type { BehaviorConfig, DistributionConfig } from '../../src/config/types.js';
import { BehaviorMatcher } from '../../src/edge/behavior.js';
import { DistributionRouter } from '../../src/edge/distribution.js';
import { compilePathPattern } from '../../src/edge/path-pattern.js';

describe('compilePathPattern (CloudFront path patterns)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['/images/*', '/images/a.jpg', true],
    ['/images/*', '/images/deep/b.png', true], // * crosses "/"
    ['/images/*', '/images', false],
    ['/images/*', '/Images/a.jpg', false], // case-sensitive
    ['/images/*.jpg', '/images/x/y.jpg', true],
    ['/images/*.jpg', '/images/x/y.jpeg', false],
    ['/file?.txt', '/file1.txt', true],
    ['/file?.txt', '/file.txt', false],
    ['/file?.txt', '/file12.txt', false],
    ['*.gif', '/any/where/pic.gif', true],
    ['images/*', '/images/a', true], // leading slash optional
    ['/a.b', '/axb', false], // "." is literal
    ['/exact', '/exact', true],
    ['/exact', '/exact/', false],
    ['/(x)+[y]$', '/(x)+[y]$', true],
    ['*', '/whatever', true],
  ];
  for (const [pattern, path, expected] of cases) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${path}`, () => {
      assert.equal(compilePathPattern(pattern)(path), expected);
    });
  }
});

function behavior(pathPattern: string, origin: string): BehaviorConfig {
  return { pathPattern, origin, cachePolicy: BUILTIN_CACHE_POLICIES[0], functions: {} };
}

describe('BehaviorMatcher', () => {
  it('evaluates behaviors in order and falls back to the default behavior', () => {
    const matcher = new BehaviorMatcher([behavior('/api/v1/*', 'v1'), behavior('/api/*', 'api'), behavior('*.css', 'css')], behavior('*', 'default'));
    assert.equal(matcher.match('/api/v1/users').origin, 'v1');
    assert.equal(matcher.match('/api/v2/users').origin, 'api');
    assert.equal(matcher.match('/site.css').origin, 'css');
    assert.equal(matcher.match('/index.html').origin, 'default');
  });
});

describe('DistributionRouter', () => {
  const dist = (id: string, hostnames: string[]): DistributionConfig => ({
    id,
    hostnames,
    domainName: hostnames[0],
    origins: [],
    originGroups: [],
    defaultBehavior: behavior('*', 'o'),
    behaviors: [],
  });
  const router = new DistributionRouter([dist('A', ['www.example.com']), dist('B', ['*.example.com']), dist('C', ['*.cdn.example.com']), dist('D', ['*'])]);

  it('matches exact names case-insensitively and ignores the port', () => {
    assert.equal(router.match('WWW.Example.com:8080')?.config.id, 'A');
  });
  it('prefers the most specific wildcard', () => {
    assert.equal(router.match('img.example.com')?.config.id, 'B');
    assert.equal(router.match('a.cdn.example.com')?.config.id, 'C');
  });
  it('a wildcard does not match the bare domain; "*" catches the rest', () => {
    assert.equal(router.match('example.com')?.config.id, 'D');
    assert.equal(router.match(undefined)?.config.id, 'D');
  });
  it('answers undefined without a catch-all', () => {
    assert.equal(new DistributionRouter([dist('A', ['a.test'])]).match('b.test'), undefined);
  });
});
