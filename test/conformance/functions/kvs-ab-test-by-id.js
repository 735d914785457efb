import cf from 'cloudfront';

// The store's id as the console shows it, pasted into the code (the form AWS's own samples use).
const kvsId = '0f3c2a71-5b9e-4d8a-9c41-7e2b6d5a8f10';
const kvsHandle = cf.kvs(kvsId);

// Splits traffic between two builds of the site: the weight of "b" comes from the store, the choice sticks in a cookie.
async function handler(event) {
  const request = event.request;
  const segments = request.uri.split('/');
  const section = segments[1];
  let experiment;
  try {
    experiment = await kvsHandle.get('experiment:' + section, { format: 'json' });
  } catch (e) {
    return request;
  }
  let bucket = request.cookies['ab-' + section] ? request.cookies['ab-' + section].value : undefined;
  if (bucket !== 'a' && bucket !== 'b') {
    bucket = Math.random() * 100 < experiment.weightB ? 'b' : 'a';
  }
  segments[1] = experiment[bucket];
  request.uri = segments.join('/');
  request.headers['x-experiment-bucket'] = { value: bucket };
  return request;
}
