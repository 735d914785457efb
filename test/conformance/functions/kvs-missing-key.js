import cf from 'cloudfront';
async function handler(event) {
  const value = await cf.kvs().get('does-not-exist');
  event.request.headers['x-value'] = { value: value };
  return event.request;
}
