// Every error the `warden` command reports: one message and one exit code each.
export const cliErrors = {
  usage: { code: 64, text: "usage error" },
  config: { code: 78, text: "configuration error" },
  badJid: { code: 65, text: "invalid JID" },
  wrongDomain: { code: 65, text: "JID not on this server" },
  exists: { code: 73, text: "account already exists" },
  notFound: { code: 67, text: "no such account" },
  badPassword: { code: 65, text: "password not acceptable" },
  noPassword: { code: 66, text: "no password given" },
  passwordMismatch: { code: 65, text: "passwords do not match" },
  notRunning: { code: 69, text: "the server is not running" },
  admin: { code: 70, text: "the server refused the request" },
  startFailed: { code: 71, text: "the server could not start" },
  alreadyRunning: { code: 71, text: "the server could not start" },
  certificate: { code: 78, text: "certificate problem" },
  clientNotFound: { code: 67, text: "Client not found" },
  checkProblems: { code: 1, text: "problems found" },
  inviteNotFound: { code: 67, text: "no such invitation" },
} as const;

export type CliErrorName = keyof typeof cliErrors;

export class CliError extends Error {
  constructor(
    public readonly name_: CliErrorName,
    public readonly detail?: string,
  ) {
    super(detail ? `${cliErrors[name_].text}: ${detail}` : cliErrors[name_].text);
  }
  get exitCode(): number {
    return cliErrors[this.name_].code;
  }
}
