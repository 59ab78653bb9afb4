/** Largest secret value, in bytes of its UTF-8 (or compact JSON) text: the documented 64 KiB. */
export const MAX_VALUE_BYTES = 64 * 1024;
