function handler(event) {
  var request = event.request;
  var headers = request.headers;
  var host = request.headers.host.value;
  var country = 'DE';
  var newurl = 'https://' + host + '/de/index.html';
  if (headers['cloudfront-viewer-country']) {
    var countryCode = headers['cloudfront-viewer-country'].value;
    if (countryCode === country) {
      return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: newurl } } };
    }
  }
  return request;
}
