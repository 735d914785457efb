function handler(event) {
  var req = event.request;
  req.headers['x-seen'] = { value: String(req.headers.accept.multiValue.length) };
  req.headers.accept.multiValue.push({ value: 'image/webp' });
  req.cookies.theme = { value: 'dark' };
  return req;
}
