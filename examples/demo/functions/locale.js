// Locale routing: "/" goes to /de/ or /en/ by the viewer's country header, then by Accept-Language.
function handler(event) {
  var request = event.request;
  if (request.uri !== '/') {
    if (request.uri.endsWith('/')) request.uri += 'index.html';
    return request;
  }
  var country = request.headers['cloudfront-viewer-country'];
  var language = request.headers['accept-language'];
  var locale = 'en';
  if (country && (country.value === 'DE' || country.value === 'AT' || country.value === 'CH')) {
    locale = 'de';
  } else if (language && language.value.toLowerCase().indexOf('de') === 0) {
    locale = 'de';
  }
  return {
    statusCode: 302,
    statusDescription: 'Found',
    headers: { location: { value: '/' + locale + '/' }, vary: { value: 'Accept-Language' } },
  };
}
