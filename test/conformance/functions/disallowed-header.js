function handler(event) {
  event.request.headers['x-forwarded-proto'] = { value: 'https' };
  return event.request;
}
