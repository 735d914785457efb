import cf from 'cloudfront';
function handler(event) {
  cf.updateRequestOrigin({ domainName: 'eu.origin.example.com', originPath: '/eu', customHeaders: { 'x-region': 'eu' }, timeouts: { readTimeout: 30, connectionTimeout: 5 } });
  return event.request;
}
