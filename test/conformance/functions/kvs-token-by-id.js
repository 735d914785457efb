import cf from 'cloudfront';

// Checks an API token against the store; a read that fails is not caught here, as in much real code.
const tokens = cf.kvs('9b1e4c2d-3f5a-4e6b-8c7d-0a1b2c3d4e5f');

async function handler(event) {
  const request = event.request;
  const token = request.headers['x-api-token'] ? request.headers['x-api-token'].value : '';
  if (!(await tokens.exists('token:' + token))) {
    return { statusCode: 401, statusDescription: 'Unauthorized' };
  }
  request.headers['x-api-client'] = { value: await tokens.get('token:' + token) };
  return request;
}
