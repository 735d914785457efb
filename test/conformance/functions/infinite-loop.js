function handler(event) {
  while (true) {}
}
