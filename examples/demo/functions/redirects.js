// Redirect table: /go/<name> → the location stored in the demo-redirects KeyValueStore.
import cf from 'cloudfront';

const redirects = cf.kvs();

async function handler(event) {
  const request = event.request;
  const key = request.uri;
  if (await redirects.exists(key)) {
    const location = await redirects.get(key);
    return {
      statusCode: 301,
      statusDescription: 'Moved Permanently',
      headers: { location: { value: location }, 'cache-control': { value: 'max-age=60' } },
    };
  }
  return {
    statusCode: 404,
    statusDescription: 'Not Found',
    headers: { 'content-type': { value: 'text/plain' } },
    body: 'No redirect for ' + key + '\n',
  };
}
