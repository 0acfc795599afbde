export async function benchCommand(): Promise<number> {
  throw new Error('iris bench is not implemented yet');
}
