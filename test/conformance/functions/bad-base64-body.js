function handler(event) {
  return { statusCode: 200, statusDescription: 'OK', body: { encoding: 'base64', data: '***not base64***' } };
}
