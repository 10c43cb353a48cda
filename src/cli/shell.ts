// `warden shell …`: admin commands run inside the running server over the admin socket.
import type { Config } from "../core/config.js";
import { CliError } from "./errors.js";

export async function shell(_cfg: Config, args: string[], _json: boolean): Promise<number> {
  throw new CliError("usage", `unknown shell command '${args.join(" ")}'`);
}
