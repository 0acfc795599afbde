export async function predictCommand(): Promise<number> {
  throw new Error('iris predict is not implemented yet');
}
