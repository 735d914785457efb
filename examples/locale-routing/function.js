// Serve /<locale>/... by the visitor's language: Accept-Language first (by q-value), then the country CloudFront
// detected (cloudfront-viewer-country), then English. Paths that already carry a locale are left alone.
var SUPPORTED = ['en', 'de', 'fr'];
var DEFAULT_LOCALE = 'en';
var COUNTRY_LOCALE = { DE: 'de', AT: 'de', CH: 'de', LI: 'de', FR: 'fr', BE: 'fr', LU: 'fr', MC: 'fr' };

function handler(event) {
  var request = event.request;
  var first = request.uri.split('/')[1];
  if (SUPPORTED.indexOf(first) !== -1) return withIndex(request);

  var locale = fromAcceptLanguage(request.headers['accept-language']);
  if (!locale) {
    var country = request.headers['cloudfront-viewer-country'];
    locale = country ? COUNTRY_LOCALE[country.value.toUpperCase()] : undefined;
  }
  request.uri = '/' + (locale || DEFAULT_LOCALE) + request.uri;
  return withIndex(request);
}

// "fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5" → the supported language with the highest q (ties: first listed).
function fromAcceptLanguage(header) {
  if (!header) return undefined;
  var best;
  var bestQ = 0;
  header.value.split(',').forEach(function (part) {
    var pieces = part.trim().split(';');
    var lang = pieces[0].trim().toLowerCase().split('-')[0];
    var q = 1;
    for (var i = 1; i < pieces.length; i++) {
      var param = pieces[i].trim();
      if (param.indexOf('q=') === 0) q = parseFloat(param.slice(2));
    }
    if (SUPPORTED.indexOf(lang) !== -1 && q > bestQ) {
      best = lang;
      bestQ = q;
    }
  });
  return best;
}

// The static origin serves files only: a folder path gets its index.html.
function withIndex(request) {
  if (request.uri.endsWith('/')) request.uri += 'index.html';
  return request;
}
