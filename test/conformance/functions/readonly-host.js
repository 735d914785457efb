function handler(event) {
  event.request.headers.host = { value: 'evil.example.com' };
  return event.request;
}
