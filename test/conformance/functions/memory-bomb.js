function handler(event) {
  var keep = [];
  while (true) keep.push(new Array(1000000).fill(keep.length));
}
