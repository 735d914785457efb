// Multi-tenant routing: the Host header names a tenant, the store maps the tenant to its origin. One distribution
// serves every tenant; onboarding a tenant is two KVS writes (domain → tenant, tenant → origin).
//   "domain:<host>"   → tenant id
//   "tenant:<id>"     → JSON {"domainName": "...", "port": 443, "protocol": "https", "originPath": "/..."}
import cf from 'cloudfront';

const kvs = cf.kvs();

async function handler(event) {
  const request = event.request;
  const host = request.headers.host ? request.headers.host.value.toLowerCase().split(':')[0] : '';
  let tenant;
  let origin;
  try {
    tenant = await kvs.get('domain:' + host);
    origin = await kvs.get('tenant:' + tenant, { format: 'json' });
  } catch (e) {
    return { statusCode: 404, statusDescription: 'Not Found', headers: { 'content-type': { value: 'text/plain' } }, body: 'Unknown site: ' + host + '\n' };
  }
  const params = {
    domainName: origin.domainName,
    customOriginConfig: { port: origin.port || 443, protocol: origin.protocol || 'https', sslProtocols: ['TLSv1.2'] },
    // The origin sees its own name, not the viewer's (many origins route on Host).
    hostHeader: origin.domainName,
  };
  if (origin.originPath) params.originPath = origin.originPath;
  cf.updateRequestOrigin(params);
  request.headers['x-tenant-id'] = { value: tenant };
  if (request.uri.endsWith('/')) request.uri += 'index.html';
  return request;
}
