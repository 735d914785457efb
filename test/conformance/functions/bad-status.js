function handler(event) {
  return { statusCode: 1000, statusDescription: 'Nope' };
}
