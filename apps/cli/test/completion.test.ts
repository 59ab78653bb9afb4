import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, type CommandSpec } from '../src/spec.js';
import { BIN } from './support/run-cli.js';

const hasZsh = spawnSync('zsh', ['-c', 'true']).status === 0;
// CI installs zsh (scripts/install-sandbox.sh --test-tools) and requires these tests to run.
const zshRequired = process.env.ATTUNE_TEST_ZSH === 'required';
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'attune-completion-'));
  for (const shell of ['bash', 'zsh'])
    writeFileSync(join(dir, `attune.${shell}`), execFileSync(process.execPath, [BIN, 'completion', shell]));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * What bash offers for the last word of each query (filtered by it, as bash does): every query in one bash process,
 * each answer on one line, completions separated by spaces.
 */
function bashAll(queries: readonly string[][]): string[][] {
  const script = [
    `source ${dir}/attune.bash`,
    ...queries.map(
      (words) =>
        `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _attune; echo "\${COMPREPLY[*]}"`,
    ),
  ].join('\n');
  const lines = execFileSync('bash', ['-c', script], { cwd: dir }).toString().split('\n');
  return queries.map((_, i) => (lines[i] ?? '').split(' ').filter(Boolean));
}

const bash = (...words: string[]): string[] => bashAll([words])[0] as string[];

/** What zsh offers for the last word of each query (before zsh filters by the prefix typed), in one zsh process. */
function zshAll(queries: readonly string[][]): string[][] {
  const script = [
    'compdef() { :; }',
    `_describe() { print -r -- "\${(j: :)\${(@)\${(@P)4}%%:*}}"; }`,
    "_files() { print -r -- '<files>'; }",
    `source ${dir}/attune.zsh`,
    ...queries.map(
      (words) =>
        `words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=\${#words}; PREFIX=\${words[CURRENT]}; print -r -- "$(_attune)"`,
    ),
  ].join('\n');
  const lines = execFileSync('zsh', ['-c', script], { cwd: dir }).toString().split('\n');
  return queries.map((_, i) => (lines[i] ?? '').split(' ').filter(Boolean));
}

const zsh = (...words: string[]): string[] => zshAll([words])[0] as string[];

/** Every command path of the definition, with the long options it takes. */
function leaves(specs: readonly CommandSpec[], path: string[] = []): { path: string[]; options: string[] }[] {
  return specs.flatMap((spec) =>
    spec.subcommands
      ? leaves(spec.subcommands, [...path, spec.name])
      : [
          {
            path: [...path, spec.name],
            options: (spec.options ?? []).map((o) => /--[a-z-]+/.exec(o.flags)?.[0] as string),
          },
        ],
  );
}

describe('attune completion', () => {
  it('bash: commands, subcommands and options from the one definition', () => {
    expect(bash('attune', '')).toEqual(COMMANDS.map((c) => c.name));
    expect(bash('attune', 'key', 's')).toEqual(['set']);
    expect(bash('attune', 'key', 'set', '--p')).toEqual(['--pack', '--plain']);
    expect(bash('attune', 'keyring', 'ro')).toEqual(['rotate', 'rotate-data-key']);
    // Global options before the command, and options with their values, are skipped on the way.
    expect(bash('attune', '--json', 'key', '--config', 'x.yaml', 'ver')).toEqual(['versions']);
    expect(bash('attune', 'key', 'set', '--pack', 'key', '')).toEqual([]);
    // An option's value is not completed as a command; --config completes files.
    expect(bash('attune', 'key', 'set', '--pack', '')).toEqual([]);
    writeFileSync(join(dir, 'my-config.yaml'), '');
    expect(bash('attune', '--config', 'my-c')).toEqual(['my-config.yaml']);
    expect(bash('attune', 'pack', 'register', 'my-c')).toEqual(['my-config.yaml']);
    expect(bash('attune', 'completion', '')).toEqual([]);
    // Every option of every command completes (all asked of one bash).
    const all = leaves(COMMANDS);
    const offered = bashAll(all.map((leaf) => ['attune', ...leaf.path, '--']));
    all.forEach((leaf, i) => {
      for (const option of [...leaf.options, '--json', '--config', '--help'])
        expect(offered[i], leaf.path.join(' ')).toContain(option);
    });
  });

  it.runIf(hasZsh || zshRequired)('zsh: the same tree, with descriptions', () => {
    expect(spawnSync('zsh', ['-n', join(dir, 'attune.zsh')]).status).toBe(0);
    expect(zsh('attune', '')).toEqual(COMMANDS.map((c) => c.name));
    expect(zsh('attune', 'key', 's')).toContain('rollback');
    expect(zsh('attune', 'key', 'set', '--p')).toEqual([
      '--system',
      '--pack',
      '--action',
      '--ref',
      '--plain',
      '--value-json',
      '--cas',
      '--max-versions',
      '--expires-in',
      '--expires-at',
      '--json',
      '--config',
      '--help',
    ]);
    expect(zsh('attune', '--json', 'audit', '--config', 'f', '')).toEqual([
      'list',
      'verify',
      'hash',
      'prune',
    ]);
    expect(zsh('attune', 'pack', 'register', '')).toEqual(['<files>']);
    expect(zsh('attune', 'key', 'get', '--version', '')).toEqual([]);
    const all = leaves(COMMANDS);
    const offered = zshAll(all.map((leaf) => ['attune', ...leaf.path, '-']));
    all.forEach((leaf, i) => {
      for (const option of [...leaf.options, '--json', '--config', '--help'])
        expect(offered[i], leaf.path.join(' ')).toContain(option);
    });
    const descriptions = execFileSync('zsh', [
      '-c',
      `source ${dir}/attune.zsh 2>/dev/null; _attune_subcommands key`,
    ]).toString();
    expect(descriptions).toContain('set:create the key, or write its next version');
  });

  it('refuses a shell it does not know', () => {
    const fish = spawnSync(process.execPath, [BIN, 'completion', 'fish']);
    expect(fish.status).toBe(2);
    expect(fish.stderr.toString()).toContain("no completion for 'fish' (bash or zsh)");
  });
});
