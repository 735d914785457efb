function handler(event) {
  var a = Date.now();
  for (var i = 0; i < 10000; i++) {}
  var b = new Date().getTime();
  console.log('same=' + (a === b));
  return { statusCode: 200, statusDescription: 'OK', headers: { 'x-now': { value: String(a) } }, body: 'now' };
}
