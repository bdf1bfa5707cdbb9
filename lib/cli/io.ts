/**
 * Where a command writes: standard output and standard error, one line per call. Its own module so the
 * commands and the program that dispatches to them both depend on it, not on each other.
 */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}
