import cf from 'cloudfront';

// A deploy script replaces the placeholder with the store id (sed, a template engine, CloudFormation Fn::Sub…).
// Run locally before that step, the placeholder is still here.
const KVS_ID = '__KVS_ID__';

async function handler(event) {
  const request = event.request;
  const flags = cf.kvs(KVS_ID);
  const maintenance = await flags.exists('maintenance') ? await flags.get('maintenance') : 'off';
  if (maintenance === 'on' && request.uri.indexOf('/status') !== 0) {
    return {
      statusCode: 503,
      statusDescription: 'Service Unavailable',
      headers: { 'retry-after': { value: '120' }, 'content-type': { value: 'text/plain' } },
      body: 'Down for maintenance',
    };
  }
  return request;
}
