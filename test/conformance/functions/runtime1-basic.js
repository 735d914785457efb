function handler(event) {
  var request = event.request;
  var crypto = require('crypto');
  request.headers['x-md5'] = { value: crypto.createHash('md5').update(request.uri).digest('hex') };
  request.headers['x-arrow'] = { value: [1, 2, 3].map((n) => n * 2).join(',') };
  return request;
}
