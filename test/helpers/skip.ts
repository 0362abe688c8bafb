// Skipping a test or suite with its reason printed, so a skip never hides silently.
export function skipBecause(context: Mocha.Context, reason: string): never {
  const title = context.currentTest?.fullTitle() ?? context.test?.parent?.fullTitle() ?? context.test?.fullTitle() ?? '';
  process.stderr.write(`  skipped ${title}: ${reason}\n`);
  context.skip();
}
