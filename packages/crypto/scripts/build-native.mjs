/**
 * Builds the optional native AES-256-GCM fast path (native/attune_gcm.c → native/build/Release/attune_gcm.node) with
 * node-gyp against the headers of the Node that runs this script. No download: node-gyp is pointed at the local
 * headers (`<prefix>/include/node`), and a machine without them, or without a C compiler, simply goes without the
 * fast path; @attune/crypto then runs on node:crypto.
 *
 * ATTUNE_CRYPTO_NATIVE: `auto` (default) builds when it can and warns when it cannot; `required` fails the build
 * instead (CI sets it, so the fast path is always the one tested there); `off` builds nothing and removes a stale
 * binary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
// binding.gyp lives in native/, not at the package root: there, pnpm would run an implicit `node-gyp rebuild` at
// install, and an install without a C compiler would fail instead of falling back to node:crypto.
const nativeDir = join(packageDir, 'native');
const binary = join(nativeDir, 'build', 'Release', 'attune_gcm.node');
const mode = process.env.ATTUNE_CRYPTO_NATIVE ?? 'auto';

function fail(reason) {
  rmSync(binary, { force: true });
  if (mode === 'required') {
    process.stderr.write(`@attune/crypto: the native fast path could not be built: ${reason}\n`);
    process.stderr.write(
      'ATTUNE_CRYPTO_NATIVE=required makes that an error; unset it to fall back to node:crypto.\n',
    );
    process.exit(1);
  }
  process.stderr.write(
    `@attune/crypto: native fast path not built (${reason}); AES-GCM will run on node:crypto, ` +
      'correct but slower per call.\n',
  );
  process.exit(0);
}

if (!['auto', 'required', 'off'].includes(mode)) {
  process.stderr.write(
    `@attune/crypto: ATTUNE_CRYPTO_NATIVE must be auto, required or off, not '${mode}'.\n`,
  );
  process.exit(1);
}
if (mode === 'off') {
  rmSync(binary, { force: true });
  process.stdout.write('@attune/crypto: ATTUNE_CRYPTO_NATIVE=off, native fast path not built.\n');
  process.exit(0);
}

const nodeDir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));
if (!existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) {
  fail(
    `no Node headers under ${join(nodeDir, 'include', 'node')} (set npm_config_nodedir to a Node source or headers tree)`,
  );
}
let nodeGyp;
try {
  nodeGyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
} catch {
  fail('node-gyp is not installed');
}
const build = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodeDir}`, '--loglevel=warn'], {
  cwd: nativeDir,
  encoding: 'utf8',
});
if (build.status !== 0) {
  process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}`);
  fail(build.error ? build.error.message : `node-gyp exited with ${build.status}`);
}

// A binary that builds may still not load (this Node does not export OpenSSL's symbols, say): load it once here,
// in a fresh process, and encrypt and decrypt a value, so a broken binary is never left for the package to find.
const check = spawnSync(
  process.execPath,
  [
    '-e',
    `const m = require(${JSON.stringify(binary)});
     const k = m.createKey(Buffer.alloc(32, 7));
     const input = Buffer.alloc(12 + 3), sealed = Buffer.alloc(3 + 16), opened = Buffer.alloc(3);
     input.write('abc', 12);
     m.seal(k, input, 0, 12, 3, 0, 0, sealed);
     const text = input.toString('base64', 0, 12) + ':' + sealed.toString('base64');
     if (m.openText(k, text, 0, null, opened) !== 3 || opened.toString() !== 'abc') process.exit(3);
     sealed[0] ^= 1;
     const tampered = input.toString('base64', 0, 12) + ':' + sealed.toString('base64');
     if (m.openText(k, tampered, 0, null, opened) !== -1) process.exit(4);`,
  ],
  { encoding: 'utf8' },
);
if (check.status !== 0)
  fail(
    `the built binary does not work in this Node: ${(check.stderr || '').split('\n')[0] || `exit ${check.status}`}`,
  );
process.stdout.write(`@attune/crypto: native fast path built (${binary}).\n`);
