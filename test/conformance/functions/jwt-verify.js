import crypto from 'crypto';
import cf from 'cloudfront';
const kvsHandle = cf.kvs();
function jwtDecode(token, key) {
  const segments = token.split('.');
  if (segments.length !== 3) throw new Error('Not enough or too many segments');
  const signingInput = [segments[0], segments[1]].join('.');
  const expected = crypto.createHmac('sha256', key).update(signingInput).digest('base64url');
  if (expected !== segments[2]) throw new Error('Signature verification failed');
  const payload = JSON.parse(Buffer.from(segments[1], 'base64url').toString('utf8'));
  if (payload.exp && Date.now() > payload.exp * 1000) throw new Error('Token expired');
  return payload;
}
async function handler(event) {
  const request = event.request;
  if (!request.querystring.jwt) {
    return { statusCode: 401, statusDescription: 'Unauthorized' };
  }
  const secret = await kvsHandle.get('jwt.secret');
  try {
    const payload = jwtDecode(request.querystring.jwt.value, secret);
    request.headers['x-user'] = { value: payload.sub };
  } catch (e) {
    console.log(e.message);
    return { statusCode: 401, statusDescription: 'Unauthorized' };
  }
  delete request.querystring.jwt;
  return request;
}
