/**
 * The error a call throws, for tests that check its class and message; fails the test when the call does not throw.
 *
 * @example
 * expect(errorOf(() => parseJoinType('sideways')).message).toContain('UNSUPPORTED_JOIN_TYPE');
 */
export function errorOf(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}
