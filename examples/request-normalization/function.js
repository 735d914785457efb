// Normalise requests so equivalent URLs share one cache entry and one origin object:
//   - the path is lowercased and repeated slashes collapse (/Docs//Guide → /docs/guide)
//   - a folder path, with or without its trailing slash, serves the folder's index.html
//   - query parameters are sorted by name, then value (?b=2&a=1 → ?a=1&b=2), empty names dropped
// Runtime 1.0: var only, no KVS.
function handler(event) {
  var request = event.request;
  var uri = request.uri.toLowerCase().replace(/\/{2,}/g, '/');
  if (uri.endsWith('/')) {
    uri += 'index.html';
  } else if (uri.split('/').pop().indexOf('.') === -1) {
    uri += '/index.html';
  }
  request.uri = uri;
  request.querystring = sortedQuery(request.querystring);
  return request;
}

function sortedQuery(querystring) {
  var pairs = [];
  Object.keys(querystring).forEach(function (name) {
    if (name === '') return;
    var entry = querystring[name];
    var values = entry.multiValue ? entry.multiValue.map(function (v) { return v.value; }) : [entry.value];
    values.forEach(function (value) { pairs.push([name, value]); });
  });
  pairs.sort(function (a, b) {
    if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
    return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
  });
  // A plain string is the simplest way to fix the order CloudFront forwards the parameters in.
  return pairs.map(function (p) { return p[0] + '=' + p[1]; }).join('&');
}
