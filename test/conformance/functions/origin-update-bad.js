import cf from 'cloudfront';
function handler(event) {
  cf.updateRequestOrigin({ domainName: '10.0.0.1' });
  return event.request;
}
