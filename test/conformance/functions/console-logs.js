function handler(event) {
  console.log('uri=' + event.request.uri);
  console.log('method=' + event.request.method);
  return event.request;
}
