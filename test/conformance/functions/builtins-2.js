import qs from 'querystring';
async function handler(event) {
  const request = event.request;
  const parsed = qs.parse('a=1&b=2&b=3');
  request.headers['x-qs'] = { value: qs.stringify({ b: parsed.b, a: parsed.a }) };
  request.headers['x-b64'] = { value: btoa('hello') + '|' + atob('aGVsbG8=') };
  request.headers['x-buf'] = { value: Buffer.from('héllo').toString('base64url') };
  request.headers['x-te'] = { value: String(new TextEncoder().encode('héllo').length) };
  request.headers['x-sha1'] = { value: require('crypto').createHash('sha1').update('abc').digest('base64') };
  return request;
}
