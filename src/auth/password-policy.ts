// One rule for every new password, wherever it is set: the `warden` command, the admin shell
// and the account page. Length is the rule (NIST SP 800-63B §5.1.1.2: a minimum length, a
// generous maximum, no composition rules), counted in Unicode characters, not UTF-16 units, so
// that "at least 12 characters" means what a person counts. SASLprep (RFC 4013), applied when
// the credentials are derived, refuses what cannot be a password at all.

/** The default of `password_min_length`. */
export const DEFAULT_MIN_PASSWORD = 12;
/** Longest password accepted; longer input is refused, never cut. */
export const MAX_PASSWORD = 1024;

/** Why a new password is refused, as the end of a sentence ("The password …"); undefined when it is acceptable. */
export function passwordProblem(password: string, minLength: number): string | undefined {
  const length = [...password].length;
  if (length < minLength) return `must be at least ${minLength} characters long`;
  if (length > MAX_PASSWORD) return `must be at most ${MAX_PASSWORD} characters long`;
  return undefined;
}
