import cf from 'cloudfront';
const table = cf.kvs();
async function handler(event) {
  const request = event.request;
  const host = request.headers.host.value;
  if (await table.exists(host + request.uri)) {
    const target = await table.get(host + request.uri, { format: 'json' });
    return { statusCode: target.status, statusDescription: 'Moved', headers: { location: { value: target.location } } };
  }
  return request;
}
