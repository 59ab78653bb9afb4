/**
 * Text from elsewhere (an API's answer, an error message, a name in a table) made safe to print on a terminal:
 * control characters — escape sequences that could clear the screen, retitle the window or write the clipboard,
 * carriage returns that could hide a line — shown as `\xNN` instead of acting. Values a user asked for (`key get
 * --decrypt`) are printed as they are.
 */
/** C0 controls but tab and newline, DEL and C1 controls: built from code points, not written into a pattern. */
const CONTROL = new RegExp(
  `[${[
    [0x00, 0x08],
    [0x0b, 0x1f],
    [0x7f, 0x9f],
  ]
    .map(
      ([from, to]) =>
        `\\u${(from as number).toString(16).padStart(4, '0')}-\\u${(to as number).toString(16).padStart(4, '0')}`,
    )
    .join('')}]`,
  'g',
);

export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
