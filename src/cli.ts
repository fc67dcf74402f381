// The `kvbus` command (package.json "bin"): `kvbus inspect --redis <url>`.
import { runCli } from './inspector/run-cli.js';

process.exitCode = await runCli(process.argv.slice(2), process.stdout, process.stderr);
