async function handler(event) {
  await Promise.resolve(1);
  throw new RangeError('custom failure');
}
