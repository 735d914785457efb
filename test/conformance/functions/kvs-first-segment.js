import cf from 'cloudfront';
const kvsHandle = cf.kvs();
async function handler(event) {
  const request = event.request;
  const pathSegments = request.uri.split('/');
  const key = pathSegments[1];
  let value = key;
  try {
    value = await kvsHandle.get(key);
  } catch (err) {
    console.log('kvs key ' + key + ' not found');
  }
  pathSegments[1] = value;
  request.uri = pathSegments.join('/');
  return request;
}
