/** `vpipe <command>`: the stack (up, node) and its clients (inspect, status, demo). */
import { demo } from './demo.js';
import { encode } from './encode.js';
import { inspect, status } from './inspect.js';
import { ladder } from './ladder.js';
import { nodeCmd, up } from './serve.js';
import { serveCmd } from './web-serve.js';
import { stream } from './stream.js';
import { studio, watermark } from './studio.js';
import { configureProcess } from '../app/node.js';
import { ConfigError, processConfig, type VpipeConfig } from '../schemas/config.js';

const USAGE = `usage: vpipe <command> [options]

  up                      run the whole stack (embedded nats-server unless NATS_URL is set) until SIGINT/SIGTERM
  node --role api,workflow,encoder|all
                          run one node that joins an existing NATS (NATS_URL)
  demo [file] [--fixed] [--no-serve]
                          the main job: start the stack, run the streaming orchestrator on a clip (a generated sample by default):
                          per-title ladder → HLS + DASH, then serve a page with the players, the ladder chart and the quality report
  inspect <file|uri>      submit an inspection to a running stack and print the report (--json for the raw event)
  encode <file> [opts]    submit an encode (--codec h264 --crf 23 --chunk 4 …; see vpipe encode --help) with a progress bar
  ladder <file> [opts]    build a bitrate ladder (--codec h264 --rungs 6 …): print it and write an SVG chart
  status <service> <id>   show a job's state and result
  stream <file> [opts]    submit a streaming job (per-title ladder → packaged HLS + DASH) with progress per rung (--out DIR --fixed …)
  studio recipes          list the studio's predefined recipes (H.264 review proxies, ProRes Proxy/LT, DNxHR LB)
  studio <file> --recipe NAME [--timecode source|HH:MM:SS:FF] [--counter] [--text LINE] [--recipient NAME] …
                          submit a studio job (fast proxy with burn-ins and watermarks, high priority) and wait
  watermark detect <leak> --original <file>
                          find the recipient of a leaked copy from its forensic watermark
  serve [dir] [--port N]  a local web page with the packages under dir (default the media root): hls.js/dash.js player, ladder chart, quality report

environment: NATS_URL, VPIPE_MEDIA_ROOT, VPIPE_DATA_DIR, VPIPE_METRICS_PORT, LOG_LEVEL, VPIPE_* (see README, Configuration)
`;

const commands: Record<string, (argv: string[], config: VpipeConfig) => Promise<void>> = { up, node: nodeCmd, demo, inspect, encode, ladder, stream, status, serve: serveCmd, studio, watermark };

const [cmd, ...rest] = process.argv.slice(2);
const run = cmd ? commands[cmd] : undefined;
if (!run) {
  process.stderr.write(USAGE);
  process.exit(cmd === 'help' || cmd === '--help' || cmd === '-h' ? 0 : 2);
}
// The configuration is read once, here, before anything starts: a bad value stops the process
// with exit code 2 and a message naming every bad variable (no stack trace, no nats-server started).
let config: VpipeConfig;
try {
  config = processConfig();
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(`vpipe ${cmd}: ${e.message}\n`);
  process.exit(2);
}
configureProcess(config);
run(rest, config).catch((e: unknown) => {
  process.stderr.write(`vpipe ${cmd}: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof ConfigError ? 2 : 1);
});
