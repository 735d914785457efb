/**
 * Reporters turn a run's results into text: `human` for a terminal, `junit` for CI systems (the JUnit XML most CI
 * tools read), `json` for scripts.
 */
import { relative } from 'node:path';
import type { Difference } from './match.js';
import type { CaseResult } from './run.js';

export const REPORTERS = ['human', 'junit', 'json'] as const;
export type ReporterName = (typeof REPORTERS)[number];

/** Everything a reporter needs about a run. */
export interface RunReport {
  results: CaseResult[];
  /** Cases whose ComputeUtilization above this were flagged. */
  maxUtilization: number;
  durationMs: number;
  /** Paths in the report are shown relative to this folder. */
  cwd: string;
}

/** Counts of a run; `ok` is false when any case failed or could not run. */
export function summarize(results: readonly CaseResult[]): { total: number; passed: number; failed: number; errors: number; flagged: number; ok: boolean } {
  const passed = results.filter((r) => r.status === 'passed').length;
  const failed = results.filter((r) => r.status === 'failed').length;
  const errors = results.filter((r) => r.status === 'error').length;
  const flagged = results.filter((r) => r.overUtilization).length;
  return { total: results.length, passed, failed, errors, flagged, ok: failed + errors === 0 };
}

export function formatReport(reporter: ReporterName, report: RunReport): string {
  switch (reporter) {
    case 'human':
      return humanReport(report);
    case 'junit':
      return junitReport(report);
    case 'json':
      return `${JSON.stringify(jsonReport(report), null, 2)}\n`;
  }
}

function humanReport(report: RunReport): string {
  const lines: string[] = [];
  let currentFile = '';
  for (const r of report.results) {
    const file = relative(report.cwd, r.file) || r.file;
    if (file !== currentFile) {
      lines.push(file);
      currentFile = file;
    }
    const mark = r.status === 'passed' ? '✓' : '✗';
    const util =
      r.computeUtilization === undefined
        ? ''
        : `  (ComputeUtilization ${r.computeUtilization}${r.overUtilization ? ` > ${report.maxUtilization}, too slow for CloudFront` : ''})`;
    lines.push(`  ${mark} ${r.name}${util}`);
    if (r.status === 'error') lines.push(indent(`error: ${r.message ?? ''}`, 6));
    if (r.status === 'failed') {
      if (r.message) lines.push(indent(r.message, 6));
      for (const d of r.differences) lines.push(...diffLines(d));
      if (r.logs.length > 0) lines.push('      logs:', ...r.logs.map((l) => `        ${l}`));
    }
  }
  const s = summarize(report.results);
  lines.push('');
  const parts = [`${s.passed} passed`, `${s.failed} failed`];
  if (s.errors > 0) parts.push(`${s.errors} could not run`);
  if (s.flagged > 0) parts.push(`${s.flagged} above ComputeUtilization ${report.maxUtilization}`);
  lines.push(`${s.total} case${s.total === 1 ? '' : 's'}: ${parts.join(', ')} (${Math.round(report.durationMs)} ms)`);
  return `${lines.join('\n')}\n`;
}

/** `- expected` / `+ actual` under the path, values as indented JSON so nested objects stay readable. */
function diffLines(d: Difference): string[] {
  return [`      ${d.path}`, ...valueLines('- expected', d.expected), ...valueLines('+ actual  ', d.actual)];
}

function valueLines(label: string, value: unknown): string[] {
  const text = value === undefined ? '(absent)' : JSON.stringify(value, null, 2);
  const [first, ...rest] = text.split('\n');
  return [`        ${label} ${first}`, ...rest.map((line) => `        ${' '.repeat(label.length + 1)}${line}`)];
}

function indent(text: string, spaces: number): string {
  return text
    .split('\n')
    .map((line) => ' '.repeat(spaces) + line)
    .join('\n');
}

function junitReport(report: RunReport): string {
  const byFile = new Map<string, CaseResult[]>();
  for (const r of report.results) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
  const s = summarize(report.results);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites name="openfront test" tests="${s.total}" failures="${s.failed}" errors="${s.errors}" time="${seconds(report.durationMs)}">`);
  for (const [file, results] of byFile) {
    const name = relative(report.cwd, file) || file;
    const sum = summarize(results);
    const time = results.reduce((t, r) => t + r.durationMs, 0);
    out.push(`  <testsuite name="${xml(name)}" tests="${sum.total}" failures="${sum.failed}" errors="${sum.errors}" time="${seconds(time)}">`);
    for (const r of results) {
      out.push(`    <testcase classname="${xml(name)}" name="${xml(r.name)}" time="${seconds(r.durationMs)}">`);
      if (r.computeUtilization !== undefined) {
        out.push('      <properties>', `        <property name="ComputeUtilization" value="${r.computeUtilization}"/>`, '      </properties>');
      }
      if (r.status === 'failed') {
        const body = r.differences.map((d) => diffLines(d).join('\n')).join('\n');
        out.push(`      <failure message="${xml(r.message ?? 'failed')}" type="mismatch">${xml(body)}</failure>`);
      } else if (r.status === 'error') {
        out.push(`      <error message="${xml(firstLine(r.message ?? 'error'))}" type="error">${xml(r.message ?? '')}</error>`);
      }
      if (r.overUtilization) out.push(`      <system-err>${xml(`ComputeUtilization ${r.computeUtilization} is above ${report.maxUtilization}`)}</system-err>`);
      if (r.logs.length > 0) out.push(`      <system-out>${xml(r.logs.join('\n'))}</system-out>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

function jsonReport(report: RunReport): object {
  const s = summarize(report.results);
  return {
    ...s,
    maxUtilization: report.maxUtilization,
    durationMs: Math.round(report.durationMs),
    cases: report.results.map((r) => ({
      file: relative(report.cwd, r.file) || r.file,
      name: r.name,
      status: r.status,
      computeUtilization: r.computeUtilization,
      overUtilization: r.overUtilization,
      ...(r.message ? { message: r.message } : {}),
      differences: r.differences,
      logs: r.logs,
      ...(r.output ? { output: r.output } : {}),
    })),
  };
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

/** Escapes for XML text and attribute values; characters XML 1.0 cannot carry at all are dropped. */
function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
