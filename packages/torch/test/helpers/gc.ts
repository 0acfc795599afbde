// A full garbage collection on demand, so leak tests count only tensors that are still referenced
// (the addon frees a forgotten tensor when GC collects its handle, at any time).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export function collectGarbage(): void {
  gc();
  gc();
}
