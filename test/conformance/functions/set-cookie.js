function handler(event) {
  var response = event.response;
  response.cookies.session = { value: 'abc', attributes: 'Secure; HttpOnly; Path=/' };
  response.statusCode = 201;
  return response;
}
