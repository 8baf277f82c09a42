import { RingswarmError } from '@ringswarm/shared';

/** The code of the RingswarmError `fn` throws, or undefined when it returns; any other throw is rethrown. */
export function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof RingswarmError) return err.code;
    throw err;
  }
  return undefined;
}
