function handler(event) {
  var f = (function () {}).constructor('return 1');
  return event.request;
}
