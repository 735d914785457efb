import cf from 'cloudfront';

// Infrastructure code often hands the function the store's ARN rather than its id.
const redirects = cf.kvs('arn:aws:cloudfront::111122223333:key-value-store/0F3C2A71-5B9E-4D8A-9C41-7E2B6D5A8F10');

async function handler(event) {
  const request = event.request;
  const key = request.uri.toLowerCase();
  if (!(await redirects.exists(key))) return request;
  const location = await redirects.get(key);
  return {
    statusCode: 308,
    statusDescription: 'Permanent Redirect',
    headers: { location: { value: location }, 'cache-control': { value: 'max-age=3600' } },
  };
}
