function handler(event) {
  var raw = event.request.rawQueryString();
  event.request.headers['x-raw'] = { value: raw === undefined ? '<none>' : raw };
  return event.request;
}
