import cf from 'cloudfront';

// Filled in by the deploy pipeline with the id of the site-routes store.
const kvsId = '3f9d2b7e-8c41-4a6f-9e05-1b2c3d4e5f60';
const routes = cf.kvs(kvsId);

async function handler(event) {
  const request = event.request;
  let target;
  try {
    target = await routes.get(request.uri);
  } catch (e) {
    target = undefined;
  }
  if (target !== undefined) {
    request.headers['x-route'] = { value: request.uri };
    request.uri = target;
  }
  return request;
}
