// Sticky percentage rollouts. The store holds the flag config as one JSON value under "flags":
//   {"checkout-v2": {"percent": 25, "from": "/checkout/", "to": "/checkout-v2/"}, "dark-mode": {"percent": 50}}
// Each visitor has a bucket 0-99 in the "ff_bucket" cookie; a flag is on when bucket < percent, so raising the
// percentage only ever adds visitors. A flag with "from"/"to" serves paths under "from" from "to" instead.
// Associated with both events: viewer-request applies the flags, viewer-response hands out the cookie.
import cf from 'cloudfront';
import crypto from 'crypto';

const kvs = cf.kvs();
const COOKIE = 'ff_bucket';

async function handler(event) {
  const request = event.request;
  const bucket = bucketOf(event);
  if (event.context.eventType === 'viewer-response') {
    const response = event.response;
    if (!hasValidCookie(request)) {
      response.cookies[COOKIE] = { value: String(bucket), attributes: 'Path=/; Max-Age=31536000; SameSite=Lax' };
    }
    return response;
  }

  let flags = {};
  try {
    flags = await kvs.get('flags', { format: 'json' });
  } catch (e) {
    console.log('no flag config: ' + e.message);
  }
  const enabled = [];
  Object.keys(flags).sort().forEach(function (name) {
    const flag = flags[name];
    if (bucket < flag.percent) {
      enabled.push(name);
      if (flag.from && flag.to && request.uri.indexOf(flag.from) === 0) request.uri = flag.to + request.uri.slice(flag.from.length);
    }
  });
  if (request.uri.endsWith('/')) request.uri += 'index.html';
  // The origin (and the cache key, if the policy includes the header) sees which variant was chosen.
  request.headers['x-features'] = { value: enabled.join(',') };
  return request;
}

// The cookie when valid; otherwise a bucket derived from the viewer, so viewer-request and viewer-response of
// one visit agree before the cookie exists.
function bucketOf(event) {
  if (hasValidCookie(event.request)) return Number(event.request.cookies[COOKIE].value);
  const ua = event.request.headers['user-agent'] ? event.request.headers['user-agent'].value : '';
  const digest = crypto.createHash('sha256').update(event.viewer.ip + '|' + ua).digest('hex');
  return parseInt(digest.slice(0, 8), 16) % 100;
}

function hasValidCookie(request) {
  const cookie = request.cookies[COOKIE];
  return cookie !== undefined && /^\d{1,2}$/.test(cookie.value);
}
