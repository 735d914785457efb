function handler(event) {
  var x = event.request.headers['missing-header'].value;
  return event.request;
}
