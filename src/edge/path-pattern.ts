/**
 * CloudFront cache-behavior path patterns: `*` matches any run of characters including `/`, `?` exactly one
 * character, everything else itself; matching is case-sensitive and covers the whole path (query excluded).
 * A leading `/` is optional in CloudFront's patterns (`images/*` equals `/images/*`).
 */
export type PathMatcher = (path: string) => boolean;

export function compilePathPattern(pattern: string): PathMatcher {
  if (pattern === '*' || pattern === '/*') return () => true;
  const normalized = pattern.startsWith('/') || pattern.startsWith('*') ? pattern : `/${pattern}`;
  if (!/[*?]/.test(normalized)) return (path) => path === normalized;
  let source = '^';
  for (const ch of normalized) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
  }
  const re = new RegExp(`${source}$`, 's');
  return (path) => re.test(path);
}
