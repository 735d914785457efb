import cf from 'cloudfront';
async function handler(event) {
  const meta = await cf.kvs().meta();
  const bytes = await cf.kvs().get('greeting', { format: 'bytes' });
  event.request.headers['x-key-count'] = { value: String(meta.keyCount) };
  event.request.headers['x-bytes'] = { value: String(bytes.length) + ':' + bytes.toString('hex') };
  return event.request;
}
