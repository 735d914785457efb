// Feature flag with a sticky percentage rollout: the flag lives in the demo-flags store as JSON
// {"enabled": true, "percent": 50}; a viewer's bucket is kept in the "beta-bucket" cookie.
import cf from 'cloudfront';

const flags = cf.kvs();

async function handler(event) {
  const request = event.request;
  let flag = { enabled: false, percent: 0 };
  if (await flags.exists('new-beta-page')) flag = await flags.get('new-beta-page', { format: 'json' });
  let bucket = request.cookies['beta-bucket'] ? Number(request.cookies['beta-bucket'].value) : NaN;
  if (!(bucket >= 0 && bucket < 100)) {
    bucket = Math.floor(Math.random() * 100);
    request.cookies['beta-bucket'] = { value: String(bucket) };
  }
  const on = flag.enabled === true && bucket < flag.percent;
  request.uri = on ? '/beta/new.html' : '/beta/old.html';
  request.headers['x-feature-new-beta-page'] = { value: on ? 'on' : 'off' };
  return request;
}
