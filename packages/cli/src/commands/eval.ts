export async function evalCommand(): Promise<number> {
  throw new Error('iris eval is not implemented yet');
}
