/** Long-running commands (start, dev) stop cleanly on Ctrl-C or SIGTERM: close servers, then exit 0. */
export function closeOnSignals(label: string, close: () => Promise<void>): void {
  const stop = async () => {
    process.stdout.write(`\n${label}: stopping\n`);
    await close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
