// Redirect table in a KeyValueStore: key = request path, value = JSON {"to": "...", "status": 301|302|307|308}.
// Paths not in the table go on to the origin unchanged. Editing the table needs no deploy of the function.
import cf from 'cloudfront';

const kvs = cf.kvs();
const STATUS_TEXT = { 301: 'Moved Permanently', 302: 'Found', 307: 'Temporary Redirect', 308: 'Permanent Redirect' };

async function handler(event) {
  const request = event.request;
  const path = request.uri.length > 1 && request.uri.endsWith('/') ? request.uri.slice(0, -1) : request.uri;
  let rule;
  try {
    rule = await kvs.get(path, { format: 'json' });
  } catch (e) {
    // get() rejects for a key that is not in the table: no redirect for this path.
    return request.uri.endsWith('/') ? rewriteToIndex(request) : request;
  }
  const status = STATUS_TEXT[rule.status] ? rule.status : 301;
  let location = rule.to;
  // Keep the visitor's query string (campaign parameters...) unless the rule says otherwise.
  const query = request.rawQueryString();
  if (query && rule.keepQuery !== false) location += (location.indexOf('?') === -1 ? '?' : '&') + query;
  return {
    statusCode: status,
    statusDescription: STATUS_TEXT[status],
    headers: { location: { value: location }, 'cache-control': { value: 'max-age=300' } },
  };
}

function rewriteToIndex(request) {
  request.uri += 'index.html';
  return request;
}
