// HS256 JWT check at the edge. The token comes from "Authorization: Bearer <jwt>" or the "token" cookie; the
// signing secret comes from the store ("jwt.secret"), so rotating it needs no deploy. Paths under /public/ and the
// home page are open. Valid tokens reach the origin with the user in "x-user-id"; the token itself is removed.
import cf from 'cloudfront';
import crypto from 'crypto';

const kvs = cf.kvs();

async function handler(event) {
  const request = event.request;
  if (request.uri === '/' || request.uri === '/index.html' || request.uri.indexOf('/public/') === 0) return request;

  const token = tokenOf(request);
  if (!token) return unauthorized('missing token');
  const secret = await kvs.get('jwt.secret');
  let claims;
  try {
    claims = verify(token, secret, Math.floor(Date.now() / 1000));
  } catch (e) {
    console.log('rejected: ' + e.message);
    return unauthorized(e.message);
  }
  request.headers['x-user-id'] = { value: String(claims.sub) };
  delete request.headers.authorization;
  delete request.cookies.token;
  if (request.uri.endsWith('/')) request.uri += 'index.html';
  return request;
}

function tokenOf(request) {
  const auth = request.headers.authorization;
  if (auth && auth.value.indexOf('Bearer ') === 0) return auth.value.slice(7).trim();
  return request.cookies.token ? request.cookies.token.value : undefined;
}

function verify(token, secret, nowSeconds) {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('malformed token');
  const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
  // Only HS256: accepting "none" or the token's own choice of algorithm is the classic JWT hole.
  if (header.alg !== 'HS256') throw new Error('unsupported alg ' + header.alg);
  const expected = crypto.createHmac('sha256', secret).update(parts[0] + '.' + parts[1]).digest('base64url');
  if (!equalStrings(expected, parts[2])) throw new Error('bad signature');
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  if (typeof claims.exp !== 'number' || nowSeconds >= claims.exp) throw new Error('expired');
  if (typeof claims.nbf === 'number' && nowSeconds < claims.nbf) throw new Error('not yet valid');
  return claims;
}

// No timingSafeEqual in CloudFront's crypto: compare every character whatever the first difference.
function equalStrings(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function unauthorized(reason) {
  return {
    statusCode: 401,
    statusDescription: 'Unauthorized',
    headers: {
      'www-authenticate': { value: 'Bearer error="invalid_token", error_description="' + reason + '"' },
      'cache-control': { value: 'no-store' },
    },
  };
}
