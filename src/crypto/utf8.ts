/**
 * TextEncoder replaces lone surrogates with U+FFFD, so signing or sealing such
 * a string would silently commit to different text than the caller holds.
 * String.prototype.isWellFormed (ES2024, in every Node this project supports) is the native
 * check; the project's lib setting is ES2023, hence the cast.
 */
export function hasLoneSurrogate(text: string): boolean {
  return !(text as string & { isWellFormed(): boolean }).isWellFormed();
}
