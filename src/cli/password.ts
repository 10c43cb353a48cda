// Reads a password from a terminal prompt (echo off) or, when stdin is not a terminal, from
// stdin's first line. Never from argv: argv is visible to every user of the machine.
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { CliError } from "./errors.js";

async function prompt(question: string): Promise<string> {
  let muted = false;
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output: out, terminal: true });
  process.stderr.write(question);
  muted = true;
  const answer = await new Promise<string>((resolve) => rl.question("", resolve));
  muted = false;
  rl.close();
  process.stderr.write("\n");
  return answer;
}

async function stdinLine(): Promise<string | undefined> {
  let data = "";
  for await (const chunk of process.stdin) {
    data += chunk;
    const nl = data.indexOf("\n");
    if (nl >= 0) return data.slice(0, nl).replace(/\r$/, "");
  }
  return data === "" ? undefined : data;
}

export async function readPassword(confirm: boolean): Promise<string> {
  if (!process.stdin.isTTY) {
    const line = await stdinLine();
    if (line === undefined || line === "") throw new CliError("noPassword", "give it on standard input");
    return line;
  }
  const first = await prompt("Password: ");
  if (first === "") throw new CliError("noPassword");
  if (confirm && (await prompt("Password (again): ")) !== first) throw new CliError("passwordMismatch");
  return first;
}
