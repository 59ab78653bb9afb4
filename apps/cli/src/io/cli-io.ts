/** Where the CLI reads and writes; tests pass their own. */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: { write(text: string): unknown; isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Writes a line (adds the newline when missing). */
export function line(stream: { write(text: string): unknown }, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}
