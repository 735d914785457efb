function handler(event) {
  var qs = [];
  for (var key in event.request.querystring) {
    if (event.request.querystring[key].multiValue) {
      event.request.querystring[key].multiValue.forEach((mv) => { qs.push(key + '=' + mv.value); });
    } else {
      qs.push(key + '=' + event.request.querystring[key].value);
    }
  }
  event.request.querystring = qs.sort().join('&');
  return event.request;
}
